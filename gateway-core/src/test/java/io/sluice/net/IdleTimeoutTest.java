package io.sluice.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link IdleTimeout} on a channel whose clock the test moves. */
class IdleTimeoutTest {
  private final List<Object> events = new ArrayList<>();
  private final EmbeddedChannel ch = new EmbeddedChannel(new IdleTimeout(4, TimeUnit.SECONDS),
      new ChannelInboundHandlerAdapter() {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
          events.add(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          // consumed
        }
      });

  private void advanceSeconds(int seconds) {
    for (int i = 0; i < seconds; i++) {
      ch.advanceTimeBy(1, TimeUnit.SECONDS);
      ch.runScheduledPendingTasks();
    }
  }

  @Test
  void noReadsOrWrites_idleAfterBetweenOneAndOneAndAQuarterIdleTimes() {
    advanceSeconds(3);
    assertThat(events).isEmpty();
    advanceSeconds(2);
    assertThat(events).containsExactly(IdleStateEvent.ALL_IDLE_STATE_EVENT);
    advanceSeconds(4);
    assertThat(events).as("again after another idle time").hasSize(2);
  }

  @Test
  void readsAndWrites_keepTheConnectionBusy() {
    for (int i = 0; i < 10; i++) {
      advanceSeconds(2);
      if (i % 2 == 0) {
        ch.writeInbound("a read");
      } else {
        ch.writeOneOutbound("a write", ch.voidPromise());
      }
    }
    assertThat(events).isEmpty();
    advanceSeconds(6);
    assertThat(events).containsExactly(IdleStateEvent.ALL_IDLE_STATE_EVENT);
  }

  @Test
  void removed_noMoreChecks() {
    ch.pipeline().remove(IdleTimeout.class);
    advanceSeconds(10);
    assertThat(events).isEmpty();
  }
}
