package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Streaming gzip per route: per-event flush, min-size, already-encoded bodies, Accept-Encoding. */
class CompressionTest {
  private static final String CHAT = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams:
        - name: models
          endpoints: [ { url: "${upstream}" } ]
      routes:
        - name: chat
          match: { path-prefix: /v1/chat/completions }
          upstream: models
          compression: { gzip: true, min-size: 256B }
        - name: plain
          match: { path-prefix: /v1/plain }
          upstream: models
        - name: resumable
          match: { path-prefix: /v1/resumable }
          upstream: models
          compression: { gzip: true }
          sse: { heartbeat: 0s, resume: { enabled: true } }
      """);

  private CompletableFuture<HttpResponse<InputStream>> post(String path, String acceptEncoding, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway.url(path)))
        .POST(HttpRequest.BodyPublishers.ofString(CHAT));
    if (acceptEncoding != null) {
      b.header("Accept-Encoding", acceptEncoding);
    }
    if (headers.length > 0) {
      b.headers(headers);
    }
    return HTTP.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream());
  }

  /** Reads and inflates until the decoded text ends with {@code expected}; returns all decoded so far. */
  private static String readUntil(InputStream in, IncrementalGunzip gunzip, StringBuilder seen, String expected)
      throws Exception {
    while (!seen.toString().endsWith(expected)) {
      byte[] buf = new byte[4096];
      int n = in.read(buf);
      assertThat(n).as("the stream ended before " + expected).isPositive();
      seen.append(gunzip.feed(buf, n));
    }
    return seen.toString();
  }

  /**
   * A resumed stream is compressed like a first-hand one when the resuming client accepts gzip
   * (the original client did not): the replay after {@code Last-Event-ID}, then each live event
   * decodable before the next is sent, then a whole gzip member.
   */
  @Test
  void gzipsAResumedStreamsReplayAndLiveRestForAClientThatAcceptsGzip() throws Exception {
    String id;
    FakeUpstream.Call call;
    try (RawHttp first = RawHttp.connect(gateway.port())) {
      first.post("/v1/resumable", CHAT); // no Accept-Encoding: this stream goes out plain
      call = gateway.upstream().next().startSse();
      RawHttp.Head head = first.readHead();
      assertThat(head.header("content-encoding")).isNull();
      id = head.header("x-sluice-stream-id");
      call.send("data: one\n\n");
      assertThat(first.readUntil("data: one\n\n")).isEqualTo("id: " + id + ".1\ndata: one\n\n");
    }
    call.send("data: two\n\n").send("data: three\n\n"); // while the client is away

    var pending = post("/v1/resumable", "gzip", "Last-Event-ID", id + ".1");
    HttpResponse<InputStream> response = pending.get(10, TimeUnit.SECONDS);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-encoding")).hasValue("gzip");
    assertThat(response.headers().firstValue("vary")).hasValue("accept-encoding");
    InputStream in = response.body();
    IncrementalGunzip gunzip = new IncrementalGunzip();
    StringBuilder seen = new StringBuilder();
    assertThat(readUntil(in, gunzip, seen, "data: three\n\n"))
        .isEqualTo("id: " + id + ".2\ndata: two\n\nid: " + id + ".3\ndata: three\n\n");
    // Live events: each one decodes before the next is sent (a held-back token would block here).
    call.send("data: four\n\n");
    readUntil(in, gunzip, seen, "data: four\n\n");
    call.send("data: [DONE]\n\n").end();
    byte[] rest = in.readAllBytes();
    seen.append(gunzip.feed(rest, rest.length));
    assertThat(gunzip.finished()).as("a whole gzip member, trailer included").isTrue();
    assertThat(seen.toString()).isEqualTo("id: " + id + ".2\ndata: two\n\nid: " + id + ".3\ndata: three\n\n"
        + "id: " + id + ".4\ndata: four\n\nid: " + id + ".5\ndata: [DONE]\n\n");
    assertThat(gateway.upstream().poll()).as("the model is called once").isNull();
  }

  @Test
  void aResumedStreamIsNotCompressedForAClientThatDoesNotAcceptGzip() throws Exception {
    var original = post("/v1/resumable", "gzip");
    FakeUpstream.Call call = gateway.upstream().next().startSse();
    HttpResponse<InputStream> first = original.get(10, TimeUnit.SECONDS);
    assertThat(first.headers().firstValue("content-encoding")).hasValue("gzip");
    String id = first.headers().firstValue("x-sluice-stream-id").orElseThrow();
    call.send("data: one\n\n").send("data: [DONE]\n\n").end();
    first.body().readAllBytes();

    try (RawHttp plain = RawHttp.connect(gateway.port())) {
      plain.post("/v1/resumable", CHAT, "Last-Event-ID: " + id + ".1");
      RawHttp.Head head = plain.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("content-encoding")).isNull();
      assertThat(plain.readToEnd()).isEqualTo("id: " + id + ".2\ndata: [DONE]\n\n");
      assertThat(plain.endedCleanly()).isTrue();
    }
  }

  @Test
  void gzipsAnSseStreamSoThatEachEventDecodesBeforeTheNextIsSent() throws Exception {
    var pending = post("/v1/chat/completions", "gzip, deflate");
    FakeUpstream.Call call = gateway.upstream().next().startSse();
    HttpResponse<InputStream> response = pending.get(10, TimeUnit.SECONDS);
    assertThat(response.headers().firstValue("content-encoding")).hasValue("gzip");
    assertThat(response.headers().firstValue("vary")).hasValue("accept-encoding");
    assertThat(response.headers().firstValue("content-length")).isEmpty();
    InputStream in = response.body();
    IncrementalGunzip gunzip = new IncrementalGunzip();
    StringBuilder seen = new StringBuilder();
    for (int i = 0; i < 5; i++) {
      String event = "data: {\"choices\":[{\"delta\":{\"content\":\"tok" + i + "\"}}]}\n\n";
      call.send(event);
      // The next event is sent only once this one was decompressed: a compressor that held
      // bytes back would make this read block until the test times out.
      while (!seen.toString().endsWith(event)) {
        byte[] buf = new byte[4096];
        int n = in.read(buf);
        assertThat(n).isPositive();
        seen.append(gunzip.feed(buf, n));
      }
    }
    call.send("data: [DONE]\n\n").end();
    byte[] rest = in.readAllBytes();
    seen.append(gunzip.feed(rest, rest.length));
    assertThat(gunzip.finished()).isTrue();
    assertThat(seen.toString()).endsWith("tok4\"}}]}\n\ndata: [DONE]\n\n");
  }

  @Test
  void leavesSmallBodiesAloneAndGzipsLargeOnes() throws Exception {
    var small = post("/v1/chat/completions", "gzip");
    gateway.upstream().next().respond(200, "application/json", "{\"ok\":true}");
    HttpResponse<InputStream> r1 = small.get(10, TimeUnit.SECONDS);
    assertThat(r1.headers().firstValue("content-encoding")).isEmpty();
    assertThat(new String(r1.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("{\"ok\":true}");

    String big = "{\"text\":\"" + "hello world ".repeat(100) + "\"}";
    var large = post("/v1/chat/completions", "gzip");
    gateway.upstream().next().respond(200, "application/json", big);
    HttpResponse<InputStream> r2 = large.get(10, TimeUnit.SECONDS);
    assertThat(r2.headers().firstValue("content-encoding")).hasValue("gzip");
    assertThat(new String(new GZIPInputStream(r2.body()).readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(big);
  }

  @Test
  void doesNotEncodeTwiceOrForClientsAndRoutesThatDoNotAsk() throws Exception {
    var encoded = post("/v1/chat/completions", "gzip");
    gateway.upstream().next().start(200, Map.of("content-type", "text/event-stream", "content-encoding", "br"))
        .send("not really brotli").end();
    HttpResponse<InputStream> r1 = encoded.get(10, TimeUnit.SECONDS);
    assertThat(r1.headers().allValues("content-encoding")).containsExactly("br");
    assertThat(new String(r1.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("not really brotli");

    for (String[] c : new String[][] {{"/v1/chat/completions", "identity, gzip;q=0"}, {"/v1/plain", "gzip"}}) {
      var pending = post(c[0], c[1]);
      gateway.upstream().next().startSse().send("data: x\n\n").end();
      HttpResponse<InputStream> r = pending.get(10, TimeUnit.SECONDS);
      assertThat(r.headers().firstValue("content-encoding")).isEmpty();
      assertThat(new String(r.body().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("data: x\n\n");
    }
  }

  /** Decodes a gzip member as its bytes arrive (10-byte header, raw deflate, 8-byte trailer). */
  static final class IncrementalGunzip {
    private final Inflater inflater = new Inflater(true);
    private int headerLeft = 10;

    String feed(byte[] buf, int n) throws Exception {
      int off = 0;
      int skip = Math.min(headerLeft, n);
      headerLeft -= skip;
      off += skip;
      inflater.setInput(buf, off, n - off);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] chunk = new byte[8192];
      int k;
      while ((k = inflater.inflate(chunk)) > 0) {
        out.write(chunk, 0, k);
      }
      return out.toString(StandardCharsets.UTF_8);
    }

    boolean finished() {
      return inflater.finished();
    }
  }
}
