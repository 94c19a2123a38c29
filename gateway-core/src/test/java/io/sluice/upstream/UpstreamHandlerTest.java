package io.sluice.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpObject;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The connection's one check: the pool's idle limit while it waits in the pool, the first-byte
 * deadline while an exchange awaits its answer, no timer while it serves an answered exchange;
 * and before all that the connect timeout.
 */
class UpstreamHandlerTest {
  private static final long IDLE = TimeUnit.SECONDS.toNanos(60);

  private final UpstreamHandler handler = new UpstreamHandler(IDLE, null);
  private final EmbeddedChannel ch = newChannel();

  private EmbeddedChannel newChannel() {
    EmbeddedChannel c = new EmbeddedChannel();
    c.freezeTime();
    c.pipeline().addLast(handler);
    return c;
  }

  private void advance(long seconds) {
    ch.advanceTimeBy(seconds, TimeUnit.SECONDS);
    ch.runScheduledPendingTasks();
  }

  private static final UpstreamHandler.Listener LISTENER = new UpstreamHandler.Listener() {
    @Override
    public void onUpstreamMessage(HttpObject msg) {}

    @Override
    public void onUpstreamReadComplete() {}

    @Override
    public void onUpstreamWritabilityChanged(boolean writable) {}

    @Override
    public void onUpstreamClosed(Throwable cause) {}
  };

  /** Counts the read requests that pass it (an outbound handler's {@code read}). */
  private static final class ReadCounter extends ChannelOutboundHandlerAdapter {
    int reads;

    @Override
    public void read(ChannelHandlerContext ctx) {
      reads++;
      ctx.read();
    }
  }

  @Test
  void aReadRequestGoesPastTheCodecFromTheBodyReader() {
    ReadCounter beforeReader = new ReadCounter(); // where TLS would be: still sees every read
    ReadCounter codec = new ReadCounter(); // stands for the codec, which only passes reads on
    ChunkedBodyReader reader = new ChunkedBodyReader();
    EmbeddedChannel c = new EmbeddedChannel();
    c.pipeline().addLast(beforeReader, reader, codec, new UpstreamHandler(IDLE, reader));
    c.read(); // as Netty's auto-read does after each read: from the pipeline's tail
    assertEquals(1, beforeReader.reads, "the read reaches the transport");
    assertEquals(0, codec.reads, "and skips the codec");
    c.finishAndReleaseAll();
  }

  @Test
  void aConnectionInUseKeepsNoTimer() {
    handler.attach(LISTENER);
    assertEquals(-1, ch.runScheduledPendingTasks(), "no timer while the connection serves an exchange");
    advance(600);
    assertTrue(ch.isOpen());
  }

  @Test
  void aPooledConnectionIsClosedAfterTheIdleLimit() {
    handler.attach(LISTENER);
    handler.detach(); // back in the pool
    advance(59);
    assertTrue(ch.isOpen());
    advance(1);
    assertFalse(ch.isOpen());
  }

  @Test
  void aConnectionTakenFromThePoolIsNotClosedWhileInUse() {
    handler.detach();
    advance(30);
    handler.attach(LISTENER);
    advance(600); // the pending check fires, finds the connection in use and is not armed again
    assertTrue(ch.isOpen());
    assertEquals(-1, ch.runScheduledPendingTasks(), "no timer while the connection serves an exchange");
  }

  @Test
  void reuseWithinTheLimitSchedulesNoNewTimer() {
    handler.detach();
    advance(10);
    handler.attach(LISTENER);
    handler.detach(); // request after request: the pending check stays the only timer
    advance(10);
    handler.attach(LISTENER);
    handler.detach();
    advance(49);
    assertTrue(ch.isOpen(), "49 s since it was last put back: the first check re-armed for the rest");
    advance(11);
    assertFalse(ch.isOpen());
  }

  @Test
  void eachStayInThePoolGetsTheWholeLimit() {
    handler.detach();
    advance(50);
    handler.attach(LISTENER);
    handler.detach();
    advance(50);
    assertTrue(ch.isOpen(), "50 s into its second stay");
    advance(10);
    assertFalse(ch.isOpen());
  }

  // ---- the first byte -------------------------------------------------------------------------

  private final AtomicInteger timeouts = new AtomicInteger();

  private void sendRequest(long firstByteSeconds) {
    handler.deadline(TimeUnit.SECONDS.toNanos(firstByteSeconds), timeouts::incrementAndGet);
  }

  @Test
  void aReusedConnectionsPendingCheckWatchesTheFirstByteWithoutANewTimer() {
    handler.detach();
    advance(10);
    long pending = ch.runScheduledPendingTasks();
    handler.attach(LISTENER);
    sendRequest(120);
    assertEquals(pending, ch.runScheduledPendingTasks(), "the pool's check, due first, is the only timer");
    advance(50); // the pool check fires: in use, answer due in 70 s
    assertEquals(TimeUnit.SECONDS.toNanos(70), ch.runScheduledPendingTasks());
    advance(69);
    assertEquals(0, timeouts.get());
    advance(1);
    assertEquals(1, timeouts.get());
    advance(600);
    assertEquals(1, timeouts.get(), "once");
  }

