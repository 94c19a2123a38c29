package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The client address over real sockets: the PROXY protocol and trusted X-Forwarded-For. */
class ClientIdentityTest {
  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream();

  private static String config(String listener) {
    return """
        listeners: [ %s ]
        upstreams: [ { name: u, endpoints: [ { url: "${upstream}" } ] } ]
        routes: [ { name: r, match: { path-prefix: / }, upstream: u } ]
        """.formatted(listener);
  }

  @Test
  void takesTheClientAddressFromAProxyProtocolHeader() throws Exception {
    gateway.start(config("{ name: public, host: 127.0.0.1, port: 0, proxy-protocol: true }"));
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("PROXY TCP4 203.0.113.7 127.0.0.1 56324 443\r\n"
          + "GET /v1/models HTTP/1.1\r\nHost: gw\r\n\r\n");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.headers.get("x-forwarded-for")).isEqualTo("203.0.113.7");
      call.respond(200, "application/json", "{}");
      assertThat(client.readHead().status()).isEqualTo(200);
    }
  }

  /** The peer's text is made once per connection (ConnectionHandler.peer): every request on it names the PROXY source. */
  @Test
  void everyRequestOnAProxiedConnectionNamesTheProxySource() throws Exception {
    gateway.start(config("{ name: public, host: 127.0.0.1, port: 0, proxy-protocol: true }"));
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("PROXY TCP4 203.0.113.7 127.0.0.1 56324 443\r\n");
      for (String forwarded : new String[] {"", "X-Forwarded-For: 198.51.100.4\r\n", ""}) {
        client.send("GET /v1/models HTTP/1.1\r\nHost: gw\r\n" + forwarded + "\r\n");
        FakeUpstream.Call call = gateway.upstream().next();
        assertThat(call.headers.get("x-forwarded-for"))
            .isEqualTo(forwarded.isEmpty() ? "203.0.113.7" : "198.51.100.4, 203.0.113.7");
        call.respond(200, "application/json", "{}");
        assertThat(client.readHead().status()).isEqualTo(200);
        assertThat(client.readToEnd()).isEqualTo("{}");
      }
      assertThat(gateway.upstream().poll()).isNull();
    }
  }

  @Test
  void refusesAConnectionWithoutItsProxyProtocolHeader() throws Exception {
    gateway.start(config("{ name: public, host: 127.0.0.1, port: 0, proxy-protocol: true }"));
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /v1/models HTTP/1.1\r\nHost: gw\r\n\r\n");
      assertThat(client.closedByPeer()).isTrue();
      assertThat(gateway.upstream().connections()).isZero();
    }
  }

  @Test
  void appendsThePeerNotTheClientToForwardedFor() throws Exception {
    gateway.start(config("{ name: public, host: 127.0.0.1, port: 0, trusted-proxies: [127.0.0.0/8] }"));
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /v1/models HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: 198.51.100.4\r\n\r\n");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.headers.get("x-forwarded-for")).isEqualTo("198.51.100.4, 127.0.0.1");
      call.respond(200, "application/json", "{}");
      client.readHead();
    }
  }
}
