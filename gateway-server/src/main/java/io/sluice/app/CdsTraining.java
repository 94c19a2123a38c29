package io.sluice.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.demo.MockModelServer;
import io.sluice.plugin.PluginRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/**
 * {@code --cds-training}: the run from which the build records the AppCDS archive
 * ({@code java -XX:ArchiveClassesAtExit=gateway.jsa -jar gateway.jar --cds-training}).
 *
 * <p>Why: pinned to one core, most of a cold start is loading and verifying classes from the
 * shaded jar. The JVM can map the classes one run loaded from an archive instead, so the run that
 * records it should load what a real start and its first requests load: it starts the mock model
 * server and a gateway on loopback (ephemeral ports) from a config file — so config loading,
 * validation and the file watcher are on the path, as in {@code --config} — with the shipped
 * example's routes plus the common plugins, then sends a streamed chat completion, a
 * {@code /v1/models}, a request a plugin refuses, and {@code /readyz} and {@code /metrics} to the
 * admin listener, then streams {@value #HOT_REQUESTS} chat completions of {@value #HOT_TOKENS}
 * tokens through the chat route ({@value #HOT_CLIENTS} at a time), and exits. Classes a given
 * start does not use cost nothing but a little of the mapped file.
 *
 * <p>Why the streamed requests: the same run also records Java 25's AOT cache
 * ({@code -XX:AOTCacheOutput=gateway.aot}, gateway-server/docs/startup.md, "Warm-up"), which keeps
 * the method profiles of the training next to the classes, so that the JIT of a fresh gateway
 * compiles the per-event path early. A handful of requests profiles start-up only; a few hundred
 * profile the relay as it runs under load. They make the run (and so {@code mvn package}) a few
 * seconds longer: the whole recording took 6 s on the 2-core VM of 2026-12-07, 23 s while other
 * builds loaded it.
 *
 * <p>Failure: any answer other than the expected status ends the run with an exception (exit 1),
 * so a build whose gateway cannot serve does not ship an archive of a broken start.
 */
final class CdsTraining {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  static final int HOT_REQUESTS = 400;
  static final int HOT_TOKENS = 100;
  static final int HOT_CLIENTS = 4;

  private CdsTraining() {}

  static String config(int mockPort) {
    return """
        listeners:
          - { name: public, host: 127.0.0.1, port: 0 }
        admin: { host: 127.0.0.1, port: 0 }
        consumers:
          - { name: training, api-keys: [ "${SLUICE_TRAINING_KEY}" ] }
        upstreams:
          - name: mock
            endpoints: [ { url: "http://127.0.0.1:%1$d" } ]
            health-check: { path: /health, interval: 5s, timeout: 2s }
          - name: mock-least-requests
            endpoints: [ { url: "http://127.0.0.1:%1$d" } ]
            balancer: least-requests
            health-check: { path: /health, interval: 5s, timeout: 2s }
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: mock
            response-headers: { remove: [server] }
            sse: { resume: { enabled: true }, long-poll: { enabled: true } }
          - name: models
            match: { path: /v1/models, methods: [GET] }
            upstream: mock
          - name: guarded
            match: { path-prefix: /guarded/v1/chat/completions, methods: [POST] }
            upstream: mock-least-requests
            rewrite-path: /v1/chat/completions
            plugins:
              ip-restriction: { allow: [127.0.0.0/8] }
              key-auth: {}
              rate-limit: { limit-by: ip, requests-per-second: 1000, burst: 1000 }
              ai-token-ratelimit:
                rules: [ { limit-by: consumer, tokens-per-minute: 1000000 } ]
          - name: realtime
            match: { path: /v1/realtime }
            upstream: mock
            websocket: { enabled: true }
        """.formatted(mockPort);
  }

  static int run() throws Exception {
    Path dir = Files.createTempDirectory("sluice-cds-training");
    Path file = dir.resolve("gateway.yaml");
    try (MockModelServer mock = MockModelServer.start("127.0.0.1", 0,
        new MockModelServer.Options(Duration.ZERO, "Training the class archive"))) {
      Files.writeString(file, config(mock.port()));
      ConfigLoader loader = new ConfigLoader(Map.of("SLUICE_TRAINING_KEY", "training-key-not-a-secret")::get,
          PluginRegistry.load());
      GatewayConfig config = loader.load(file);
      try (Sluice sluice = Sluice.start(config, file, loader)) {
        sluice.watchConfig(Main.RELOAD_DEBOUNCE);
        int port = sluice.port("public");
        String chat = "{\"model\":\"sluice-mock-1\",\"stream\":true,\"max_tokens\":8,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
        expect(200, port, post("/v1/chat/completions", chat, ""));
        expect(200, port, get("/v1/models"));
        expect(401, port, post("/guarded/v1/chat/completions", chat, ""));
        expect(200, port, post("/guarded/v1/chat/completions", chat,
            "Authorization: Bearer training-key-not-a-secret\r\n"));
        expect(404, port, get("/nowhere"));
        expect(200, sluice.adminPort(), get("/readyz"));
        expect(200, sluice.adminPort(), get("/metrics"));
        streamHotPath(port);
        sluice.drain();
      }
    } finally {
      Files.deleteIfExists(file);
      Files.deleteIfExists(dir);
    }
    encodeOneJsonLogLine();
    LoggerFactory.getLogger(CdsTraining.class).info("CDS training run done");
    return Main.OK;
  }

  /**
   * The per-event path under a little load: {@link #HOT_CLIENTS} threads, each sending its share
   * of {@link #HOT_REQUESTS} streamed completions one after the other. A failed request fails the
   * run, like every other request of the training.
   */
  private static void streamHotPath(int port) throws Exception {
    String chat = "{\"model\":\"sluice-mock-1\",\"stream\":true,\"max_tokens\":" + HOT_TOKENS
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story about a river.\"}]}";
    String request = post("/v1/chat/completions", chat, "");
    ExecutorService clients = Executors.newFixedThreadPool(HOT_CLIENTS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < HOT_CLIENTS; c++) {
        done.add(clients.submit(() -> {
          for (int i = 0; i < HOT_REQUESTS / HOT_CLIENTS; i++) {
            expect(200, port, request);
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(TIMEOUT.toSeconds() * 6, TimeUnit.SECONDS);
      }
    } finally {
      clients.shutdownNow();
    }
  }

  /** The image logs JSON ({@code --log-format json}): its encoder belongs in the archive too. */
  private static void encodeOneJsonLogLine() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    var encoder = LoggingConfigurator.jsonEncoder(context);
    encoder.encode(new LoggingEvent(CdsTraining.class.getName(), context.getLogger(CdsTraining.class),
        Level.INFO, "encoded, not printed", null, null));
    encoder.stop();
  }

  private static String get(String path) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  }

  private static String post(String path, String body, String headers) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers
        + "Content-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n" + body;
  }

  /**
   * Sends one request on its own connection ({@code Connection: close}) and reads the answer to
   * its end. A plain socket, so the training loads no HTTP client the gateway itself never uses.
   */
  private static void expect(int status, int port, String request) throws IOException {
    String response;
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      socket.setSoTimeout((int) TIMEOUT.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = socket.getInputStream();
      response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    String expected = "HTTP/1.1 " + status + " ";
    if (!response.startsWith(expected)) {
      String first = response.lines().findFirst().orElse("(no answer)");
      throw new IOException("CDS training: " + request.lines().findFirst().orElseThrow() + " answered '" + first
          + "', expected " + status);
    }
  }
}
