package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import io.sluice.testing.SystemBinary;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The OpenTelemetry GenAI metrics on {@code /metrics}, after a streamed and a non-streamed
 * request (OpenAI Chat) and an Anthropic Messages request: values, labels, the conventions'
 * bucket boundaries, and {@code promtool check metrics}.
 */
class GenAiMetricsTest {
  private static final String ROLE = "data: {\"model\":\"qwen-7b-0613\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
  private static final String TOKEN = "data: {\"model\":\"qwen-7b-0613\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
  private static final String USAGE = "data: {\"model\":\"qwen-7b-0613\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}\n\n";
  private static final String DONE = "data: [DONE]\n\n";
  private static final String JSON_ANSWER = "{\"model\":\"qwen-7b-0613\",\"choices\":[{\"index\":0,\"message\":"
      + "{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}],"
      + "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20,\"total_tokens\":120}}";
  private static final String ANTHROPIC_ANSWER = "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
      + "\"model\":\"claude-x\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\","
      + "\"usage\":{\"input_tokens\":7,\"output_tokens\":2}}";
  private static final String OPENAI = "gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\","
      + "gen_ai_request_model=\"qwen-7b\",gen_ai_response_model=\"qwen-7b-0613\"";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
      routes:
        - { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models }
        - { name: messages, match: { path-prefix: /v1/messages }, upstream: models }
      """);

  @Test
  void recordsTokensAndLatenciesWithTheConventionsBuckets() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"qwen-7b\",\"stream\":true,\"messages\":[]}");
      gateway.upstream().next().startSse().send(ROLE).send(TOKEN).send(TOKEN).send(TOKEN).send(USAGE).send(DONE).end();
      client.readHead();
      client.readToEnd();
      client.post("/v1/chat/completions", "{\"model\":\"qwen-7b\",\"messages\":[]}");
      gateway.upstream().next().respond(200, "application/json", JSON_ANSWER);
      client.readHead();
      client.readToEnd();
      client.post("/v1/messages", "{\"model\":\"claude-x\",\"max_tokens\":10,\"messages\":[]}");
      gateway.upstream().next().respond(200, "application/json", ANTHROPIC_ANSWER);
      client.readHead();
      client.readToEnd();
    }
    String metrics = scrapeWhen("gen_ai_server_request_duration_seconds_count{gen_ai_operation_name=\"chat\","
        + "gen_ai_provider_name=\"anthropic\"");
    assertThat(metrics)
        .contains("# TYPE gen_ai_client_token_usage histogram")
        .contains("gen_ai_client_token_usage_count{" + OPENAI + ",gen_ai_token_type=\"input\"} 2")
        .contains("gen_ai_client_token_usage_sum{" + OPENAI + ",gen_ai_token_type=\"input\"} 112.0")
        .contains("gen_ai_client_token_usage_sum{" + OPENAI + ",gen_ai_token_type=\"output\"} 23.0")
        // 12 input tokens fall in le=16, 100 in le=256 (cumulative buckets).
        .contains("gen_ai_client_token_usage_bucket{" + OPENAI + ",gen_ai_token_type=\"input\",le=\"4.0\"} 0")
        .contains("gen_ai_client_token_usage_bucket{" + OPENAI + ",gen_ai_token_type=\"input\",le=\"16.0\"} 1")
        .contains("gen_ai_client_token_usage_bucket{" + OPENAI + ",gen_ai_token_type=\"input\",le=\"256.0\"} 2")
        .contains("gen_ai_server_request_duration_seconds_count{" + OPENAI + "} 2")
        // Time to first token and per output token: the streamed answer only.
        .contains("gen_ai_server_time_to_first_token_seconds_count{" + OPENAI + "} 1")
        .contains("gen_ai_server_time_per_output_token_seconds_count{" + OPENAI + "} 1")
        .contains("gen_ai_client_token_usage_sum{gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"anthropic\","
            + "gen_ai_request_model=\"claude-x\",gen_ai_response_model=\"claude-x\",gen_ai_token_type=\"input\"} 7.0");

    assertThat(bounds(metrics, "gen_ai_client_token_usage_bucket")).containsExactly("1.0", "4.0", "16.0", "64.0",
        "256.0", "1024.0", "4096.0", "16384.0", "65536.0", "262144.0", "1048576.0", "4194304.0", "1.6777216E7",
        "6.7108864E7", "+Inf");
    assertThat(bounds(metrics, "gen_ai_server_request_duration_seconds_bucket")).containsExactly("0.01", "0.02",
        "0.04", "0.08", "0.16", "0.32", "0.64", "1.28", "2.56", "5.12", "10.24", "20.48", "40.96", "81.92", "+Inf");
    assertThat(bounds(metrics, "gen_ai_server_time_to_first_token_seconds_bucket")).containsExactly("0.001",
        "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5", "5.0", "7.5",
        "10.0", "+Inf");
    assertThat(bounds(metrics, "gen_ai_server_time_per_output_token_seconds_bucket")).containsExactly("0.01",
        "0.025", "0.05", "0.075", "0.1", "0.15", "0.2", "0.3", "0.4", "0.5", "0.75", "1.0", "2.5", "+Inf");

    Path promtool = SystemBinary.require("promtool");
    Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
    p.getOutputStream().write(metrics.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
  }

  /** The {@code le} values of the first series of a histogram, in order. */
  private static List<String> bounds(String metrics, String bucketName) {
    List<String> les = new ArrayList<>();
    String firstSeries = null;
    Matcher m = Pattern.compile("(?m)^" + bucketName + "\\{(.*),le=\"([^\"]+)\"} ").matcher(metrics);
    while (m.find()) {
      if (firstSeries == null) {
        firstSeries = m.group(1);
      }
      if (m.group(1).equals(firstSeries)) {
        les.add(m.group(2));
      }
    }
    return les;
  }

  private String scrapeWhen(String expected) throws Exception {
    String metrics = "";
    for (int i = 0; i < 500 && !metrics.contains(expected); i++) {
      Thread.sleep(10); // the exchange is counted just after its last byte
      metrics = gateway.admin("/metrics").body();
    }
    return metrics;
  }
}
