package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Hot reload over real sockets: streams in flight keep their snapshot, new requests take the new one. */
class ReloadTest {
  private static final String CHAT = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}";
  @TempDir Path dir;
  private Path file;

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstreams("first", "second");

  @BeforeEach
  void start() throws Exception {
    // A gateway that reads a file: the config names the first fake until the test rewrites it.
    file = dir.resolve("gateway.yaml");
    Files.writeString(file, config(first().url(), ""));
    gateway.startFromFile(file);
  }

  private FakeUpstream first() {
    return gateway.upstream("first");
  }

  private FakeUpstream second() {
    return gateway.upstream("second");
  }

  private static String config(String chatUpstream, String extraRoutes) {
    return """
        listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
        admin: { host: 127.0.0.1, port: 0 }
        upstreams: [ { name: models, endpoints: [ { url: "%s" } ] } ]
        routes:
          - { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models }
        %s""".formatted(chatUpstream, extraRoutes);
  }

  @Test
  void reloadKeepsRunningStreamsAndRoutesNewRequestsByTheNewConfig() throws Exception {
    int streams = 100;
    List<RawHttp> clients = new ArrayList<>();
    List<FakeUpstream.Call> calls = new ArrayList<>();
    try {
      for (int i = 0; i < streams; i++) {
        RawHttp client = RawHttp.connect(gateway.port());
        clients.add(client);
        client.post("/v1/chat/completions", CHAT);
        calls.add(first().next().startSse().send("data: before\n\n"));
        client.readHead();
        assertThat(client.readUntil("\n\n")).isEqualTo("data: before\n\n");
      }

      Files.writeString(file, config(second().url(),
          "  - { name: models-list, match: { path: /v1/models }, upstream: models }\n"));
      HttpResponse<String> reload = gateway.adminPost("/admin/reload");
      assertThat(reload.statusCode()).isEqualTo(200);
      assertThat(reload.body()).contains("\"applied\"");

      // Every stream that started before the reload runs on to its clean end.
      for (int i = 0; i < streams; i++) {
        calls.get(i).send("data: after\n\n").send("data: [DONE]\n\n").end();
        assertThat(clients.get(i).readToEnd()).isEqualTo("data: after\n\ndata: [DONE]\n\n");
        assertThat(clients.get(i).endedCleanly()).isTrue();
      }
      // New requests take the new config: the chat route now goes to the second upstream,
      // and the added route exists.
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.post("/v1/chat/completions", CHAT);
        second().next().respond(200, "application/json", "{\"ok\":true}");
        assertThat(client.readHead().status()).isEqualTo(200);
      }
      try (RawHttp client = RawHttp.connect(gateway.port())) {
        client.send("GET /v1/models HTTP/1.1\r\nHost: gw\r\n\r\n");
        second().next().respond(200, "application/json", "{\"data\":[]}");
        assertThat(client.readHead().status()).isEqualTo(200);
      }
      assertThat(first().poll()).as("nothing new reaches the old upstream").isNull();
    } finally {
      for (RawHttp c : clients) {
        c.close();
      }
    }
  }

  @Test
  void rejectsABadConfigWithItsErrorsAndKeepsServing() throws Exception {
    Files.writeString(file, config(first().url(), "").replace("upstream: models", "upstream: nowhere"));
    HttpResponse<String> reload = gateway.adminPost("/admin/reload");
    assertThat(reload.statusCode()).isEqualTo(400);
    assertThat(reload.body()).contains("\"rejected\"")
        .contains("routes[0].upstream: 'nowhere' is not defined (expected one of: models)");
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", CHAT);
      first().next().respond(200, "application/json", "{}");
      assertThat(client.readHead().status()).isEqualTo(200);
    }
  }

  @Test
  void reloadsWhenTheConfigFolderChanges() throws Exception {
    gateway.sluice().watchConfig(Duration.ofMillis(50));
    Files.writeString(file, config(first().url(),
        "  - { name: watched, match: { path: /v1/models }, upstream: models }\n"));
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    String routes = "";
    while (System.nanoTime() < deadline && !routes.contains("watched")) {
      Thread.sleep(50); // polling the admin API until the watcher's reload shows
      routes = gateway.admin("/admin/routes").body();
    }
    assertThat(routes).contains("\"watched\"");
  }
}
