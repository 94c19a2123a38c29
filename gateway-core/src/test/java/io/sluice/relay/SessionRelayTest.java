package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.sluice.config.SseConfig;
import io.sluice.exchange.ClientLeg;
import io.sluice.exchange.Exchange;
import io.sluice.http.ErrorKind;
import io.sluice.observe.GatewayMetrics;
import io.sluice.session.StreamSession;
import io.sluice.session.StreamSessions;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** A resumed stream's relay, on an embedded channel whose writability the test drives. */
class SessionRelayTest {

  /**
   * The last chunk's flush can make the client writable again, and Netty tells the pipeline at
   * once, from inside the write: the relay must not pump (and end) a second time from there —
   * that wrote a second last chunk onto a kept-alive connection (the soak's lost requests) and
   * counted the stream down twice.
   */
  @Test
  void endsOnceWhenTheLastFlushMakesTheClientWritableAgain() {
    GatewayMetrics metrics = new GatewayMetrics();
    StreamSessions store = new StreamSessions(1 << 20, metrics, null);
    StreamSession session = store.create("ip:127.0.0.1", "chat", 16, 1 << 20, Duration.ofMinutes(1));
    session.append(1, "data: one\n\n".getBytes(StandardCharsets.UTF_8));
    session.end();

    AtomicInteger lastChunks = new AtomicInteger();
    AtomicInteger completions = new AtomicInteger();
    SessionRelay[] relay = new SessionRelay[1];
    EmbeddedChannel channel = new EmbeddedChannel(
        new ChannelOutboundHandlerAdapter() {
          @Override
          public void write(ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise promise) {
            if (msg instanceof LastHttpContent) {
              lastChunks.incrementAndGet();
            }
            ReferenceCountUtil.release(msg);
            promise.trySuccess();
          }

          @Override
          public void flush(ChannelHandlerContext ctx) {
            // What a socket that drained below its low-water mark does, synchronously.
            ctx.pipeline().fireChannelWritabilityChanged();
          }
        },
        new ChannelInboundHandlerAdapter() {
          @Override
          public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (relay[0] != null) {
              relay[0].clientWritabilityChanged(true);
            }
          }
        });
    ClientLeg leg = new ClientLeg() {
      @Override
      public ChannelHandlerContext context() {
        return channel.pipeline().lastContext();
      }

      @Override
      public void prepareResponseHeaders(int status, HttpHeaders headers) {}

      @Override
      public void sendError(ErrorKind kind, String message) {}

      @Override
      public void sendResponse(FullHttpResponse response) {
        response.release();
      }

      @Override
      public void responseComplete(boolean keepAlive) {
        completions.incrementAndGet();
      }

      @Override
      public void responseAborted() {}

      @Override
      public ClientLeg detach(FullHttpResponse accepted) {
        return this;
      }
    };
    Exchange exchange = new Exchange("r1", "127.0.0.1", "POST", "/v1/chat", System.nanoTime());
    exchange.routeName("chat");
    relay[0] = new SessionRelay(leg, session, 0, exchange, SseConfig.DEFAULTS, metrics, HttpVersion.HTTP_1_1, true,
        false);
    relay[0].start();
    channel.runPendingTasks();

    assertThat(lastChunks).hasValue(1);
    assertThat(completions).hasValue(1);
    assertThat(metrics.activeStreams("chat", "sse").get()).isZero();
    channel.finishAndReleaseAll();
  }

  /**
   * A resumed client that falls behind the session's buffer gets {@code event: error} with
   * {@code resume_gap}: a stream the gateway ended with an error, counted in
   * {@code sluice_stream_errors_total} (the generation itself runs on, uncounted).
   */
  @Test
  void aReaderThatFallsBehindTheBufferEndsWithAResumeGapErrorAndIsCounted() {
    GatewayMetrics metrics = new GatewayMetrics();
    StreamSessions store = new StreamSessions(1 << 20, metrics, null);
    StreamSession session = store.create("ip:127.0.0.1", "chat", 2, 1 << 20, Duration.ofMinutes(1));
    session.append(1, "data: one\n\n".getBytes(StandardCharsets.UTF_8));

    StringBuilder wire = new StringBuilder();
    SessionRelay[] relay = new SessionRelay[1];
    EmbeddedChannel channel = new EmbeddedChannel(
        new ChannelOutboundHandlerAdapter() {
          @Override
          public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof HttpContent content) {
              wire.append(content.content().toString(StandardCharsets.UTF_8));
            }
            ReferenceCountUtil.release(msg);
            promise.trySuccess();
          }
        },
        new ChannelInboundHandlerAdapter() {
          @Override
          public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            relay[0].clientWritabilityChanged(ctx.channel().isWritable());
          }
        });
    AtomicInteger completions = new AtomicInteger();
    Exchange exchange = new Exchange("r1", "127.0.0.1", "POST", "/v1/chat", System.nanoTime());
    exchange.routeName("chat");
    relay[0] = new SessionRelay(leg(channel, completions), session, 0, exchange, SseConfig.DEFAULTS, metrics,
        HttpVersion.HTTP_1_1, true, false);
    relay[0].start();
    channel.runPendingTasks();
    assertThat(wire.toString()).isEqualTo("data: one\n\n");

    // The client stops reading; the generation goes on past the two events the buffer keeps.
    channel.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
    for (int seq = 2; seq <= 5; seq++) {
      session.append(seq, ("data: " + seq + "\n\n").getBytes(StandardCharsets.UTF_8));
    }
    channel.runPendingTasks();
    assertThat(wire.toString()).as("nothing while the client cannot take it").isEqualTo("data: one\n\n");

    channel.unsafe().outboundBuffer().setUserDefinedWritability(1, true);
    channel.runPendingTasks();
    assertThat(wire.toString()).startsWith("data: one\n\nevent: error\n").contains("\"code\":\"resume_gap\"");
    assertThat(completions).hasValue(1);
    assertThat(metrics.registry().get("sluice.stream.errors").tags("route", "chat", "code", "resume_gap")
        .counter().count()).isEqualTo(1.0);
    channel.finishAndReleaseAll();
  }

  private static ClientLeg leg(EmbeddedChannel channel, AtomicInteger completions) {
    return new ClientLeg() {
      @Override
      public ChannelHandlerContext context() {
        return channel.pipeline().lastContext();
      }

      @Override
      public void prepareResponseHeaders(int status, HttpHeaders headers) {}

      @Override
      public void sendError(ErrorKind kind, String message) {}

      @Override
      public void sendResponse(FullHttpResponse response) {
        response.release();
      }

      @Override
      public void responseComplete(boolean keepAlive) {
        completions.incrementAndGet();
      }

      @Override
      public void responseAborted() {}

      @Override
      public ClientLeg detach(FullHttpResponse accepted) {
        return this;
      }
    };
  }
}
