package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Token usage over real sockets: the include_usage rewrite, the dropped chunk, metrics. */
class TokenUsageTest {
  private static final String ROLE = "data: {\"model\":\"qwen-7b\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
  private static final String TOKEN = "data: {\"model\":\"qwen-7b\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
  private static final String USAGE = "data: {\"model\":\"qwen-7b\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13}}\n\n";
  private static final String DONE = "data: [DONE]\n\n";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
      routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
      """);

  @Test
  void asksForUsageAndHidesTheExtraChunkFromAClientThatDidNotAsk() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"qwen-7b\",\"stream\":true,\"messages\":[]}");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.body).isEqualTo(
          "{\"model\":\"qwen-7b\",\"stream\":true,\"messages\":[],\"stream_options\":{\"include_usage\":true}}");
      call.startSse().send(ROLE).send(TOKEN).send(USAGE).send(DONE).end();
      client.readHead();
      assertThat(client.readToEnd()).isEqualTo(ROLE + TOKEN + DONE);
    }
    String metrics = scrapeWhenCounted();
    assertThat(metrics)
        .contains("sluice_tokens_total{consumer=\"anonymous\",model=\"qwen-7b\",route=\"chat\",type=\"input\"} 12.0")
        .contains("sluice_tokens_total{consumer=\"anonymous\",model=\"qwen-7b\",route=\"chat\",type=\"output\"} 1.0")
        .contains("sluice_time_to_first_token_seconds_count{model=\"qwen-7b\",route=\"chat\"} 1");
  }

  /**
   * Anthropic's cache reads and writes, OpenAI's reasoning tokens, and their cost
   * (gateway-core/docs/usage.md, "Cost"): cache reads are counted as cached input and priced as
   * such, cache writes as input; reasoning is counted apart and priced as output; a model without a
   * price is counted as unpriced.
   */
  @Test
  void cachedAndReasoningTokensAreCountedAndPriced() throws Exception {
    TestGateway g = gateway.start("""
        pricing: [ { model: "claude-sonnet-4*", input: 3.00, cached-input: 0.30, output: 15.00 } ]
        upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
        routes:
          - { name: messages, match: { path-prefix: /v1/messages }, upstream: models, api: anthropic-messages }
          - { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models }
        """);
    String anthropic = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-20250514\","
        + "\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":1024,\"cache_read_input_tokens\":2048,\"output_tokens\":2}}}\n\n"
        + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
        + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":12}}\n\n"
        + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    try (RawHttp client = RawHttp.connect(g.port())) {
      client.post("/v1/messages", "{\"model\":\"claude-sonnet-4-0\",\"stream\":true,\"max_tokens\":64,\"messages\":[]}");
      gateway.upstream().next().startSse().send(anthropic).end();
      client.readHead();
      assertThat(client.readToEnd()).isEqualTo(anthropic);
    }
    try (RawHttp client = RawHttp.connect(g.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"o3-mini\",\"messages\":[]}");
      gateway.upstream().next().respond(200, "application/json", "{\"model\":\"o3-mini\",\"choices\":[],"
          + "\"usage\":{\"prompt_tokens\":36,\"completion_tokens\":541,\"completion_tokens_details\":{\"reasoning_tokens\":512}}}");
      assertThat(client.readHead().status()).isEqualTo(200);
    }
    String metrics = "";
    for (int i = 0; i < 500 && !metrics.contains("sluice_unpriced_tokens_total{"); i++) {
      metrics = g.admin("/metrics").body();
      if (!metrics.contains("sluice_unpriced_tokens_total{")) {
        Thread.sleep(10); // the exchange ends just after the client read its last byte
      }
    }
    String claude = "consumer=\"anonymous\",model=\"claude-sonnet-4-20250514\",route=\"messages\"";
    String o3 = "consumer=\"anonymous\",model=\"o3-mini\",route=\"chat\"";
    assertThat(metrics)
        .contains("sluice_tokens_total{" + claude + ",type=\"input\"} 3544.0")
        .contains("sluice_tokens_total{" + claude + ",type=\"cached_input\"} 2048.0")
        .contains("sluice_tokens_total{" + claude + ",type=\"output\"} 12.0")
        // (472 + 1,024) × 3 + 2,048 × 0.30 + 12 × 15 = 5,282.4 per million
        .contains("sluice_cost_usd_total{" + claude + "} 0.0052824")
        .contains("sluice_tokens_total{" + o3 + ",type=\"output\"} 541.0")
        .contains("sluice_tokens_total{" + o3 + ",type=\"reasoning\"} 512.0")
        .contains("sluice_unpriced_tokens_total{model=\"o3-mini\"} 577.0")
        .doesNotContain("sluice_cost_usd_total{" + o3);
  }

  @Test
  void aClientThatAskedForUsageGetsItsChunk() throws Exception {
    String body = "{\"model\":\"qwen-7b\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}";
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", body);
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.body).isEqualTo(body);
      call.startSse().send(ROLE).send(TOKEN).send(USAGE).send(DONE).end();
      client.readHead();
      assertThat(client.readToEnd()).isEqualTo(ROLE + TOKEN + USAGE + DONE);
    }
  }

  @Test
  void passthroughRoutesAreNeverTouched() throws Exception {
    try (FakeUpstream other = FakeUpstream.start();
        TestGateway passthrough = TestGateway.start("""
            upstreams: [ { name: models, endpoints: [ { url: "%s" } ] } ]
            routes: [ { name: raw, match: { path-prefix: /v1/chat/completions }, upstream: models, api: passthrough } ]
            """.formatted(other.url()));
        RawHttp client = RawHttp.connect(passthrough.port())) {
      String body = "{\"model\":\"m\",\"stream\":true}";
      client.post("/v1/chat/completions", body);
      FakeUpstream.Call call = other.next();
      assertThat(call.body).isEqualTo(body);
      call.startSse().send(USAGE).send(DONE).end();
      client.readHead();
      assertThat(client.readToEnd()).isEqualTo(USAGE + DONE);
    }
  }

  private String scrapeWhenCounted() throws Exception {
    String metrics = "";
    for (int i = 0; i < 500 && !metrics.contains("sluice_tokens_total"); i++) {
      Thread.sleep(10); // the exchange is counted just after its last byte
      metrics = gateway.admin("/metrics").body();
    }
    return metrics;
  }
}
