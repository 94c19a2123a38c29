package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayProcess;
import io.sluice.testing.RawHttp;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SIGTERM on the packaged jar: running streams finish or end with an error event, then exit 0. */
class DrainIT {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  @TempDir Path dir;

  private GatewayProcess start(FakeUpstream upstream, String drainTimeout) throws Exception {
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(config, """
        listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
        admin: { port: 0 }
        shutdown: { drain-timeout: %s }
        upstreams: [ { name: u, endpoints: [ { url: "%s" } ] } ]
        routes: [ { name: chat, match: { path-prefix: /v1/ }, upstream: u } ]
        """.formatted(drainTimeout, upstream.url()));
    return GatewayProcess.start(List.of(), "--config", config.toString()).awaitReady();
  }

  private static int readyz(GatewayProcess p) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.adminPort() + "/readyz")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  void aRunningStreamFinishesAfterSigtermAndTheProcessExits0() throws Exception {
    try (FakeUpstream upstream = FakeUpstream.start();
        GatewayProcess gateway = start(upstream, "30s");
        RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{}");
      FakeUpstream.Call call = upstream.next().startSse().send("data: 1\n\n");
      client.readHead();
      assertThat(client.readUntil("\n\n")).isEqualTo("data: 1\n\n");

      gateway.terminate();
      // Draining: not ready, no new connections, but the stream goes on.
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (readyz(gateway) != 503 && System.nanoTime() < deadline) {
        Thread.sleep(20); // polling until the signal was handled
      }
      assertThat(readyz(gateway)).isEqualTo(503);
      assertThatThrownBy(() -> RawHttp.connect(gateway.port()).post("/v1/x", "{}").readHead())
          .isInstanceOf(IOException.class);
      call.send("data: 2\n\n").send("data: [DONE]\n\n").end();
      assertThat(client.readToEnd()).isEqualTo("data: 2\n\ndata: [DONE]\n\n");
      assertThat(client.endedCleanly()).isTrue();
      assertThat(gateway.awaitExit()).isEqualTo(0);
    }
  }

  @Test
  void aStreamStillRunningAtTheDrainTimeoutGetsADrainingErrorEvent() throws Exception {
    try (FakeUpstream upstream = FakeUpstream.start();
        GatewayProcess gateway = start(upstream, "500ms");
        RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{}");
      upstream.next().startSse().send("data: 1\n\n");
      client.readHead();
      client.readUntil("\n\n");
      gateway.terminate();
      String rest = client.readToEnd();
      assertThat(rest).startsWith("event: error\n").contains("\"code\":\"draining\"");
      assertThat(client.endedCleanly()).as("never a silent cut").isTrue();
      assertThat(gateway.awaitExit()).isEqualTo(0);
    }
  }
}
