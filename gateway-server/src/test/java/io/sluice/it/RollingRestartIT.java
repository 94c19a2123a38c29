package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayProcess;
import io.sluice.testing.RawHttp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rolling restart of one instance of two, under streaming load, loses no stream: the stopping
 * instance finishes its streams within the drain timeout while new requests go to the other.
 */
class RollingRestartIT {
  @TempDir Path dir;

  @Test
  void stoppingOneOfTwoInstancesLosesNoStream() throws Exception {
    try (FakeUpstream upstream = FakeUpstream.start()) {
      Path config = dir.resolve("gateway.yaml");
      Files.writeString(config, """
          listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
          admin: { port: 0 }
          shutdown: { drain-timeout: 30s }
          upstreams: [ { name: u, endpoints: [ { url: "%s" } ] } ]
          routes: [ { name: chat, match: { path-prefix: /v1/ }, upstream: u } ]
          """.formatted(upstream.url()));
      try (GatewayProcess a = GatewayProcess.start(List.of(), "--config", config.toString()).awaitReady();
          GatewayProcess b = GatewayProcess.start(List.of(), "--config", config.toString()).awaitReady()) {
        int perInstance = 10;
        List<RawHttp> clients = new ArrayList<>();
        List<FakeUpstream.Call> calls = new ArrayList<>();
        try {
          for (GatewayProcess g : List.of(a, b)) {
            for (int i = 0; i < perInstance; i++) {
              RawHttp c = RawHttp.connect(g.port());
              clients.add(c);
              c.post("/v1/chat/completions", "{}");
              calls.add(upstream.next().startSse().send("data: first\n\n"));
              c.readHead();
              assertThat(c.readUntil("\n\n")).isEqualTo("data: first\n\n");
            }
          }
          a.terminate(); // instance A goes away mid-stream, as in a rolling restart

          // A client that reconnects is served by B (a balancer would route it there).
          RawHttp retry = connectToFirstAccepting(a.port(), b.port());
          clients.add(retry);
          retry.post("/v1/chat/completions", "{}");
          upstream.next().respond(200, "application/json", "{\"ok\":true}");
          assertThat(retry.readHead().status()).isEqualTo(200);

          // Every stream, on A and on B, runs to its clean end.
          for (int i = 0; i < calls.size(); i++) {
            calls.get(i).send("data: last\n\n").send("data: [DONE]\n\n").end();
            assertThat(clients.get(i).readToEnd()).isEqualTo("data: last\n\ndata: [DONE]\n\n");
            assertThat(clients.get(i).endedCleanly()).isTrue();
          }
          assertThat(a.awaitExit()).isEqualTo(0);
          assertThat(b.isAlive()).isTrue();
        } finally {
          for (RawHttp c : clients) {
            c.close();
          }
        }
      }
    }
  }

  /** The stopped instance refuses new connections once its listener is closed. */
  private static RawHttp connectToFirstAccepting(int stopping, int other) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      try (RawHttp probe = RawHttp.connect(stopping)) {
        Thread.sleep(20); // polling (connect only, no request) until instance A stopped accepting
      } catch (IOException refused) {
        return RawHttp.connect(other);
      }
    }
    throw new AssertionError("the stopping instance kept accepting connections");
  }
}
