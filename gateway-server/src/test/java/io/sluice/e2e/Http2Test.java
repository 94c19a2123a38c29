package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.SystemBinary;
import io.sluice.testing.TestPki;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** HTTP/2 downstream: ALPN h2 on TLS, h2c with prior knowledge, many SSE streams on one connection. */
class Http2Test {
  private static final String CHAT = "{\"model\":\"m\",\"stream\":true,\"messages\":[]}";
  @TempDir Path dir;
  private final TestPki pki = TestPki.create("H2 Test CA");
  private TestPki.Files2 files;

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  @BeforeEach
  void start() throws Exception {
    // The listener's certificate files are made in the test's @TempDir, so the config is made here.
    files = pki.issue("gateway.test").write(dir, "server");
    gateway.start("""
        listeners:
          - name: public
            host: 127.0.0.1
            port: 0
            tls: { certificate: "%s", private-key: "%s" }
          - name: h2c
            host: 127.0.0.1
            port: 0
            http2: true
        limits: { max-connections-per-ip: 2 }
        upstreams:
          - name: models
            endpoints: [ { url: "${upstream}" } ]
            max-connections-per-endpoint: 200
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: models
            compression: { gzip: true }
        """.formatted(files.certificate(), files.key()));
  }

  private HttpClient h2Client() {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).sslContext(pki.clientContext()).build();
  }

  private HttpRequest chat() {
    return HttpRequest.newBuilder(URI.create("https://localhost:" + gateway.port() + "/v1/chat/completions"))
        .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build();
  }

  @Test
  void streamsEachSseEventOverH2BeforeTheNextIsSent() throws Exception {
    var pending = h2Client().sendAsync(chat(), HttpResponse.BodyHandlers.ofInputStream());
    FakeUpstream.Call call = gateway.upstream().next().startSse();
    assertThat(call.headers.get("x-forwarded-proto")).isEqualTo("https");
    HttpResponse<InputStream> response = pending.get(10, TimeUnit.SECONDS);
    assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(response.headers().firstValue("x-request-id")).isPresent();
    BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
    for (int i = 0; i < 5; i++) {
      call.send("data: tok" + i + "\n\n");
      assertThat(lines.readLine()).isEqualTo("data: tok" + i);
      assertThat(lines.readLine()).isEmpty();
    }
    call.send("data: [DONE]\n\n").end();
    assertThat(lines.readLine()).isEqualTo("data: [DONE]");
  }

  @Test
  void carriesOneHundredConcurrentSseStreamsOnOneConnection() throws Exception {
    HttpClient client = h2Client();
    // Open the connection first, so that all requests share it (max-connections-per-ip: 2 would
    // refuse a client that opened one per stream).
    var first = client.sendAsync(chat(), HttpResponse.BodyHandlers.ofString());
    gateway.upstream().next().startSse().send("data: warm\n\n").end();
    assertThat(first.get(10, TimeUnit.SECONDS).body()).isEqualTo("data: warm\n\n");

    List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      responses.add(client.sendAsync(chat(), HttpResponse.BodyHandlers.ofString()));
    }
    List<FakeUpstream.Call> calls = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      calls.add(gateway.upstream().next().startSse()); // all 100 are open at once upstream
    }
    for (int i = 0; i < calls.size(); i++) {
      calls.get(i).send("data: " + i + "\n\n");
    }
    for (int i = 0; i < calls.size(); i++) {
      calls.get(i).send("data: [DONE]\n\n").end();
    }
    Set<String> bodies = new HashSet<>();
    for (var r : responses) {
      HttpResponse<String> response = r.get(20, TimeUnit.SECONDS);
      assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
      assertThat(response.statusCode()).isEqualTo(200);
      bodies.add(response.body());
    }
    assertThat(bodies).hasSize(100).allMatch(b -> b.matches("data: [0-9]+\n\ndata: \\[DONE]\n\n"));
  }

  @Test
  void answersGatewayErrorsOnH2Streams() throws Exception {
    HttpResponse<String> r = h2Client().send(HttpRequest.newBuilder(
        URI.create("https://localhost:" + gateway.port() + "/nope")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).contains("\"code\":\"route_not_found\"");
  }

  @Test
  void curlStreamsOverH2WithTls13AndGzip() throws Exception {
    Path ca = pki.writeCa(dir.resolve("ca.pem"));
    Process curl = curl("-sS", "-N", "--http2", "--tlsv1.3", "--compressed", "--cacert", ca.toString(),
        "-w", "\\n%{http_version} %{response_code}", "-H", "Content-Type: application/json", "-d", CHAT,
        "https://localhost:" + gateway.port() + "/v1/chat/completions");
    FakeUpstream.Call call = gateway.upstream().next();
    assertThat(call.headers.get("x-forwarded-proto")).isEqualTo("https");
    call.startSse().send("data: a\n\n").send("data: b\n\n").end();
    assertThat(curl.waitFor(10, TimeUnit.SECONDS)).isTrue();
    String out = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(out).isEqualTo("data: a\n\ndata: b\n\n\n2 200");
  }

  @Test
  void speaksH2cWithPriorKnowledgeAndHttp11OnTheSamePlaintextListener() throws Exception {
    int port = gateway.sluice().port("h2c");
    Process h2c = curl("-sS", "--http2-prior-knowledge", "-w", "\\n%{http_version}", "-d", CHAT,
        "http://127.0.0.1:" + port + "/v1/chat/completions");
    gateway.upstream().next().startSse().send("data: x\n\n").end();
    assertThat(h2c.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(new String(h2c.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("data: x\n\n\n2");

    Process h1 = curl("-sS", "--http1.1", "-w", "\\n%{http_version}", "-d", CHAT,
        "http://127.0.0.1:" + port + "/v1/chat/completions");
    gateway.upstream().next().startSse().send("data: y\n\n").end();
    assertThat(h1.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(new String(h1.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("data: y\n\n\n1.1");
  }

  /**
   * Netty's HTTP/2-to-HTTP/1.1 conversion leaves its notes in the request's headers
   * ({@code x-http2-scheme}, {@code x-http2-stream-id}, …): the gateway's internals, never the
   * upstream's business. On h2 (TLS + ALPN) here, on h2c below.
   */
  @Test
  void forwardsNoHttp2ConversionHeadersFromAnH2Request() throws Exception {
    var pending = h2Client().sendAsync(chat(), HttpResponse.BodyHandlers.ofString());
    FakeUpstream.Call call = gateway.upstream().next();
    assertThat(call.headers.names()).noneMatch(name -> name.toLowerCase(Locale.ROOT).startsWith("x-http2-"));
    assertThat(call.headers.get("x-forwarded-proto")).isEqualTo("https");
    call.startSse().send("data: a\n\n").end();
    HttpResponse<String> response = pending.get(10, TimeUnit.SECONDS);
    assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
    assertThat(response.body()).isEqualTo("data: a\n\n");
  }

  @Test
  void forwardsNoHttp2ConversionHeadersFromAnH2cRequest() throws Exception {
    Process h2c = curl("-sS", "--http2-prior-knowledge", "-w", "\\n%{http_version}", "-d", CHAT,
        "http://127.0.0.1:" + gateway.sluice().port("h2c") + "/v1/chat/completions");
    FakeUpstream.Call call = gateway.upstream().next();
    assertThat(call.headers.names()).noneMatch(name -> name.toLowerCase(Locale.ROOT).startsWith("x-http2-"));
    assertThat(call.headers.get("x-forwarded-proto")).isEqualTo("http");
    call.startSse().send("data: b\n\n").end();
    assertThat(h2c.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(new String(h2c.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("data: b\n\n\n2");
  }

  private static Process curl(String... args) throws Exception {
    Path curl = SystemBinary.require("curl");
    List<String> cmd = new ArrayList<>(List.of(curl.toString()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }
}
