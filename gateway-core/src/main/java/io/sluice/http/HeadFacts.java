package io.sluice.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpUtil;

/**
 * {@link HttpUtil}'s answers about a message head, read per request and per response: the same
 * answer, but a head without the header in question (nearly every one) is answered by a hash
 * look-up — {@code HttpUtil} walks a value iterator made per call, present or not.
 */
public final class HeadFacts {
  private HeadFacts() {}

  /** {@link HttpUtil#isKeepAlive}: without a {@code Connection} header, the version's default. */
  public static boolean keepAlive(HttpMessage message) {
    HttpHeaders headers = message.headers();
    if (!headers.contains(HttpHeaderNames.CONNECTION)) {
      return message.protocolVersion().isKeepAliveDefault();
    }
    return HttpUtil.isKeepAlive(message);
  }

  /** {@link HttpUtil#isTransferEncodingChunked}: false without a {@code Transfer-Encoding} header. */
  public static boolean chunked(HttpMessage message) {
    return message.headers().contains(HttpHeaderNames.TRANSFER_ENCODING) && HttpUtil.isTransferEncodingChunked(message);
  }
}
