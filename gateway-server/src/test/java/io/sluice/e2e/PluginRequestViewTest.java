package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.HeaderProbePlugin;
import io.sluice.testing.RawHttp;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a plugin sees of the request at each hook (RequestContext#header): the request's headers
 * and cookies until the head of the upstream's answer is sent (onRequest, onResponseHeaders), none
 * after it (a held stream does not keep them: gateway-server/docs/memory.md), while an answer the
 * gateway makes itself leaves them readable to the end. The client's and the upstream's headers
 * still travel as before.
 */
class PluginRequestViewTest {
  private static final String REQUEST =
      "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String CONTENT = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams:
        - { name: models, endpoints: [ { url: "${upstream}" } ] }
        - { name: gone, endpoints: [ { url: "http://127.0.0.1:1" } ], retries: 0 }
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions }
          upstream: models
          sse: { heartbeat: 0s }
          plugins:
            %1$s: {}
        - name: unreachable
          match: { path-prefix: /v1/unreachable }
          upstream: gone
          plugins:
            %1$s: {}
      """.formatted(HeaderProbePlugin.NAME));

  @BeforeEach
  void forgetEarlierRecords() {
    HeaderProbePlugin.clear();
  }

  @Test
  void aStreamedAnswersCompletionHookSeesNoRequestHeadersWhileEarlierHooksDo() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", REQUEST, "X-Probe: abc", "Cookie: probe=c1; other=2");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.headers.get("X-Probe")).isEqualTo("abc");
      call.start(200, Map.of("content-type", "text/event-stream", "x-upstream-note", "kept for the client"));
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("x-upstream-note")).isEqualTo("kept for the client");
      call.send(CONTENT).send("data: [DONE]\n\n").end();
      assertThat(client.readToEnd()).isEqualTo(CONTENT + "data: [DONE]\n\n");
    }
    assertThat(HeaderProbePlugin.next(WAIT)).isEqualTo("request:abc:c1");
    assertThat(HeaderProbePlugin.next(WAIT)).isEqualTo("response-headers:abc:c1");
    assertThat(HeaderProbePlugin.next(WAIT)).isEqualTo("complete:null:null");
  }

  @Test
  void theNextRequestOnTheConnectionSeesItsOwnHeaders() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      for (String probe : new String[] {"first", "second"}) {
        client.post("/v1/chat/completions", REQUEST, "X-Probe: " + probe);
        FakeUpstream.Call call = gateway.upstream().next();
        assertThat(call.headers.get("X-Probe")).isEqualTo(probe);
        call.startSse().send("data: [DONE]\n\n").end();
        assertThat(client.readHead().status()).isEqualTo(200);
        assertThat(client.readToEnd()).isEqualTo("data: [DONE]\n\n");
        assertThat(HeaderProbePlugin.next(WAIT)).isEqualTo("request:" + probe + ":null");
        assertThat(HeaderProbePlugin.next(WAIT)).isEqualTo("response-headers:" + probe + ":null");
        assertThat(HeaderProbePlugin.next(WAIT)).isEqualTo("complete:null:null");
      }
    }
  }

  @Test
  void anAnswerTheGatewayMakesLeavesTheHeadersReadableToTheEnd() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/unreachable", REQUEST, "X-Probe: abc", "Cookie: probe=c1");
      assertThat(client.readHead().status()).isEqualTo(502);
      client.readToEnd();
    }
    assertThat(HeaderProbePlugin.next(WAIT)).isEqualTo("request:abc:c1");
    assertThat(HeaderProbePlugin.next(WAIT)).isEqualTo("response-headers:abc:c1");
    assertThat(HeaderProbePlugin.next(WAIT)).isEqualTo("complete:abc:c1");
  }
}
