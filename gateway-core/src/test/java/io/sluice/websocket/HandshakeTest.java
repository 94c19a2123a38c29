package io.sluice.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

/** The handshake rules on plain headers: the client's upgrade, the upstream's 101. */
class HandshakeTest {
  private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";

  private static HttpRequest upgrade() {
    HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v1/realtime");
    request.headers().set("Upgrade", "websocket").set("Connection", "keep-alive, Upgrade")
        .set("Sec-WebSocket-Key", KEY).set("Sec-WebSocket-Version", "13")
        .set("Sec-WebSocket-Protocol", "realtime-v1, other")
        .set("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits");
    return request;
  }

  private static HttpHeaders answer() {
    return new DefaultHttpHeaders().set("Upgrade", "websocket").set("Connection", "Upgrade")
        .set("Sec-WebSocket-Accept", Handshake.expectedAccept(KEY));
  }

  @Test
  void theAcceptKeyIsTheOneOfRfc6455() {
    assertThat(Handshake.expectedAccept(KEY)).isEqualTo("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  }

  @Test
  void aValidUpgradeHasNoProblem() {
    assertThat(Handshake.clientProblem(upgrade(), false, true, "rt")).isNull();
  }

  @Test
  void anUpgradeMissingAPartIsRefusedSayingWhich() {
    HttpRequest post = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/realtime", upgrade().headers());
    assertThat(Handshake.clientProblem(post, false, true, "rt")).isEqualTo("a WebSocket upgrade must be an HTTP/1.1 GET");
    HttpRequest noKey = upgrade();
    noKey.headers().remove("Sec-WebSocket-Key");
    assertThat(Handshake.clientProblem(noKey, false, true, "rt")).isEqualTo("a WebSocket upgrade needs a Sec-WebSocket-Key");
    HttpRequest v8 = upgrade();
    v8.headers().set("Sec-WebSocket-Version", "8");
    assertThat(Handshake.clientProblem(v8, false, true, "rt")).contains("version 13");
  }

  @Test
  void anExtendedConnectOnARouteWithoutWebSocketIsRefused() {
    HttpRequest connect = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.CONNECT, "/v1/chat");
    connect.headers().set("Sec-WebSocket-Version", "13");
    assertThat(Handshake.clientProblem(connect, true, false, "chat"))
        .isEqualTo("route 'chat' does not relay WebSocket (websocket.enabled is off)");
    assertThat(Handshake.clientProblem(connect, true, true, "chat")).isNull();
  }

  @Test
  void theUpstreamMayChooseOnlyWhatTheClientOffered() {
    HttpHeaders offer = upgrade().headers();
    assertThat(Handshake.answerProblem(offer, answer(), KEY)).isNull();
    assertThat(Handshake.answerProblem(offer, answer().set("Sec-WebSocket-Protocol", "realtime-v1"), KEY)).isNull();
    assertThat(Handshake.answerProblem(offer, answer().set("Sec-WebSocket-Protocol", "v2"), KEY))
        .isEqualTo("chose the subprotocol 'v2', which the client did not offer");
    assertThat(Handshake.answerProblem(offer, answer().set("Sec-WebSocket-Extensions", "Permessage-Deflate"), KEY)).isNull();
    assertThat(Handshake.answerProblem(offer, answer().set("Sec-WebSocket-Extensions", "x-webkit-deflate-frame"), KEY))
        .isEqualTo("chose the extension 'x-webkit-deflate-frame', which the client did not offer");
    assertThat(Handshake.answerProblem(offer, answer().set("Sec-WebSocket-Accept", "forged"), KEY))
        .isEqualTo("answered 101 with a wrong Sec-WebSocket-Accept");
    assertThat(Handshake.answerProblem(offer, answer().remove("Upgrade"), KEY))
        .isEqualTo("answered 101 without 'Upgrade: websocket'");
  }

  @Test
  void everyKeyOfOursIsNewAndSixteenBytes() {
    String one = Handshake.newKey();
    assertThat(one).hasSize(24).isNotEqualTo(Handshake.newKey());
  }
}
