package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.sluice.exchange.Exchange;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.translate.TranslatedError;
import io.sluice.translate.Translation;
import io.sluice.usage.UsageTracker;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A whole upstream body — an answer or an error — in the client's API, with the response head
 * made to match (status, JSON content type, length). An answer that cannot be translated, or that
 * was too large to hold, becomes a 502 in the client's error shape.
 */
final class TranslatedBody {
  /** A whole body to translate is held up to this size (the usage parser's own limit). */
  static final int MAX_BYTES = UsageTracker.MAX_BODY_BYTES;

  private TranslatedBody() {}

  /**
   * @param chunks the held upstream body (released here)
   * @param tooLarge the body went past {@link #MAX_BYTES} and was not held whole
   */
  static byte[] translate(Translation translation, ResponseHead head, Exchange exchange, List<ByteBuf> chunks,
      boolean tooLarge) {
    CompositeByteBuf whole = Unpooled.compositeBuffer(Math.max(2, chunks.size()));
    chunks.forEach(c -> whole.addComponent(true, c));
    byte[] upstreamBody = ByteBufUtil.getBytes(whole);
    whole.release();
    int status = head.head().status().code();
    byte[] out = null;
    if (!tooLarge) {
      try {
        if (status / 100 == 2) {
          out = translation.body(upstreamBody);
        } else {
          TranslatedError error = translation.error(status, upstreamBody);
          status = error.status();
          out = error.body();
        }
      } catch (RuntimeException e) {
        out = null; // not the JSON its API defines
      }
    }
    if (out == null) {
      status = 502;
      out = translation.error(502, GatewayErrors.json(ErrorKind.UPSTREAM_FAILED,
          "the upstream's answer could not be translated").getBytes(StandardCharsets.UTF_8)).body();
    }
    HttpResponse response = head.head();
    response.setStatus(HttpResponseStatus.valueOf(status));
    exchange.status(status);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    if (!head.gzip()) {
      response.headers().remove(HttpHeaderNames.TRANSFER_ENCODING).setInt(HttpHeaderNames.CONTENT_LENGTH, out.length);
    }
    return out;
  }
}
