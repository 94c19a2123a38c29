package io.sluice.e2e;

import static io.sluice.e2e.UpstreamFixtures.PLAIN_BODY;
import static io.sluice.e2e.UpstreamFixtures.STREAM_BODY;
import static io.sluice.e2e.UpstreamFixtures.assertGatewayError;
import static io.sluice.e2e.UpstreamFixtures.read;
import static io.sluice.e2e.UpstreamFixtures.refusedPort;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.sluice.observe.BuildInfo;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import io.sluice.testing.SystemBinary;
import io.sluice.testing.TestGateway;
import io.sluice.testing.TestPki;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The operations metrics over real sockets, each shown to move: endpoint health, config reloads,
 * the listener certificate's expiry, the build, and streams ended by {@code event: error}.
 */
class OperationsMetricsTest {
  @TempDir Path dir;
  private final TestPki pki = TestPki.create("Sluice Test CA");

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  @Test
  void endpointHealthTurnsToZeroWhenPassiveFailuresEjectTheEndpoint() throws Exception {
    String dead = "http://127.0.0.1:" + refusedPort();
    gateway.start("""
        upstreams:
          - name: dead
            endpoints: [ { url: "%s" } ]
            retries: 0
            health-check: { unhealthy-after: 1, interval: 1h }
          - name: live
            endpoints: [ { url: "${upstream}" } ]
        routes:
          - { name: dead, match: { path-prefix: /dead }, upstream: dead }
          - { name: live, match: { path-prefix: /live }, upstream: live }
        """.formatted(dead));
    String live = gateway.upstream().url();
    String before = scrape();
    assertThat(value(before, "sluice_upstream_endpoint_healthy", "upstream", "dead", "endpoint", dead)).contains(1.0);
    assertThat(value(before, "sluice_upstream_endpoint_healthy", "upstream", "live", "endpoint", live)).contains(1.0);

    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/dead", PLAIN_BODY);
      assertGatewayError(read(client), 502, "upstream_failed"); // the endpoint is ejected before the answer
    }
    String after = scrape();
    assertThat(value(after, "sluice_upstream_endpoint_healthy", "upstream", "dead", "endpoint", dead)).contains(0.0);
    assertThat(value(after, "sluice_upstream_endpoint_healthy", "upstream", "live", "endpoint", live)).contains(1.0);
  }

  private String fileConfig(String extra) {
    return """
        listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
        admin: { host: 127.0.0.1, port: 0 }
        upstreams: [ { name: models, endpoints: [ { url: "%s" } ] } ]
        routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
        %s""".formatted(gateway.upstream().url(), extra);
  }

  @Test
  void reloadsAreCountedByResultAndSetTheConfigsLogLevels() throws Exception {
    Logger upstreamLog = (Logger) LoggerFactory.getLogger("io.sluice.upstream");
    Level original = upstreamLog.getLevel();
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(file, fileConfig(""));
    gateway.startFromFile(file);
    String start = scrape();
    assertThat(value(start, "sluice_config_reloads_total", "result", "ok")).contains(0.0);
    assertThat(value(start, "sluice_config_reloads_total", "result", "failed")).contains(0.0);

    // A good config, turning one package to debug: applied, counted, and the level is in force.
    Files.writeString(file, fileConfig("logging: { level: { io.sluice.upstream: debug } }\n"));
    assertThat(gateway.adminPost("/admin/reload").statusCode()).isEqualTo(200);
    assertThat(upstreamLog.getLevel()).isEqualTo(Level.DEBUG);
    assertThat(value(scrape(), "sluice_config_reloads_total", "result", "ok")).contains(1.0);

    // A bad one: refused, counted as failed; the running config (and its levels) stay.
    Files.writeString(file, fileConfig("logging: { level: { io.sluice.upstream: verbose } }\n"));
    assertThat(gateway.adminPost("/admin/reload").statusCode()).isEqualTo(400);
    assertThat(upstreamLog.getLevel()).isEqualTo(Level.DEBUG);
    String afterBad = scrape();
    assertThat(value(afterBad, "sluice_config_reloads_total", "result", "failed")).contains(1.0);
    assertThat(value(afterBad, "sluice_config_reloads_total", "result", "ok")).contains(1.0);

    // The key removed again: the logger goes back to the level it had before the config set it.
    Files.writeString(file, fileConfig(""));
    assertThat(gateway.adminPost("/admin/reload").statusCode()).isEqualTo(200);
    assertThat(upstreamLog.getLevel()).isEqualTo(original);
    assertThat(value(scrape(), "sluice_config_reloads_total", "result", "ok")).contains(2.0);
  }

  @Test
  void certificateExpiryCountsDownToTheListenerCertificatesNotAfterAndFollowsARenewal() throws Exception {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    Instant notAfter = now.plus(Duration.ofDays(10));
    TestPki.Files2 files = pki.issue("gateway.test", now.minus(Duration.ofHours(1)), notAfter).write(dir, "server");
    gateway.start(tlsConfig(files));
    assertExpiry(notAfter);

    Instant renewedNotAfter = now.plus(Duration.ofDays(40));
    TestPki.Files2 renewed = pki.issue("gateway.test", now.minus(Duration.ofHours(1)), renewedNotAfter)
        .write(dir, "renewed");
    Files.copy(renewed.certificate(), files.certificate(), StandardCopyOption.REPLACE_EXISTING);
    Files.copy(renewed.key(), files.key(), StandardCopyOption.REPLACE_EXISTING);
    FileTime later = FileTime.from(Instant.now().plusSeconds(5));
    Files.setLastModifiedTime(files.certificate(), later);
    Files.setLastModifiedTime(files.key(), later);
    assertThat(gateway.sluice().reloadTls()).isTrue();
    assertExpiry(renewedNotAfter);
  }

  private static String tlsConfig(TestPki.Files2 files) {
    return """
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            tls: { certificate: "%s", private-key: "%s" }
        upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
        routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
        """.formatted(files.certificate(), files.key());
  }

  /** The gauge is notAfter minus the scrape's time: between the values before and after the scrape. */
  private void assertExpiry(Instant notAfter) throws Exception {
    long most = Duration.between(Instant.now(), notAfter).toSeconds() + 1;
    String metrics = scrape();
    long least = Duration.between(Instant.now(), notAfter).toSeconds() - 1;
    assertThat(value(metrics, "sluice_tls_certificate_expiry_seconds", "listener", "public"))
        .hasValueSatisfying(v -> assertThat(v).isBetween((double) least, (double) most));
  }

  @Test
  void aStreamCutByTheUpstreamIsAStreamErrorAndStaysA200InRequestsTotal() throws Exception {
    gateway.start("""
        upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
        routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
        """);
    cutOneStream(gateway.gateway(), gateway.upstream());
    String metrics = scrape();
    assertThat(value(metrics, "sluice_stream_errors_total", "route", "chat", "code", "upstream_failed")).contains(1.0);
    // The exchange is counted when it has ended, a moment after its last byte left.
    awaitValue("sluice_requests_total", 1.0, "route", "chat", "status", "200");
  }

  /** A stream with one event, then the upstream's connection reset: the client gets {@code event: error}. */
  private static void cutOneStream(TestGateway gateway, FakeUpstream upstream) throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", STREAM_BODY);
      FakeUpstream.Call call = upstream.next().startSse();
      assertThat(client.readHead().status()).isEqualTo(200);
      call.send("data: {\"n\":1}\n\n");
      assertThat(client.readUntil("\n\n")).isEqualTo("data: {\"n\":1}\n\n");
      call.reset();
      assertThat(client.readToEnd()).startsWith("event: error\n").contains("\"code\":\"upstream_failed\"");
    }
  }

  @Test
  void buildInfoNamesTheProjectVersion() throws Exception {
    gateway.start("""
        upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
        routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
        """);
    String projectVersion = System.getProperty("sluice.project.version");
    assertThat(projectVersion).as("surefire passes ${project.version}").isNotBlank();
    assertThat(BuildInfo.version()).isEqualTo(projectVersion);
    assertThat(value(scrape(), "sluice_build_info", "version", projectVersion)).contains(1.0);
  }

  @Test
  void theNewSeriesPassPromtoolCheckMetrics() throws Exception {
    Path promtool = SystemBinary.require("promtool");
    TestPki.Files2 files = pki.issue("gateway.test").write(dir, "server");
    TestGateway started = gateway.start("""
        listeners:
          - { name: public, host: 127.0.0.1, port: 0 }
          - { name: secure, host: 127.0.0.1, port: 0, tls: { certificate: "%s", private-key: "%s" } }
        upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
        routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
        """.formatted(files.certificate(), files.key()));
    cutOneStream(started, gateway.upstream());
    String metrics = scrape();
    assertThat(metrics).contains("sluice_upstream_endpoint_healthy{", "sluice_config_reloads_total{",
        "sluice_tls_certificate_expiry_seconds{", "sluice_build_info{", "sluice_stream_errors_total{");
    Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
    p.getOutputStream().write(metrics.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
  }

  // ---- reading the exposition ---------------------------------------------------------------------

  private String scrape() throws Exception {
    return gateway.admin("/metrics").body();
  }

  /** The value of the series {@code name} with (at least) these label pairs, if it exists. */
  static Optional<Double> value(String metrics, String name, String... labels) {
    return Arrays.stream(metrics.split("\n"))
        .filter(l -> l.startsWith(name + "{"))
        .filter(l -> {
          for (int i = 0; i < labels.length; i += 2) {
            if (!l.contains(labels[i] + "=\"" + labels[i + 1] + "\"")) {
              return false;
            }
          }
          return true;
        })
        .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .findFirst();
  }

  /** Polls {@code /metrics} (up to 10 s) until the series has this value. */
  private void awaitValue(String name, double expected, String... labels) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    Optional<Double> last = Optional.empty();
    while (System.nanoTime() < deadline) {
      last = value(scrape(), name, labels);
      if (last.isPresent() && last.get() == expected) {
        return;
      }
      Thread.sleep(10); // polling for a value, not waiting for a timer
    }
    assertThat(last).as("%s%s", name, Arrays.toString(labels)).contains(expected);
  }
}
