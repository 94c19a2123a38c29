package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The pace of an answer on an {@link EmbeddedChannel}: a head committed during an upstream read
 * goes out with that read's end, the silence watch of a stream committed during a read is armed
 * only once the read is processed and only if the exchange is still on, and whatever ends the
 * exchange sends a head still held first.
 */
class StreamPaceTest {
  private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
  private final ChannelHandlerContext ctx = channel.pipeline().firstContext();
  private final FakeStream stream = new FakeStream();
  private final StreamPace pace = new StreamPace(stream);

  @AfterEach
  void stop() {
    pace.end(ctx); // cancels an armed watch
    channel.finishAndReleaseAll();
  }

  private static HttpResponse head() {
    return new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
  }

  @Test
  void headCommittedDuringAReadGoesOutWithTheReadsEnd() {
    HttpResponse head = head();
    pace.readStarted(System.nanoTime());
    pace.headOut(ctx, head);
    pace.messageHandled();

    assertThat((Object) channel.readOutbound()).as("not flushed before the read is processed").isNull();
    pace.readProcessed(ctx);
    assertThat((Object) channel.readOutbound()).isSameAs(head);
  }

  @Test
  void headCommittedOutsideAReadGoesOutAtOnce() {
    HttpResponse head = head();
    pace.headOut(ctx, head);
    assertThat((Object) channel.readOutbound()).isSameAs(head);
  }

  @Test
  void theEndOfTheExchangeSendsAHeadStillHeld() {
    HttpResponse head = head();
    pace.readStarted(System.nanoTime());
    pace.headOut(ctx, head);
    pace.end(ctx);
    assertThat((Object) channel.readOutbound()).isSameAs(head);
  }

  @Test
  void watchOfAStreamCommittedDuringAReadIsArmedWhenTheReadIsProcessed() {
    pace.readStarted(System.nanoTime());
    pace.watch(ctx);
    pace.messageHandled();
    assertThat(stream.watches).isZero();

    pace.readProcessed(ctx);
    assertThat(stream.watches).isEqualTo(1);
    pace.readProcessed(ctx);
    assertThat(stream.watches).as("armed once").isEqualTo(1);
  }

  @Test
  void answerThatEndedWithinItsReadNeedsNoWatch() {
    pace.readStarted(System.nanoTime());
    pace.watch(ctx);
    pace.messageHandled();
    stream.ended = true; // a burst: the whole answer came in this read

    pace.readProcessed(ctx);
    assertThat(stream.watches).isZero();
  }

  @Test
  void watchOfAStreamCommittedOutsideAReadIsArmedAtOnce() {
    pace.watch(ctx);
    assertThat(stream.watches).isEqualTo(1);
  }

  @Test
  void runPausesTheUpstream() {
    pace.run();
    assertThat(stream.pauses).isEqualTo(1);
  }

  private static final class FakeStream implements StreamPace.Stream {
    boolean ended;
    int watches;
    int pauses;

    @Override
    public boolean ended() {
      return ended;
    }

    @Override
    public void pauseUpstream() {
      pauses++;
    }

    @Override
    public long committedAt() {
      return System.nanoTime(); // the watch is due in an hour: never within a test
    }

    @Override
    public SilenceWatch silenceWatch(EventLoop loop) {
      watches++;
      return new SilenceWatch(loop) {
        @Override
        long idleNanos() {
          return TimeUnit.HOURS.toNanos(1);
        }

        @Override
        long heartbeatNanos() {
          return 0;
        }

        @Override
        boolean ended() {
          return ended;
        }

        @Override
        boolean readingPaused() {
          return false;
        }

        @Override
        void silentTooLong() {}

        @Override
        boolean ping() {
          return false;
        }
      };
    }
  }
}
