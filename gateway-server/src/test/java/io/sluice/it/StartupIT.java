package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sluice.demo.MockModelServer;
import io.sluice.testing.GatewayProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Start-up as shipped (gateway-server/docs/startup.md): the jar started from its folder with
 * {@code docker/jvm.options}, as the image and bench/run start it, maps the AppCDS archive the
 * build recorded with {@code --cds-training}. No timing here (performance lives in bench/run):
 * what is checked is that the archive is used at all, and that the training covers a start and
 * its first request — a gateway class loaded from the jar instead names what the training misses.
 */
class StartupIT {
  private static final Pattern LOADED_FROM_JAR =
      Pattern.compile("\\[class,load\\] (io\\.sluice\\.\\S+) source: (?:file|jar):");
  private static final Path JVM_OPTIONS = Path.of("..", "docker", "jvm.options").toAbsolutePath().normalize();

  @TempDir Path dir;

  private static Path target() {
    return Path.of(GatewayProcess.jar()).toAbsolutePath().getParent();
  }

  @BeforeAll
  static void theBuildRecordedAnArchive() {
    assumeTrue(Files.isRegularFile(target().resolve("gateway.jsa")), "built with -Dcds.skip: no archive");
  }

  @Test
  void aStartAndItsFirstRequestLoadEveryGatewayClassFromTheArchive() throws Exception {
    try (MockModelServer mock = MockModelServer.start("127.0.0.1", 0,
        new MockModelServer.Options(Duration.ZERO, "Hello"))) {
      Path config = dir.resolve("gateway.yaml");
      Files.writeString(config, """
          listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
          admin: { host: 127.0.0.1, port: 0 }
          upstreams:
            - name: local-models
              endpoints: [ { url: "http://127.0.0.1:%d" } ]
              health-check: { path: /health, interval: 5s, timeout: 2s }
          routes:
            - name: models
              match: { path: /v1/models, methods: [GET] }
              upstream: local-models
          """.formatted(mock.port()));
      try (GatewayProcess p = GatewayProcess.startIn(target(), List.of("@" + JVM_OPTIONS, "-Xlog:class+load"),
          "--config", config.toString())) {
        p.awaitReady();
        HttpResponse<String> models = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + "/v1/models"))
                .timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(models.statusCode()).isEqualTo(200);
        p.terminate();
        assertThat(p.awaitExit()).isEqualTo(0);

        String output = p.output();
        assertThat(output).as("docker/jvm.options maps target/gateway.jsa")
            .contains("io.sluice.app.Main source: shared objects file (top)");
        List<String> fromJar = output.lines().map(LOADED_FROM_JAR::matcher).filter(Matcher::find)
            .map(m -> m.group(1)).toList();
        assertThat(fromJar).as("gateway classes the --cds-training run did not load").isEmpty();
      }
    }
  }

  @Test
  void aMissingArchiveIsNoError() throws Exception {
    try (GatewayProcess p = GatewayProcess.startIn(dir, List.of("@" + JVM_OPTIONS), "--version")) {
      assertThat(p.awaitExit()).isEqualTo(0);
      assertThat(p.output()).isEqualTo("Sluice " + System.getProperty("sluice.project.version"));
    }
  }
}
