package io.sluice.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * Renders gateway errors as OpenAI-style JSON bodies: a full HTTP response before the response
 * started, or an SSE {@code event: error} once a stream is under way (never a silent truncation).
 */
public final class GatewayErrors {
  private GatewayErrors() {}

  /** {@code {"error": {"message": ..., "type": ..., "code": ...}}} */
  public static String json(ErrorKind kind, String message) {
    return json(kind.type(), kind.code(), message);
  }

  /** The same shape for any type and code. */
  public static String json(String type, String code, String message) {
    return "{\"error\":{\"message\":\"" + escape(message) + "\",\"type\":\"" + escape(type)
        + "\",\"code\":\"" + escape(code) + "\"}}";
  }

  /** A complete error response; the caller decides about keep-alive and extra headers. */
  public static FullHttpResponse response(ByteBufAllocator alloc, ErrorKind kind, String message) {
    return response(alloc, kind.status().code(), kind.type(), kind.code(), message);
  }

  /** A complete error response for a status, type and code named elsewhere (plugins). */
  public static FullHttpResponse response(ByteBufAllocator alloc, int status, String type, String code,
      String message) {
    byte[] body = json(type, code, message).getBytes(StandardCharsets.UTF_8);
    ByteBuf content = alloc.buffer(body.length).writeBytes(body);
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(status), content);
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    return response;
  }

  /** The SSE event that ends a stream the upstream broke: {@code event: error} + JSON data. */
  public static ByteBuf sseEvent(ByteBufAllocator alloc, ErrorKind kind, String message) {
    byte[] event = sseEventBytes(kind, message);
    return alloc.buffer(event.length).writeBytes(event);
  }

  /** The same event for an error named elsewhere (a plugin's), e.g. a token budget that ran out mid-stream. */
  public static ByteBuf sseEvent(String type, String code, String message) {
    return Unpooled.wrappedBuffer(("event: error\ndata: " + json(type, code, message) + "\n\n")
        .getBytes(StandardCharsets.UTF_8));
  }

  /** The same event as bytes. */
  public static byte[] sseEventBytes(ErrorKind kind, String message) {
    return ("event: error\ndata: " + json(kind, message) + "\n\n").getBytes(StandardCharsets.UTF_8);
  }

  static String escape(String s) {
    StringBuilder out = new StringBuilder(s.length() + 8);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.toString();
  }
}
