package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.SystemBinary;
import io.sluice.testing.TestGateway;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The acceptance test: a browser-grade EventSource client (the {@code eventsource} npm
 * package, installed by {@code .ci/run}) loses its connection mid-stream, reconnects on its own
 * with {@code Last-Event-ID}, and gets every token exactly once — without the model being called
 * again.
 */
class EventSourceResumeTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path CLIENTS = Path.of("src/test/node");

  @Test
  void anEventSourceThatLosesItsConnectionGetsEveryTokenExactlyOnce() throws Exception {
    Path node = SystemBinary.require("node");
    if (!Files.isDirectory(CLIENTS.resolve("node_modules/eventsource"))) {
      if ("true".equals(System.getenv("CI"))) {
        fail("the eventsource package is not installed: .ci/run must run npm ci in " + CLIENTS);
      }
      Assumptions.abort("run `npm ci --prefix " + CLIENTS + "` to include this test");
    }
    try (FakeUpstream upstream = FakeUpstream.start();
        TestGateway gateway = TestGateway.start("""
            upstreams: [ { name: models, endpoints: [ { url: "%s" } ] } ]
            routes:
              - name: events
                match: { path-prefix: /v1/events, methods: [GET] }
                upstream: models
                sse: { heartbeat: 0s, resume: { enabled: true } }
            """.formatted(upstream.url()));
        CuttableTcpRelay relay = new CuttableTcpRelay(gateway.port())) {
      Process client = new ProcessBuilder(node.toString(), CLIENTS.resolve("eventsource-client.mjs").toString(),
          "http://127.0.0.1:" + relay.port() + "/v1/events").redirectErrorStream(true).start();
      try {
        BufferedReader out = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
        FakeUpstream.Call call = upstream.next().startSse();
        assertThat(next(out).has("open")).isTrue();
        call.send("retry: 50\n\n"); // reconnect quickly (the default is 3 s)
        call.send("data: tok-1\n\n").send("data: tok-2\n\n");
        List<String> tokens = new ArrayList<>();
        tokens.add(next(out).get("data").asText());
        tokens.add(next(out).get("data").asText());

        relay.cut(); // the network drops the connection mid-stream
        assertThat(next(out).has("error")).isTrue();
        call.send("data: tok-3\n\n"); // generated while the client is away
        assertThat(next(out).has("open")).as("EventSource reconnects by itself").isTrue();
        call.send("data: tok-4\n\n").send("data: [DONE]\n\n").end();
        JsonNode event;
        do {
          event = next(out);
          tokens.add(event.get("data").asText());
        } while (!event.get("data").asText().equals("[DONE]"));
        assertThat(tokens).containsExactly("tok-1", "tok-2", "tok-3", "tok-4", "[DONE]");
        assertThat(event.get("id").asText()).endsWith(".5");
        assertThat(client.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(upstream.poll()).as("the model is called once").isNull();
      } finally {
        client.destroyForcibly();
      }
    }
  }

  private static JsonNode next(BufferedReader out) throws IOException {
    String line = out.readLine();
    if (line == null) {
      throw new AssertionError("the EventSource client exited");
    }
    return JSON.readTree(line);
  }

  /** A TCP relay to the gateway whose current connection the test can cut, like a network drop. */
  private static final class CuttableTcpRelay implements AutoCloseable {
    private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    private final int target;
    private final List<Socket> open = new ArrayList<>();
    private final Thread acceptor;

    CuttableTcpRelay(int target) throws IOException {
      this.target = target;
      acceptor = new Thread(this::accept, "relay-accept");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return server.getLocalPort();
    }

    private void accept() {
      while (!server.isClosed()) {
        try {
          Socket client = server.accept();
          Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
          synchronized (open) {
            open.add(client);
            open.add(upstream);
          }
          pump(client.getInputStream(), upstream.getOutputStream());
          pump(upstream.getInputStream(), client.getOutputStream());
        } catch (IOException closed) {
          return;
        }
      }
    }

    private static void pump(InputStream in, OutputStream out) {
      Thread t = new Thread(() -> {
        byte[] buf = new byte[8192];
        try {
          int n;
          while ((n = in.read(buf)) >= 0) {
            out.write(buf, 0, n);
            out.flush();
          }
        } catch (IOException cut) {
          // the relay was cut
        }
        try {
          out.close();
        } catch (IOException ignored) {
          // already closed
        }
      }, "relay-pump");
      t.setDaemon(true);
      t.start();
    }

    /** Drops every connection relayed so far (both sides). */
    void cut() throws IOException {
      synchronized (open) {
        for (Socket s : open) {
          s.close();
        }
        open.clear();
      }
    }

    @Override
    public void close() throws IOException {
      server.close();
      cut();
    }
  }
}
