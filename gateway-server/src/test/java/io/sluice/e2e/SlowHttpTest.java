package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.demo.MockModelServer;
import io.sluice.testing.SystemBinary;
import io.sluice.testing.TestGateway;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Slowloris (headers trickled) and R-U-Dead-Yet (a body trickled) from {@code slowhttptest}
 * (Debian's package, installed by {@code .ci/run}): every slow connection is closed at
 * {@code request-header-timeout} / {@code request-body-timeout}, and the gateway keeps serving
 * while the attack runs.
 */
class SlowHttpTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  @ParameterizedTest
  @ValueSource(strings = {"-H", "-B"})
  void slowConnectionsAreClosedAtTheirTimeoutWhileTheGatewayServes(String mode) throws Exception {
    Path slowhttptest = SystemBinary.require("slowhttptest");
    try (MockModelServer mock = MockModelServer.start("127.0.0.1", 0, MockModelServer.Options.DEFAULTS);
        TestGateway gateway = TestGateway.start("""
            limits: { request-header-timeout: 2s, request-body-timeout: 2s }
            upstreams: [ { name: models, endpoints: [ { url: "http://127.0.0.1:%d" } ] } ]
            routes: [ { name: models, match: { path-prefix: /v1 }, upstream: models } ]
            """.formatted(mock.port()))) {
      Process attack = new ProcessBuilder(slowhttptest.toString(), mode, "-c", "150", "-r", "150", "-i", "1",
          "-l", "8", "-s", "8192", "-p", "3", "-u", gateway.url("/v1/models"))
          .redirectErrorStream(true).start();
      try {
        // While the slow connections are open, an ordinary client is served at once.
        HttpResponse<String> served = HTTP.send(HttpRequest.newBuilder(URI.create(gateway.url("/v1/models")))
            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(served.statusCode()).isEqualTo(200);
        assertThat(attack.waitFor(30, TimeUnit.SECONDS)).as("slowhttptest ends").isTrue();
        String report = new String(attack.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
            .replaceAll("\u001B\\[[;\\d]*m", "");
        // The gateway closed every slow connection before the attack's own 8 s were over.
        assertThat(report).contains("Exit status: No open connections left");
        assertThat(report).doesNotContain("service available:   NO");
      } finally {
        attack.destroyForcibly();
      }
      HttpResponse<String> after = HTTP.send(HttpRequest.newBuilder(URI.create(gateway.url("/v1/models")))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(after.statusCode()).isEqualTo(200);
    }
  }
}
