package io.sluice.websocket;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The WebSocket handshake rules (RFC 6455 §4, RFC 8441 §4–5) the proxy checks on both sides: what
 * a client's upgrade (HTTP/1.1) or extended CONNECT (HTTP/2) must carry, and whether the upstream's
 * {@code 101} answers what the client offered — the accept key, and only the subprotocol and
 * extensions the client listed.
 */
final class Handshake {
  private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  private static final SecureRandom KEYS = new SecureRandom();

  private Handshake() {}

  /**
   * What is wrong with a client's upgrade, or null.
   *
   * @param overHttp2 an RFC 8441 extended CONNECT rather than an HTTP/1.1 upgrade
   * @param routeRelaysWebSocket the route's {@code websocket.enabled}
   */
  static String clientProblem(HttpRequest request, boolean overHttp2, boolean routeRelaysWebSocket, String route) {
    HttpHeaders h = request.headers();
    if (overHttp2) {
      if (!routeRelaysWebSocket) {
        return "route '" + route + "' does not relay WebSocket (websocket.enabled is off)";
      }
      return "13".equals(h.get(HttpHeaderNames.SEC_WEBSOCKET_VERSION)) ? null
          : "only WebSocket version 13 is supported (sec-websocket-version: 13)";
    }
    if (!HttpMethod.GET.equals(request.method()) || !HttpVersion.HTTP_1_1.equals(request.protocolVersion())) {
      return "a WebSocket upgrade must be an HTTP/1.1 GET";
    }
    if (!h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
      return "a WebSocket upgrade needs 'Connection: Upgrade'";
    }
    if (h.get(HttpHeaderNames.SEC_WEBSOCKET_KEY) == null || h.get(HttpHeaderNames.SEC_WEBSOCKET_KEY).isBlank()) {
      return "a WebSocket upgrade needs a Sec-WebSocket-Key";
    }
    if (!"13".equals(h.get(HttpHeaderNames.SEC_WEBSOCKET_VERSION))) {
      return "only WebSocket version 13 is supported (Sec-WebSocket-Version: 13)";
    }
    return null;
  }

  /** A fresh {@code Sec-WebSocket-Key} (an HTTP/2 client sends none: the upstream gets one of ours). */
  static String newKey() {
    byte[] nonce = new byte[16];
    KEYS.nextBytes(nonce);
    return Base64.getEncoder().encodeToString(nonce);
  }

  /** Null when the upstream's 101 ({@code answer}) is a valid answer to what the client offered. */
  static String answerProblem(HttpHeaders offer, HttpHeaders answer, String key) {
    if (!answer.containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
      return "answered 101 without 'Upgrade: websocket'";
    }
    if (!expectedAccept(key).equals(answer.get(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT))) {
      return "answered 101 with a wrong Sec-WebSocket-Accept";
    }
    String protocol = answer.get(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL);
    if (protocol != null && !tokens(offer.getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL)).contains(protocol.trim())) {
      return "chose the subprotocol '" + protocol + "', which the client did not offer";
    }
    Set<String> offered = extensionNames(offer.getAll(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS));
    for (String chosen : extensionNames(answer.getAll(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS))) {
      if (!offered.contains(chosen)) {
        return "chose the extension '" + chosen + "', which the client did not offer";
      }
    }
    return null;
  }

  static String expectedAccept(String key) {
    try {
      byte[] sha1 = MessageDigest.getInstance("SHA-1").digest((key.trim() + GUID).getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(sha1);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-1", e);
    }
  }

  private static Set<String> tokens(Iterable<String> values) {
    Set<String> out = new LinkedHashSet<>();
    for (String value : values) {
      for (String token : value.split(",")) {
        if (!token.isBlank()) {
          out.add(token.trim());
        }
      }
    }
    return out;
  }

  private static Set<String> extensionNames(Iterable<String> values) {
    Set<String> out = new LinkedHashSet<>();
    for (String extension : tokens(values)) {
      int semi = extension.indexOf(';');
      out.add((semi < 0 ? extension : extension.substring(0, semi)).trim().toLowerCase(Locale.ROOT));
    }
    return out;
  }

  static WebSocketDecoderConfig decoderConfig(int maxFrameSize, boolean expectMasked) {
    return WebSocketDecoderConfig.newBuilder()
        .maxFramePayloadLength(maxFrameSize)
        .expectMaskedFrames(expectMasked)
        .allowMaskMismatch(false)
        .allowExtensions(true)          // RSV bits belong to the agreed extensions: passed through
        .withUTF8Validator(false)       // a compressed text frame is not UTF-8 on the wire
        .closeOnProtocolViolation(false) // the session sends its own close, to both peers
        .build();
  }
}
