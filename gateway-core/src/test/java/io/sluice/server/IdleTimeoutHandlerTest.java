package io.sluice.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class IdleTimeoutHandlerTest {
  private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(10);

  private final AtomicLong now = new AtomicLong(1_000);
  private final List<Object> events = new ArrayList<>();
  private final IdleTimeoutHandler handler = new IdleTimeoutHandler(TIMEOUT, now::get);
  private final EmbeddedChannel ch = newChannel();

  private EmbeddedChannel newChannel() {
    EmbeddedChannel c = new EmbeddedChannel();
    c.freezeTime(); // the loop's timers move only with advance()
    c.pipeline().addLast(handler, new ChannelInboundHandlerAdapter() {
      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        events.add(evt);
      }

      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg);
      }
    });
    return c;
  }

  private void advance(long seconds) {
    long nanos = TimeUnit.SECONDS.toNanos(seconds);
    now.addAndGet(nanos);
    ch.advanceTimeBy(nanos, TimeUnit.NANOSECONDS);
    ch.runScheduledPendingTasks();
  }

  @Test
  void firesOnceTheConnectionWasSilentForTheWholeTimeout() {
    advance(9);
    assertEquals(List.of(), events);
    advance(1);
    assertEquals(List.of(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT), events);
    advance(10);
    assertEquals(List.of(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT, IdleStateEvent.ALL_IDLE_STATE_EVENT), events);
  }

  @Test
  void bytesReadPushTheDeadlineOn() {
    advance(6);
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
    advance(6);
    assertEquals(List.of(), events, "6 s after the read: not idle yet");
    advance(4);
    assertEquals(List.of(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT), events);
  }

  @Test
  void flushedWritesPushTheDeadlineOn() {
    advance(6);
    ch.writeOutbound(Unpooled.wrappedBuffer(new byte[] {1}));
    ReferenceCountUtil.release(ch.readOutbound());
    advance(6);
    assertEquals(List.of(), events, "6 s after the write: not idle yet");
    advance(4);
    assertEquals(List.of(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT), events);
  }

  @Test
  void activityAfterAnEventStartsANewIdlePeriod() {
    advance(10);
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
    advance(10);
    assertEquals(List.of(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT, IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT),
        events);
  }

  @Test
  void aRemovedHandlerLeavesNoTimerBehind() {
    ch.pipeline().remove(handler); // as a WebSocket upgrade does: the session's own timer takes over
    assertEquals(-1, ch.runScheduledPendingTasks(), "no timer pending");
    advance(30);
    assertEquals(List.of(), events);
  }

  @Test
  void aClosedConnectionFiresNothing() {
    ch.close();
    assertEquals(-1, ch.runScheduledPendingTasks(), "no timer pending");
    advance(30);
    assertEquals(List.of(), events);
  }
}
