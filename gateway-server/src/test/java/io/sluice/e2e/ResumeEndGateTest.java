package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.HeldSettlePlugin;
import io.sluice.testing.RawHttp;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A resumable stream on a route whose plugin settles the usage before the end goes out
 * (gateway-core/docs/usage.md, streams.md): the end enters the session only when the usage is
 * settled, so neither a resume nor a poll in that window sees it early. The settling completes
 * when the test says so ({@link HeldSettlePlugin}).
 */
class ResumeEndGateTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT = "/v1/chat/completions";
  private static final String REQUEST =
      "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static final String CONTENT = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
  private static final String USAGE = "data: {\"id\":\"c\",\"choices\":[],"
      + "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":40,\"total_tokens\":50}}\n\n";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions }
          upstream: models
          sse:
            heartbeat: 0s
            resume: { enabled: true }
            long-poll: { enabled: true, wait: 300ms }
          plugins:
            %s: {}
      """.formatted(HeldSettlePlugin.NAME));

  @Test
  void aResumeWhileTheUsageIsBeingSettledGetsTheEndOnlyOnceItIsSettled() throws Exception {
    String id;
    FakeUpstream.Call call;
    HeldSettlePlugin.Settle settle;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post(CHAT, REQUEST);
      call = gateway.upstream().next().startSse();
      RawHttp.Head head = first.readHead();
      assertThat(head.status()).isEqualTo(200);
      id = head.header("x-sluice-stream-id");
      call.send(CONTENT);
      assertThat(first.readUntil("\n\n")).isEqualTo("id: " + id + ".1\n" + CONTENT);
      // The usage chunk (the gateway asked for it; the client did not) and the end: the relay
      // now waits for the plugin to settle 50 tokens before the end may go out.
      call.send(USAGE).send("data: [DONE]\n\n").end();
      settle = HeldSettlePlugin.nextSettle(Duration.ofSeconds(10));
      assertThat(settle.usage().outputTokens()).isEqualTo(40);
      assertThat(first.hasData()).as("the original client waits for the settling").isFalse();
    } // the client drops while the usage is being settled

    try (RawHttp second = RawHttp.connect(gateway.port())) {
      second.post(CHAT, REQUEST, "Last-Event-ID: " + id + ".1");
      assertThat(second.readHead().status()).isEqualTo(200);
      // A poll of the same session is answered once its wait is over: nothing after event 1 yet.
      try (RawHttp poller = RawHttp.connect(gateway.port())) {
        JsonNode page = poll(poller, "/sluice/streams/" + id + "/events?after=1");
        assertThat(page.get("events")).isEmpty();
        assertThat(page.get("done").asBoolean()).isFalse();
      }
      assertThat(second.hasData()).as("the resumed client does not see the end before the settling").isFalse();

      settle.complete();
      assertThat(second.readToEnd()).isEqualTo("id: " + id + ".2\ndata: [DONE]\n\n");
      assertThat(second.endedCleanly()).isTrue();
    }
    try (RawHttp poller = RawHttp.connect(gateway.port())) {
      JsonNode page = poll(poller, "/sluice/streams/" + id + "/events?after=1");
      assertThat(page.get("events")).hasSize(1);
      assertThat(page.get("events").get(0).get("data").asText()).isEqualTo("[DONE]");
      assertThat(page.get("done").asBoolean()).isTrue();
    }
    assertThat(gateway.upstream().poll()).as("the model is called once").isNull();
  }

  private static JsonNode poll(RawHttp client, String url) throws Exception {
    client.send("GET " + url + " HTTP/1.1\r\nHost: t\r\n\r\n");
    RawHttp.Head head = client.readHead();
    assertThat(head.status()).isEqualTo(200);
    return JSON.readTree(client.readToEnd());
  }
}
