package io.sluice.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpObject;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The connection's one check: the pool's idle limit while it waits in the pool, the first-byte
 * deadline while an exchange awaits its answer, no timer while it serves an answered exchange.
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
}
