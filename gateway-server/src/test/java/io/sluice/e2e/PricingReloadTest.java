package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prices are config: a reload that changes the {@code pricing} table prices the next exchange with
 * the new table (gateway-core/docs/configuration.md, "pricing"), for the cost metric and for
 * {@code ai-budget}'s USD rules alike.
 */
class PricingReloadTest {
  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  private String config(String outputPrice) {
    return gateway.resolve("""
        listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
        admin: { host: 127.0.0.1, port: 0 }
        pricing: [ { model: "m-*", input: 1, output: %s } ]
        upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: models
            plugins:
              ai-budget: { rules: [ { limit-by: ip, period: month, usd: 1 } ] }
        """.formatted(outputPrice));
  }

  /** One answer of 1,000 input and 1,000 output tokens of m-1; returns the budget header. */
  private String exchange(TestGateway g) throws Exception {
    try (RawHttp client = RawHttp.connect(g.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"m-1\",\"max_tokens\":1,\"messages\":[]}");
      gateway.upstream().next().respond(200, "application/json", "{\"model\":\"m-1\",\"choices\":[],"
          + "\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":1000}}");
      RawHttp.Head head = client.readHead();
      assertThat(head.status()).isEqualTo(200);
      client.readToEnd();
      return head.header("x-sluice-budget-remaining");
    }
  }

  @Test
  void aReloadedPriceTableApplies(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(file, config("2"));
    TestGateway g = gateway.startFromFile(file);
    exchange(g); // 1,000 × 1 + 1,000 × 2 = 3,000 per million: 0.003
    Files.writeString(file, config("10"));
    assertThat(g.adminPost("/admin/reload").statusCode()).isEqualTo(200);
    // reserved at the new price (0 prompt + 1 × 10 per million) after the old exchange's 0.003
    assertThat(exchange(g)).isEqualTo("0.996990");
    String metrics = "";
    for (int i = 0; i < 500 && !metrics.contains("} 0.014"); i++) {
      metrics = g.admin("/metrics").body();
      if (!metrics.contains("} 0.014")) {
        Thread.sleep(10); // the exchange ends just after the client read its last byte
      }
    }
    // 0.003 + (1,000 × 1 + 1,000 × 10) per million = 0.003 + 0.011
    assertThat(metrics).contains("sluice_cost_usd_total{consumer=\"anonymous\",model=\"m-1\",route=\"chat\"} 0.014");
  }
}
