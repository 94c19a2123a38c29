package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.GatewayProcess;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged jar as a user runs it: --check, exit codes, signals, log formats. */
class CommandLineIT {
  @TempDir Path dir;

  private Path write(String name, String yaml) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, yaml);
    return file;
  }

  @Test
  void checkPrintsEveryMistakeWithItsPathAndExits2() throws Exception {
    Path config = write("bad.yaml", """
        listeners:
          - name: public
            port: 70000
        upstreams:
          - name: chat-pool
            endpoints: [ { url: "http://127.0.0.1:9000" } ]
            connect-timeout: 2 seconds
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions }
            upstream: chat-pol
        """);
    try (GatewayProcess p = GatewayProcess.start(List.of(), "--config", config.toString(), "--check")) {
      assertThat(p.awaitExit()).isEqualTo(2);
      assertThat(p.output())
          .contains("listeners[0].port: expected a port 0..65535 (got 70000)")
          .contains("upstreams[0].connect-timeout:")
          .contains("routes[0].upstream: 'chat-pol' is not defined (expected one of: chat-pool)");
    }
  }

  @Test
  void checkAcceptsTheShippedExampleConfig() throws Exception {
    Path example = Path.of("..", "config", "gateway.yaml").toAbsolutePath().normalize();
    try (GatewayProcess p = GatewayProcess.start(List.of(), "--config", example.toString(), "--check")) {
      assertThat(p.awaitExit()).as(p.output()).isEqualTo(0);
    }
  }

  @Test
  void aMissingConfigFileExits2WithItsName() throws Exception {
    try (GatewayProcess p = GatewayProcess.start(List.of(), "--config", dir.resolve("nope.yaml").toString())) {
      assertThat(p.awaitExit()).isEqualTo(2);
      assertThat(p.output()).contains("nope.yaml");
    }
  }

  @Test
  void unknownOptionsExit2() throws Exception {
    try (GatewayProcess p = GatewayProcess.start(List.of(), "--frobnicate")) {
      assertThat(p.awaitExit()).isEqualTo(2);
      assertThat(p.output()).contains("--frobnicate");
    }
  }

  @Test
  void aPortInUseExits1WithTheReason() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Path config = write("busy.yaml", """
          listeners: [ { name: public, host: 127.0.0.1, port: %d } ]
          admin: { port: 0 }
          upstreams: [ { name: u, endpoints: [ { url: "http://127.0.0.1:9" } ] } ]
          routes: [ { name: r, match: { path-prefix: / }, upstream: u } ]
          """.formatted(taken.getLocalPort()));
      try (GatewayProcess p = GatewayProcess.start(List.of(), "--config", config.toString())) {
        assertThat(p.awaitExit()).isEqualTo(1);
        assertThat(p.output()).contains("sluice: cannot listen for listener 'public' on 127.0.0.1:");
      }
    }
  }

  /** A config that serves: a listener and the admin port on free ports, one route. */
  private Path servingConfig() throws Exception {
    return write("ok.yaml", """
        listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
        admin: { port: 0 }
        upstreams: [ { name: u, endpoints: [ { url: "http://127.0.0.1:9" } ] } ]
        routes: [ { name: r, match: { path-prefix: / }, upstream: u } ]
        """);
  }

  @Test
  void sigtermStopsTheGatewayWithExitCode0() throws Exception {
    Path config = servingConfig();
    try (GatewayProcess p = GatewayProcess.start(List.of(), "--config", config.toString(), "--log-format", "json")) {
      p.awaitReady();
      HttpResponse<String> health = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.adminPort() + "/healthz")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(health.statusCode()).isEqualTo(200);
      p.terminate();
      assertThat(p.awaitExit()).isEqualTo(0);
      assertThat(p.output().lines().filter(l -> l.contains("Sluice ready")).findFirst().orElseThrow())
          .as("--log-format json prints one JSON object per line").startsWith("{").endsWith("}");
    }
  }

  @Test
  void aSigtermDuringTheStartDrainsOnceStartedAndExits0() throws Exception {
    Path config = servingConfig();
    try (GatewayProcess p = GatewayProcess.start(List.of(), "--config", config.toString())) {
      // The listener is up, the start is not done: an orchestrator's stop can come this early.
      p.awaitLine("listener 'public' on");
      p.terminate();
      assertThat(p.awaitExit()).as("a drain, not the JVM's default for SIGTERM (143)").isEqualTo(0);
    }
  }

  @Test
  void versionIsTheProjectVersionOfTheBuild() throws Exception {
    String projectVersion = System.getProperty("sluice.project.version");
    assertThat(projectVersion).as("failsafe passes ${project.version}").isNotBlank().doesNotContain("${");
    try (GatewayProcess p = GatewayProcess.start(List.of(), "--version")) {
      assertThat(p.awaitExit()).isEqualTo(0);
      assertThat(p.output().strip()).isEqualTo("Sluice " + projectVersion);
    }
  }

  @Test
  void helpShowsTheOperatorsOptionsOnly() throws Exception {
    try (GatewayProcess p = GatewayProcess.start(List.of(), "--help")) {
      assertThat(p.awaitExit()).isEqualTo(0);
      assertThat(p.output()).contains("--config=FILE", "--log-level=LEVEL").doesNotContain("--cds-training");
    }
  }

  @Test
  void aLogLevelThatIsNoLevelExits2() throws Exception {
    try (GatewayProcess p = GatewayProcess.start(List.of(), "--log-level", "verbose", "--demo")) {
      assertThat(p.awaitExit()).isEqualTo(2);
      assertThat(p.output()).contains("--log-level must be one of trace, debug, info, warn, error, off (got 'verbose')");
    }
  }

  @Test
  void logLevelDebugShowsWhyAnUpstreamFailed() throws Exception {
    // A socket bound but never listening holds a port that refuses connections (a connect error,
    // the 502's cause) and that no other listener can take while the test runs.
    try (Socket held = new Socket()) {
      held.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      int refused = held.getLocalPort();
      Path config = write("debug.yaml", """
          listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
          admin: { port: 0 }
          upstreams: [ { name: u, endpoints: [ { url: "http://127.0.0.1:%d" } ], retries: 0 } ]
          routes: [ { name: r, match: { path-prefix: / }, upstream: u } ]
          """.formatted(refused));
      for (boolean debug : new boolean[] {false, true}) {
        List<String> args = new ArrayList<>(List.of("--config", config.toString()));
        if (debug) {
          args.addAll(List.of("--log-level", "debug"));
        }
        try (GatewayProcess p = GatewayProcess.start(List.of(), args.toArray(String[]::new))) {
          p.awaitReady();
          HttpResponse<String> answer = HttpClient.newHttpClient().send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + "/v1/chat/completions"))
                  .POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
              HttpResponse.BodyHandlers.ofString());
          assertThat(answer.statusCode()).isEqualTo(502);
          p.terminate();
          assertThat(p.awaitExit()).isEqualTo(0);
          String cause = "connect to http://127.0.0.1:" + refused + " failed";
          if (debug) {
            assertThat(p.output()).as("--log-level debug").contains(cause);
          } else {
            assertThat(p.output()).as("the default level").doesNotContain(cause);
          }
        }
      }
    }
  }
}
