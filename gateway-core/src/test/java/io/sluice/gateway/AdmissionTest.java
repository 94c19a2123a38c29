package io.sluice.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.sluice.exchange.Exchange;
import io.sluice.plugin.Decision;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Admission on its own: routing, the plugins on the headers and on the body, 100-continue. */
class AdmissionTest {
  private final List<String> calls = new ArrayList<>();
  private final List<String> outcomes = new ArrayList<>();
  private final List<IncomingRequest> requests = new ArrayList<>();
  private GatewayFixture gateway;

  private final Admission.Outcome outcome = new Admission.Outcome() {
    @Override
    public void refused(FullHttpResponse response) {
      outcomes.add("refused " + response.status().code() + " " + response.content().toString(StandardCharsets.UTF_8)
          + (response.headers().contains(HttpHeaderNames.ALLOW) ? " allow=" + response.headers().get(HttpHeaderNames.ALLOW) : ""));
      response.release();
    }

    @Override
    public void sendContinue() {
      outcomes.add("100-continue");
    }

    @Override
    public void admitted() {
      outcomes.add("admitted");
    }
  };

  private void start(Decision onHeaders, CompletableFuture<Decision> onBody) throws Exception {
    gateway = new GatewayFixture("""
        upstreams:
          - name: models
            endpoints: [ { url: "http://127.0.0.1:9" } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat, methods: [POST] }
            upstream: models
            plugins: { auth: {}, budget: {} }
          - name: by-model
            match: { path-prefix: /v1/models-route, models: [ "big-*" ] }
            upstream: models
        """,
        GatewayFixture.plugin("auth", false, calls, r -> CompletableFuture.completedFuture(onHeaders)),
        GatewayFixture.plugin("budget", true, calls, r -> onBody));
  }

  @AfterEach
  void stop() {
    requests.forEach(IncomingRequest::release);
    if (gateway != null) {
      gateway.close();
    }
  }

  private Admission admission(HttpRequest head, String path) {
    IncomingRequest request = new IncomingRequest(head, path, "", ByteBufAllocator.DEFAULT);
    requests.add(request);
    Exchange exchange = new Exchange("0123456789abcdef0123456789abcdef", "10.0.0.7", head.method().name(), path, 0);
    return new Admission(gateway.context, exchange, request, ImmediateEventExecutor.INSTANCE, ByteBufAllocator.DEFAULT,
        outcome);
  }

  private static HttpRequest post(String path) {
    return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path);
  }

  private void bodyArrives(Admission admission, String body) {
    IncomingRequest request = requests.get(requests.size() - 1);
    request.append(Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    request.markComplete();
    admission.bodyComplete();
  }

  @Test
  void runsThePluginsThatNeedNoBodyOnTheHeadersAndTheRestOnceTheBodyIsHere() throws Exception {
    start(Decision.PROCEED, CompletableFuture.completedFuture(Decision.PROCEED));
    Admission admission = admission(post("/v1/chat"), "/v1/chat");
    admission.start();
    assertThat(calls).containsExactly("auth");
    assertThat(outcomes).isEmpty();
    bodyArrives(admission, "{\"model\":\"m\"}");
    assertThat(calls).containsExactly("auth", "budget:{\"model\":\"m\"}");
    assertThat(outcomes).containsExactly("admitted");
    assertThat(admission.reached()).isEqualTo(2);
  }

  @Test
  void aRefusalOnTheHeadersNeverWaitsForTheBody() throws Exception {
    start(new Decision.Reject(401, "invalid_request_error", "invalid_api_key", "who?", Map.of()), null);
    Admission admission = admission(post("/v1/chat"), "/v1/chat");
    admission.start();
    assertThat(outcomes).singleElement().asString().startsWith("refused 401").contains("invalid_api_key");
    assertThat(calls).containsExactly("auth");
  }

  @Test
  void answers100ContinueOnlyOnceThePluginsOnTheHeadersLetTheRequestThrough() throws Exception {
    start(Decision.PROCEED, CompletableFuture.completedFuture(Decision.PROCEED));
    HttpRequest head = post("/v1/chat");
    head.headers().set(HttpHeaderNames.EXPECT, HttpHeaderValues.CONTINUE);
    admission(head, "/v1/chat").start();
    assertThat(outcomes).containsExactly("100-continue");

    outcomes.clear();
    stop();
    start(new Decision.Reject(403, "invalid_request_error", "forbidden", "no", Map.of()), null);
    admission(head, "/v1/chat").start();
    assertThat(outcomes).singleElement().asString().startsWith("refused 403");
  }

  @Test
  void anAsynchronousPluginThatAnswersAfterTheExchangeEndedIsIgnored() throws Exception {
    CompletableFuture<Decision> slow = new CompletableFuture<>();
    start(Decision.PROCEED, slow);
    Admission admission = admission(post("/v1/chat"), "/v1/chat");
    admission.start();
    bodyArrives(admission, "{}");
    admission.cancel();
    slow.complete(Decision.PROCEED);
    assertThat(outcomes).isEmpty();
  }

  @Test
  void aRouteThatDependsOnTheModelIsMatchedOnceTheBodyIsHere() throws Exception {
    start(Decision.PROCEED, CompletableFuture.completedFuture(Decision.PROCEED));
    Admission admission = admission(post("/v1/models-route"), "/v1/models-route");
    admission.start();
    assertThat(admission.route()).isNull();
    bodyArrives(admission, "{\"model\":\"big-1\"}");
    assertThat(admission.route().name()).isEqualTo("by-model");
    assertThat(outcomes).containsExactly("admitted");
  }

  @Test
  void aMethodTheRouteDoesNotTakeIsRefusedNamingTheAllowedOnes() throws Exception {
    start(Decision.PROCEED, null);
    admission(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v1/chat"), "/v1/chat").start();
    assertThat(outcomes).singleElement().asString().startsWith("refused 405").endsWith("allow=POST");
    assertThat(calls).isEmpty();
  }
}
