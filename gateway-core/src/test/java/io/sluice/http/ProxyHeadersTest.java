package io.sluice.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProxyHeadersTest {

  @Test
  void removesHopByHopHeadersAndKeepsEndToEndOnes() {
    HttpHeaders h = new DefaultHttpHeaders()
        .add("Connection", "keep-alive")
        .add("Keep-Alive", "timeout=5")
        .add("Proxy-Connection", "keep-alive")
        .add("Proxy-Authenticate", "Basic")
        .add("Proxy-Authorization", "Basic Zm9vOmJhcg==")
        .add("TE", "trailers")
        .add("Trailer", "X-Checksum")
        .add("Transfer-Encoding", "chunked")
        .add("Upgrade", "h2c")
        .add("Authorization", "Bearer sk-test")
        .add("Content-Type", "application/json")
        .add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        .add("X-Request-Id", "req-1");
    ProxyHeaders.removeHopByHop(h);
    assertThat(h.names()).containsExactlyInAnyOrder(
        "Authorization", "Content-Type", "traceparent", "X-Request-Id");
  }

  @Test
  void removesTheHeadersOfNettysHttp2ConversionAndNothingElse() {
    HttpHeaders h = new DefaultHttpHeaders()
        .add("x-http2-scheme", "https")
        .add("X-Http2-Stream-Id", "3")
        .add("x-http2-path", "/v1/chat/completions")
        .add("x-http2-stream-promise-id", "2")
        .add("x-http2-stream-dependency-id", "1")
        .add("x-http2-stream-weight", "16")
        .add("x-http2-custom", "kept")
        .add("Content-Type", "application/json");
    ProxyHeaders.removeHttp2Conversion(h);
    assertThat(h.names()).containsExactlyInAnyOrder("x-http2-custom", "Content-Type");
  }

  @Test
  void removesEveryHeaderTheConnectionHeaderNames() {
    HttpHeaders h = new DefaultHttpHeaders()
        .add("Connection", "close, X-Internal-Hop ,x-debug")
        .add("Connection", "X-Second-Line")
        .add("x-internal-hop", "1")
        .add("X-Debug", "a")
        .add("X-Debug", "b")
        .add("X-Second-Line", "2")
        .add("X-Kept", "3");
    ProxyHeaders.removeHopByHop(h);
    assertThat(h.names()).containsExactly("X-Kept");
  }

  @Test
  void removesConnectionNamedHeadersAtTheEdgesOfTheListAndKeepsTheRestInOrder() {
    HttpHeaders h = new DefaultHttpHeaders()
        .add("X-First", "1")
        .add("Connection", "x-lead,x-trail,")
        .add("X-Lead", "a")
        .add("X-Middle", "2")
        .add("X-Trail", "b")
        .add("X-Last", "3");
    ProxyHeaders.removeHopByHop(h);
    assertThat(h.names()).containsExactly("X-First", "X-Middle", "X-Last");
  }

  @Test
  void toleratesEmptyConnectionTokens() {
    HttpHeaders h = new DefaultHttpHeaders().add("Connection", ",, ,").add("X-Kept", "1");
    ProxyHeaders.removeHopByHop(h);
    assertThat(h.names()).containsExactly("X-Kept");
  }

  @ParameterizedTest
  @ValueSource(strings = {"a", "req-1", "0af7651916cd43dd8448eb211c80319c", "A.b_c-D.9", "-", "..."})
  void keepsAValidRequestId(String id) {
    assertThat(ProxyHeaders.validRequestId(id)).isEqualTo(id);
  }

  @Test
  void keepsARequestIdOfExactly128Chars() {
    String id = "x".repeat(128);
    assertThat(ProxyHeaders.validRequestId(id)).isEqualTo(id);
    assertThat(ProxyHeaders.validRequestId(id + "x")).isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "has space", "semi;colon", "slash/", "quote\"", "new\nline", "tab\t",
      "émoji", "a,b", "<script>", "id:1"})
  void refusesAnInvalidRequestId(String id) {
    assertThat(ProxyHeaders.validRequestId(id)).isNull();
  }

  @Test
  void refusesAMissingRequestId() {
    assertThat(ProxyHeaders.validRequestId(null)).isNull();
  }

  @Test
  void generatesDistinctValidRequestIdsOf32HexDigits() {
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String id = ProxyHeaders.newRequestId();
      assertThat(id).matches("[0-9a-f]{32}");
      assertThat(ProxyHeaders.validRequestId(id)).isEqualTo(id);
      ids.add(id);
    }
    assertThat(ids).hasSize(1000);
  }

  @Test
  void setsXForwardedForWhenAbsent() {
    HttpHeaders h = new DefaultHttpHeaders();
    ProxyHeaders.addForwarded(h, "203.0.113.7", "https", "api.example.com");
    assertThat(h.get("X-Forwarded-For")).isEqualTo("203.0.113.7");
    assertThat(h.get("X-Forwarded-Proto")).isEqualTo("https");
    assertThat(h.get("X-Forwarded-Host")).isEqualTo("api.example.com");
  }

  @Test
  void appendsTheClientToAnExistingXForwardedFor() {
    HttpHeaders h = new DefaultHttpHeaders().add("x-forwarded-for", "198.51.100.1, 10.0.0.2");
    ProxyHeaders.addForwarded(h, "203.0.113.7", "http", "api.example.com");
    assertThat(h.getAll("X-Forwarded-For")).containsExactly("198.51.100.1, 10.0.0.2, 203.0.113.7");
  }

  @Test
  void appendsToEveryXForwardedForLineInOrder() {
    // RFC 9110 §5.3: several field lines are one comma-separated list; none may be lost.
    HttpHeaders h = new DefaultHttpHeaders()
        .add("X-Forwarded-For", "198.51.100.1")
        .add("X-Forwarded-For", "10.0.0.2, 10.0.0.3");
    ProxyHeaders.addForwarded(h, "203.0.113.7", "http", null);
    assertThat(h.getAll("X-Forwarded-For")).containsExactly("198.51.100.1, 10.0.0.2, 10.0.0.3, 203.0.113.7");
  }

  @Test
  void replacesAnEmptyXForwardedFor() {
    HttpHeaders h = new DefaultHttpHeaders().add("X-Forwarded-For", "");
    ProxyHeaders.addForwarded(h, "203.0.113.7", "http", null);
    assertThat(h.getAll("X-Forwarded-For")).containsExactly("203.0.113.7");
  }

  @Test
  void replacesClientSuppliedProtoAndHost() {
    HttpHeaders h = new DefaultHttpHeaders()
        .add("X-Forwarded-Proto", "https")
        .add("X-Forwarded-Host", "spoofed.example")
        .add("X-Forwarded-Host", "spoofed2.example");
    ProxyHeaders.addForwarded(h, "2001:db8::1", "http", "api.example.com");
    assertThat(h.getAll("X-Forwarded-Proto")).containsExactly("http");
    assertThat(h.getAll("X-Forwarded-Host")).containsExactly("api.example.com");
    assertThat(h.get("X-Forwarded-For")).isEqualTo("2001:db8::1");
  }

  @Test
  void dropsAClientSuppliedXForwardedHostWhenTheRequestHadNoHost() {
    HttpHeaders h = new DefaultHttpHeaders().add("X-Forwarded-Host", "spoofed.example");
    ProxyHeaders.addForwarded(h, "203.0.113.7", "http", null);
    assertThat(h.contains("X-Forwarded-Host")).isFalse();
  }
}
