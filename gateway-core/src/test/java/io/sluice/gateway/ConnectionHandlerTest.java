package io.sluice.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.sluice.net.ClientIdentity;
import io.sluice.plugin.Decision;
import io.sluice.server.DrainEvent;
import io.sluice.server.ClientTimeoutHandler;
import io.sluice.server.RequestCycle;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The connection handler on an {@link EmbeddedChannel}, without codec: HTTP objects in, the
 * gateway's own answers out. Its state machine — pipelining, body skipping and cap, drain,
 * timeouts, what it tells the connection's timeouts ({@link RequestCycle}) — with routes whose plugins answer as told.
 */
class ConnectionHandlerTest {
  private final List<String> calls = new ArrayList<>();
  private final List<String> cycle = new ArrayList<>();
  private final List<CompletableFuture<Decision>> pending = new ArrayList<>();
  private GatewayFixture gateway;
  private EmbeddedChannel channel;

  private void start(String limits) throws Exception {
    gateway = new GatewayFixture(limits + """
        upstreams:
          - name: models
            endpoints: [ { url: "http://127.0.0.1:9" } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat, methods: [POST] }
            upstream: models
            plugins: { gate: {} }
        """, GatewayFixture.plugin("gate", false, calls, r -> {
          CompletableFuture<Decision> answer = GatewayFixture.later();
          pending.add(answer);
          return answer;
        }));
    channel = new EmbeddedChannel();
    channel.attr(ClientIdentity.PROXIED_SOURCE).set("10.0.0.7");
    channel.attr(RequestCycle.KEY).set(new RequestCycle() { // where the connection's timeouts listen
      @Override
      public void read(Object msg) {
        cycle.add("read " + (msg instanceof HttpRequest ? "head" : msg instanceof LastHttpContent ? "last" : "content"));
      }

      @Override
      public void headersReceived() {
        cycle.add("headers received");
      }

      @Override
      public void responseEnded() {
        cycle.add("response ended");
      }
    });
    channel.pipeline().addLast(gateway.handler());
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.finishAndReleaseAll();
    }
    if (gateway != null) {
      gateway.close();
    }
  }

  private static HttpRequest request(HttpMethod method, String uri, long contentLength) {
    HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, uri);
    if (contentLength >= 0) {
      HttpUtil.setContentLength(request, contentLength);
    }
    return request;
  }

  private static DefaultLastHttpContent last(String body) {
    return new DefaultLastHttpContent(Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
  }

  private FullHttpResponse response() {
    FullHttpResponse response = channel.readOutbound();
    assertThat(response).as("an answer was written").isNotNull();
    return response;
  }

  private String body(FullHttpResponse response) {
    try {
      return response.content().toString(StandardCharsets.UTF_8);
    } finally {
      response.release();
    }
  }

  @Test
  void holdsAPipelinedRequestUntilTheCurrentOneIsAnswered() throws Exception {
    start("");
    channel.writeInbound(request(HttpMethod.POST, "/v1/chat", 2), last("{}"));
    channel.writeInbound(request(HttpMethod.GET, "/nowhere", 0), LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat((Object) channel.readOutbound()).as("the plugin has not decided yet").isNull();
    assertThat(channel.config().isAutoRead()).as("reading paused while a request is held").isFalse();

    pending.get(0).complete(new Decision.Reject(403, "invalid_request_error", "denied", "no", Map.of()));
    channel.runPendingTasks(); // the plugin's answer comes back on the channel's event loop
    FullHttpResponse first = response();
    assertThat(first.status().code()).isEqualTo(403);
    assertThat(body(first)).contains("\"code\":\"denied\"");
    FullHttpResponse second = response();
    assertThat(second.status().code()).isEqualTo(404);
    assertThat(HttpUtil.isKeepAlive(second)).isTrue();
    body(second);
    assertThat(channel.config().isAutoRead()).isTrue();
    assertThat(channel.isOpen()).isTrue();
  }

  @Test
  void skipsTheEndOfABodylessRequestItAnsweredEarly() throws Exception {
    start("");
    channel.writeInbound(request(HttpMethod.GET, "/nowhere", -1));
    FullHttpResponse refused = response();
    assertThat(refused.status().code()).isEqualTo(404);
    assertThat(HttpUtil.isKeepAlive(refused)).isTrue();
    body(refused);
    channel.writeInbound(LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat((Object) channel.readOutbound()).as("the skipped end is not a request").isNull();
    channel.writeInbound(request(HttpMethod.GET, "/again", 0), LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(body(response())).contains("no route for /again");
  }

  @Test
  void closesAfterAnsweringARequestWhoseBodyItDidNotRead() throws Exception {
    start("");
    channel.writeInbound(request(HttpMethod.POST, "/nowhere", 10));
    FullHttpResponse refused = response();
    assertThat(refused.status().code()).isEqualTo(404);
    assertThat(HttpUtil.isKeepAlive(refused)).as("an unread body stands in the way").isFalse();
    body(refused);
    channel.runPendingTasks();
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void refusesABodyOverTheCapAndCloses() throws Exception {
    start("limits: { max-request-body: 8B }\n");
    HttpRequest chunked = request(HttpMethod.POST, "/v1/chat", -1);
    HttpUtil.setTransferEncodingChunked(chunked, true);
    channel.writeInbound(chunked);
    channel.writeInbound(new DefaultHttpContent(Unpooled.copiedBuffer("0123456789", StandardCharsets.UTF_8)));
    FullHttpResponse refused = response();
    assertThat(refused.status().code()).isEqualTo(413);
    assertThat(HttpUtil.isKeepAlive(refused)).isFalse();
    body(refused);
    channel.runPendingTasks();
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void refusesADeclaredBodyOverTheCapBeforeReadingIt() throws Exception {
    start("limits: { max-request-body: 8B }\n");
    channel.writeInbound(request(HttpMethod.POST, "/v1/chat", 9));
    FullHttpResponse refused = response();
    assertThat(refused.status().code()).isEqualTo(413);
    assertThat(body(refused)).contains("larger than 8 bytes");
    assertThat(calls).as("no plugin saw it").isEmpty();
  }

  @Test
  void tellsTheTimeoutsWhatArrivesWhenHeadersArriveAndWhenTheResponseEnded() throws Exception {
    start("");
    channel.writeInbound(request(HttpMethod.GET, "/nowhere", 0), LastHttpContent.EMPTY_LAST_CONTENT);
    body(response());
    assertThat(cycle).containsExactly("read head", "headers received", "read last", "response ended");
  }

  @Test
  void tellsTheTimeoutsOfAPipelinedRequestWhenItArrivesAndItsHeadersWhenItsTurnComes() throws Exception {
    start("");
    channel.writeInbound(request(HttpMethod.POST, "/v1/chat", 2), last("{}"),
        request(HttpMethod.GET, "/nowhere", 0), LastHttpContent.EMPTY_LAST_CONTENT);
    assertThat(cycle).containsExactly("read head", "headers received", "read last", "read head", "read last");
    pending.get(0).complete(new Decision.Reject(429, "rate_limit_error", "slow_down", "later", Map.of()));
    channel.runPendingTasks();
    body(response());
    assertThat(cycle).as("the held request's headers are told when it is run")
        .endsWith("read last", "response ended", "headers received", "response ended");
  }

  @Test
  void aDrainClosesAnIdleConnectionAtOnce() throws Exception {
    start("");
    channel.pipeline().fireUserEventTriggered(DrainEvent.BEGIN);
    channel.runPendingTasks();
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void aDrainLetsTheRunningExchangeFinishThenCloses() throws Exception {
    start("");
    channel.writeInbound(request(HttpMethod.POST, "/v1/chat", 2), last("{}"));
    channel.pipeline().fireUserEventTriggered(DrainEvent.BEGIN);
    assertThat(channel.isOpen()).as("busy: not cut").isTrue();
    pending.get(0).complete(new Decision.Reject(429, "rate_limit_error", "slow_down", "later", Map.of()));
    channel.runPendingTasks();
    FullHttpResponse answer = response();
    assertThat(answer.status().code()).isEqualTo(429);
    assertThat(answer.headers().get(HttpHeaderNames.CONNECTION)).isEqualToIgnoringCase("close");
    body(answer);
    channel.runPendingTasks();
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void theDrainTimeoutClosesAConnectionWhoseExchangeIsNotRelayedYet() throws Exception {
    start("");
    channel.writeInbound(request(HttpMethod.POST, "/v1/chat", 2), last("{}"));
    channel.pipeline().fireUserEventTriggered(DrainEvent.NOW);
    channel.runPendingTasks();
    assertThat(channel.isOpen()).isFalse();
    assertThat(calls).contains("done:gate:499");
  }

  @Test
  void aSlowBodyIsAnswered408AndTheConnectionClosed() throws Exception {
    start("");
    channel.writeInbound(request(HttpMethod.POST, "/v1/chat", 10),
        new DefaultHttpContent(Unpooled.copiedBuffer("01", StandardCharsets.UTF_8)));
    channel.pipeline().fireUserEventTriggered(new ClientTimeoutHandler.BodyExpired(Duration.ofMillis(250)));
    FullHttpResponse answer = response();
    assertThat(answer.status().code()).isEqualTo(408);
    assertThat(body(answer)).contains("within 250ms");
    channel.runPendingTasks();
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void aClientThatLeavesWhileAPluginWaitsIsCounted499AndThePluginIgnored() throws Exception {
    start("");
    channel.writeInbound(request(HttpMethod.POST, "/v1/chat", 2), last("{}"));
    channel.close();
    assertThat(calls).containsExactly("gate", "done:gate:499");
    pending.get(0).complete(Decision.PROCEED); // too late: nothing happens
    assertThat((Object) channel.readOutbound()).isNull();
  }

  @Test
  void aRequestTargetThatIsNotAPathIsRefusedAndTheConnectionClosed() throws Exception {
    start("");
    channel.writeInbound(request(HttpMethod.GET, "*", 0));
    FullHttpResponse answer = response();
    assertThat(answer.status().code()).isEqualTo(400);
    assertThat(HttpUtil.isKeepAlive(answer)).isFalse();
    assertThat(answer.headers().get("X-Request-Id")).hasSize(32);
    body(answer);
  }
}
