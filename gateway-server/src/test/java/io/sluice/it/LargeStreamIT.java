package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayProcess;
import io.sluice.testing.RawHttp;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory per stream is bounded whatever the stream's length: the packaged gateway, started with
 * a 64 MiB heap and 64 MiB of direct memory, relays a 1 GiB SSE response, and holds a stream whose
 * client stopped reading without buffering what the upstream offers. Runs in its own JVM without
 * paranoid leak detection (it would track a million buffers).
 */
class LargeStreamIT {
  private static final long GIB = 1024L * 1024 * 1024;
  private static final List<String> SMALL_JVM = List.of("-Xmx64m", "-XX:MaxDirectMemorySize=64m");
  private static final Pattern DIRECT_USED = Pattern.compile(
      "netty_allocator_memory_used\\{[^}]*memory_type=\"direct\"[^}]*} ([0-9.eE+]+)");

  @TempDir static Path dir;
  static FakeUpstream upstream;
  static GatewayProcess gateway;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    upstream = FakeUpstream.start();
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(config, """
        listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]
        admin: { port: 0 }
        upstreams: [ { name: big, endpoints: [ { url: "%s" } ] } ]
        routes: [ { name: stream, match: { path-prefix: /v1/ }, upstream: big } ]
        """.formatted(upstream.url()));
    gateway = GatewayProcess.start(SMALL_JVM, "--config", config.toString()).awaitReady();
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.terminate();
      gateway.awaitExit();
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  @Test
  void relaysAOneGibibyteStreamThroughA64MiBHeap() throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + "/v1/stream"))
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build();
    CompletableFuture<HttpResponse<InputStream>> response =
        HTTP.sendAsync(request, HttpResponse.BodyHandlers.ofInputStream());
    FakeUpstream.Call call = upstream.next().startSse();
    Future<Void> flood = call.flood(GIB, 16 * 1024);
    long received = 0;
    try (InputStream body = response.get(30, TimeUnit.SECONDS).body()) {
      byte[] buf = new byte[256 * 1024];
      int n;
      while ((n = body.read(buf)) >= 0) {
        received += n;
      }
    }
    flood.get(60, TimeUnit.SECONDS);
    assertThat(received).isEqualTo(call.bytesWritten()).isGreaterThanOrEqualTo(GIB);
    assertThat(gateway.isAlive()).isTrue();
    assertThat(directMemoryUsed()).isLessThan(16L * 1024 * 1024);
  }

  @Test
  void holdsAStalledClientWithoutBufferingWhatTheUpstreamOffers() throws Exception {
    long offered = 256L * 1024 * 1024;
    try (RawHttp client = RawHttp.connectSmallBuffer(gateway.port(), 64 * 1024)) {
      client.post("/v1/stream", "{}");
      FakeUpstream.Call call = upstream.next().startSse();
      client.readHead();
      CompletableFuture<Void> flood = call.flood(offered, 4096);
      long settled = awaitPlateau(call);
      long direct = directMemoryUsed();
      assertThat(settled).as("the upstream read is paused").isLessThan(16L * 1024 * 1024);
      assertThat(flood).isNotDone();
      assertThat(direct).as("memory Netty's allocator holds").isLessThan(16L * 1024 * 1024);
      System.out.printf("stalled client: upstream wrote %d KiB of %d MiB offered; gateway direct memory %d KiB%n",
          settled / 1024, offered / (1024 * 1024), direct / 1024);
    }
  }

  private static long awaitPlateau(FakeUpstream.Call call) throws InterruptedException {
    long last = -1;
    int stable = 0;
    for (int i = 0; i < 300 && stable < 5; i++) {
      Thread.sleep(100); // polling a measurement until it stops changing
      long now = call.bytesWritten();
      stable = now == last ? stable + 1 : 0;
      last = now;
    }
    assertThat(stable).as("upstream writes stopped growing").isGreaterThanOrEqualTo(5);
    return last;
  }

  private static long directMemoryUsed() throws Exception {
    String metrics = HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + gateway.adminPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    Matcher m = DIRECT_USED.matcher(metrics);
    assertThat(m.find()).as("netty allocator metric in /metrics").isTrue();
    return (long) Double.parseDouble(m.group(1));
  }
}
