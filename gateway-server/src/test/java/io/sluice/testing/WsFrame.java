package io.sluice.testing;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.nio.charset.StandardCharsets;

/**
 * One WebSocket frame exactly as a test peer received it: kind, FIN, RSV bits and payload bytes
 * (nothing re-assembled, nothing inflated), copied so the test need not release anything.
 */
public record WsFrame(String kind, boolean fin, int rsv, byte[] payload) {

  static WsFrame of(WebSocketFrame f) {
    String kind = f instanceof TextWebSocketFrame ? "text"
        : f instanceof BinaryWebSocketFrame ? "binary"
        : f instanceof ContinuationWebSocketFrame ? "continuation"
        : f instanceof PingWebSocketFrame ? "ping"
        : f instanceof PongWebSocketFrame ? "pong"
        : f instanceof CloseWebSocketFrame ? "close" : f.getClass().getSimpleName();
    try {
      return new WsFrame(kind, f.isFinalFragment(), f.rsv(), ByteBufUtil.getBytes(f.content()));
    } finally {
      f.release();
    }
  }

  public String text() {
    return new String(payload, StandardCharsets.UTF_8);
  }

  /** The close code, 1005 when the close frame carried none. */
  public int closeCode() {
    return payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005;
  }

  public String closeReason() {
    return payload.length > 2 ? new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8) : "";
  }

  @Override
  public String toString() {
    return kind + (fin ? "" : "(more)") + (rsv != 0 ? "[rsv=" + rsv + "]" : "") + " "
        + (payload.length <= 64 ? "'" + text() + "'" : payload.length + " bytes");
  }

  // ---- frames to send ---------------------------------------------------------------------------

  public static WebSocketFrame text(String text, boolean fin) {
    return new TextWebSocketFrame(fin, 0, Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
  }

  public static WebSocketFrame continuation(String text, boolean fin) {
    return new ContinuationWebSocketFrame(fin, 0, Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
  }

  public static WebSocketFrame binary(byte[] bytes, boolean fin, int rsv) {
    return new BinaryWebSocketFrame(fin, rsv, Unpooled.wrappedBuffer(bytes));
  }

  public static WebSocketFrame close(int code, String reason) {
    return new CloseWebSocketFrame(code, reason);
  }

  /** A frame decoder that lets every frame through as it is (RSV bits, any size up to 64 MiB). */
  static WebSocketDecoderConfig rawDecoder(boolean expectMasked) {
    return WebSocketDecoderConfig.newBuilder().maxFramePayloadLength(64 * 1024 * 1024)
        .expectMaskedFrames(expectMasked).allowMaskMismatch(false).allowExtensions(true)
        .withUTF8Validator(false).closeOnProtocolViolation(false).build();
  }
}
