package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.RawHttp;
import io.sluice.testing.SystemBinary;
import io.sluice.testing.TestGateway;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The exposition and the shipped alerting rules pass Prometheus's own checks ({@code promtool}),
 * and every rule passes its unit tests ({@code docker/prometheus/alerts.test.yaml}).
 */
class PrometheusLintTest {
  private static final Path RULES = Path.of("..", "docker", "prometheus", "alerts.yaml");
  private static final Path RULE_TESTS = Path.of("..", "docker", "prometheus", "alerts.test.yaml");

  @Test
  void metricsPassPromtoolCheckMetrics() throws Exception {
    Path promtool = SystemBinary.require("promtool");
    try (FakeUpstream upstream = FakeUpstream.start();
        TestGateway gateway = TestGateway.start("""
            upstreams: [ { name: models, endpoints: [ { url: "%s" } ] } ]
            routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
            """.formatted(upstream.url()));
        RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{}");
      upstream.next().startSse().send("data: 1\n\n").end();
      client.readHead();
      client.readToEnd();
      client.send("GET /nowhere HTTP/1.1\r\nHost: gw\r\n\r\n").readHead();
      String metrics = gateway.admin("/metrics").body();
      assertThat(metrics).contains("sluice_requests_total");
      Result r = run(promtool, metrics, "check", "metrics");
      assertThat(r.exit).as(r.output).isZero();
    }
  }

  @Test
  void alertingRulesPassPromtoolCheckRules() throws Exception {
    Path promtool = SystemBinary.require("promtool");
    Result r = run(promtool, "", "check", "rules", RULES.toAbsolutePath().toString());
    assertThat(r.exit).as(r.output).isZero();
    assertThat(r.output).contains("SUCCESS");
  }

  @Test
  void everyAlertingRuleHasUnitTestsAndPassesThem() throws Exception {
    Path promtool = SystemBinary.require("promtool");
    Result r = run(promtool, "", "test", "rules", RULE_TESTS.toAbsolutePath().toString());
    assertThat(r.exit).as(r.output).isZero();
    assertThat(r.output).contains("SUCCESS");
    // A rule nobody tests could fire on a healthy instance unseen (as SluiceNotReady once did).
    String tests = Files.readString(RULE_TESTS);
    for (String alert : alertNames()) {
      assertThat(tests).as("alerts.test.yaml tests " + alert).contains("alertname: " + alert + ",");
      assertThat(tests).as("alerts.test.yaml expects " + alert + " to fire somewhere")
          .containsPattern("alertname: " + alert + "\\s*\\n\\s*exp_alerts:\\s*\\n\\s*- exp_labels");
    }
  }

  private static List<String> alertNames() throws IOException {
    List<String> names = new ArrayList<>();
    Matcher m = Pattern.compile("(?m)^\\s*- alert: (\\S+)$").matcher(Files.readString(RULES));
    while (m.find()) {
      names.add(m.group(1));
    }
    assertThat(names).isNotEmpty();
    return names;
  }

  private record Result(int exit, String output) {}

  private static Result run(Path program, String stdin, String... args) throws IOException, InterruptedException {
    String[] command = new String[args.length + 1];
    command[0] = program.toString();
    System.arraycopy(args, 0, command, 1, args.length);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Result(p.exitValue(), out);
  }
}
