package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.sluice.exchange.ClientLeg;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.http.ErrorKind;
import io.sluice.observe.GatewayMetrics;
import io.sluice.translate.TranslatedError;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The endings of a relayed exchange without an upstream: each ends it once (the call lets go of
 * its upstream leg once, the client hears of the end once), records the outcome, and uncounts a
 * committed stream once.
 */
class RelayEndTest {
  private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
  private final Exchange exchange = new Exchange("0123456789abcdef0123456789abcdef", "10.0.0.7", "POST", "/", 0);
  private final GatewayMetrics metrics = new GatewayMetrics("test");
  private final FakeClient client = new FakeClient(channel.pipeline().firstContext());
  private int letGo;
  private final RelayEnd end = new RelayEnd(() -> letGo++, client, exchange, metrics);

  RelayEndTest() {
    exchange.routeName("chat");
  }

  @AfterEach
  void stop() {
    channel.finishAndReleaseAll();
  }

  @Test
  void failAnswersWithTheErrorAndEndsOnce() {
    end.fail(ErrorKind.UPSTREAM_TIMEOUT, "the upstream did not answer");
    end.complete(); // the usage settled after the end: nothing more
    end.finish();

    assertThat(end.ended()).isTrue();
    assertThat(letGo).isEqualTo(1);
    assertThat(exchange.outcome()).isEqualTo(ErrorKind.UPSTREAM_TIMEOUT.code());
    assertThat(client.calls).containsExactly("error " + ErrorKind.UPSTREAM_TIMEOUT.code()
        + ": the upstream did not answer");
  }

  @Test
  void completeEndsCleanlyWithTheAnswersKeepAlive() {
    end.answered(true);
    end.complete();
    end.complete(); // the usage settled after another end: nothing more

    assertThat(letGo).isEqualTo(1);
    assertThat(exchange.at(Moment.OUT_RESP_COMPLETE)).isPositive();
    assertThat(client.calls).containsExactly("complete keepAlive=true");
  }

  @Test
  void clientThatLeftIsLoggedAs499() {
    end.clientClosed();

    assertThat(letGo).isEqualTo(1);
    assertThat(exchange.status()).isEqualTo(499);
    assertThat(exchange.outcome()).isEqualTo("client_closed");
    assertThat(client.calls).isEmpty();
  }

  @Test
  void refusalIsAnsweredAsTheTranslatorWordedIt() {
    byte[] body = "{\"error\":{\"message\":\"no\"}}".getBytes(StandardCharsets.UTF_8);
    end.refuse(new TranslatedError(400, body));

    assertThat(letGo).isEqualTo(1);
    FullHttpResponse response = client.response;
    assertThat(response.status().code()).isEqualTo(400);
    assertThat(response.headers().get(HttpHeaderNames.CONTENT_TYPE)).isEqualTo("application/json");
    assertThat(response.headers().getInt(HttpHeaderNames.CONTENT_LENGTH)).isEqualTo(body.length);
    assertThat(response.content().toString(StandardCharsets.UTF_8)).isEqualTo(new String(body, StandardCharsets.UTF_8));
    response.release();
  }

  @Test
  void committedStreamCountsAsActiveUntilItsEnd() {
    HttpHeaders head = new DefaultHttpHeaders();
    assertThat(end.streamCommitted(null, 200, head, null, null)).isTrue();
    assertThat(exchange.streaming()).isTrue();
    assertThat(metrics.activeStreams("chat", "sse").get()).isEqualTo(1);
    assertThat(end.outlivesClient()).as("no session").isFalse();

    end.finish();
    end.finish();
    assertThat(metrics.activeStreams("chat", "sse").get()).isZero();
  }

  private static final class FakeClient implements ClientLeg {
    private final ChannelHandlerContext ctx;
    final List<String> calls = new ArrayList<>();
    FullHttpResponse response;

    FakeClient(ChannelHandlerContext ctx) {
      this.ctx = ctx;
    }

    @Override
    public ChannelHandlerContext context() {
      return ctx;
    }

    @Override
    public void prepareResponseHeaders(int status, HttpHeaders headers) {
      calls.add("prepare " + status);
    }

    @Override
    public void sendError(ErrorKind kind, String message) {
      calls.add("error " + kind.code() + ": " + message);
    }

    @Override
    public void sendResponse(FullHttpResponse response) {
      this.response = response;
    }

    @Override
    public void responseComplete(boolean keepAlive) {
      calls.add("complete keepAlive=" + keepAlive);
    }

    @Override
    public void responseAborted() {
      calls.add("aborted");
    }

    @Override
    public ClientLeg detach(FullHttpResponse accepted) {
      throw new AssertionError("no ending detaches the client leg: only a long poll does, and these tests make none");
    }
  }
}