  @Test
  void anAnswerThatStartsInTimeStopsTheWatch() {
    handler.attach(LISTENER);
    sendRequest(5);
    advance(4);
    handler.clearDeadline();
    advance(1);
    assertEquals(0, timeouts.get());
    assertEquals(-1, ch.runScheduledPendingTasks(), "no timer while the answer streams");
  }

  @Test
  void aFirstByteDeadlineEarlierThanThePendingCheckMovesIt() {
    handler.detach(); // pool check due in 60 s
    handler.attach(LISTENER);
    sendRequest(5);
    assertEquals(TimeUnit.SECONDS.toNanos(5), ch.runScheduledPendingTasks());
    advance(5);
    assertEquals(1, timeouts.get());
  }

  @Test
  void aConnectionPutBackOrClosedNeverTimesOutItsLastExchange() {
    handler.attach(LISTENER);
    sendRequest(5);
    handler.detach(); // the exchange gave the connection back (or dropped it)
    advance(30);
    assertEquals(0, timeouts.get());
    handler.attach(LISTENER);
    sendRequest(5);
    ch.close();
    assertEquals(-1, ch.runScheduledPendingTasks(), "no timer left behind");
    advance(30);
    assertEquals(0, timeouts.get());
  }

  // ---- the connect ----------------------------------------------------------------------------

  private static final long CONNECT = TimeUnit.SECONDS.toNanos(2);
  private static final InetSocketAddress SOMEWHERE = InetSocketAddress.createUnresolved("upstream.test", 80);

  /** A channel whose connects go through a fresh handler with a 2 s connect timeout. */
  private static EmbeddedChannel connectingChannel(UpstreamHandler h, boolean answered) {
    EmbeddedChannel c = new EmbeddedChannel();
    c.freezeTime();
    if (!answered) {
      c.pipeline().addLast(new ChannelOutboundHandlerAdapter() {
        @Override
        public void connect(ChannelHandlerContext ctx, SocketAddress remote, SocketAddress local, ChannelPromise promise) {
          // the SYN goes unanswered: the promise is left pending
        }
      });
    }
    c.pipeline().addLast(h);
    return c;
  }

  private static void advance(EmbeddedChannel c, long millis) {
    c.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
    c.runScheduledPendingTasks();
  }

  @Test
  void aConnectThatDoesNotCompleteInTimeFailsAndClosesTheChannel() {
    UpstreamHandler h = new UpstreamHandler(IDLE, CONNECT, null);
    EmbeddedChannel c = connectingChannel(h, false);
    ChannelFuture connect = c.connect(SOMEWHERE);
    advance(c, 1999);
    assertFalse(connect.isDone());
    advance(c, 1);
    assertInstanceOf(ConnectTimeoutException.class, connect.cause());
    assertEquals("connection timed out after 2000 ms", connect.cause().getMessage());
    assertFalse(c.isOpen());
    assertEquals(-1, c.runScheduledPendingTasks(), "no timer left behind");
  }

  @Test
  void theFirstByteDeadlineRidesOnTheConnectCheck() {
    UpstreamHandler h = new UpstreamHandler(IDLE, CONNECT, null);
    EmbeddedChannel c = connectingChannel(h, true);
    ChannelFuture connect = c.connect(SOMEWHERE);
    assertTrue(connect.isSuccess());
    h.attach(LISTENER);
    AtomicInteger fired = new AtomicInteger();
    h.deadline(TimeUnit.SECONDS.toNanos(10), fired::incrementAndGet);
    assertEquals(CONNECT, c.runScheduledPendingTasks(), "one timer: the connect's, due first");
    advance(c, 2000); // the connect check fires: connected, in use, answer due in 8 s
    assertTrue(c.isOpen());
    assertEquals(TimeUnit.SECONDS.toNanos(8), c.runScheduledPendingTasks());
    advance(c, 8000);
    assertEquals(1, fired.get());
    c.finishAndReleaseAll();
  }

  @Test
  void aConnectedChannelStillInItsTlsHandshakeIsLeftToTheHandshakesTimeout() {
    UpstreamHandler h = new UpstreamHandler(IDLE, CONNECT, null);
    EmbeddedChannel c = connectingChannel(h, true);
    c.connect(SOMEWHERE);
    advance(c, 60_000); // not handed over yet (no attach): neither failed nor idled out
    assertTrue(c.isOpen());
    assertEquals(-1, c.runScheduledPendingTasks(), "no timer until the connection is handed over");
    h.attach(LISTENER);
    h.detach(); // back in the pool: the idle limit from now
    advance(c, 60_000);
    assertFalse(c.isOpen());
  }
}
