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
