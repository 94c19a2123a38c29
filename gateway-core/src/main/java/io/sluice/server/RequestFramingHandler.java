package io.sluice.server;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.ContentLengthNotAllowedException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.InvalidLineSeparatorException;
import io.netty.handler.codec.http.TransferEncodingNotAllowedException;
import io.sluice.http.MalformedRequestException;
import java.util.List;

/**
 * Refuses requests whose framing another HTTP server could read differently than we do — the
 * ground of request smuggling — and names what was wrong.
 *
 * <p>Netty's decoder already refuses {@code Content-Length} together with
 * {@code Transfer-Encoding}, duplicate or non-numeric {@code Content-Length}, bare LF line ends,
 * control characters in header values and bad chunk sizes; this handler adds what it lets
 * through: a {@code Transfer-Encoding} that is anything but a single {@code chunked} (e.g.
 * {@code gzip, chunked}: we would forward a body whose coding we dropped) and a repeated
 * {@code Host}. A refused request gets a failed decoder result with a readable
 * {@link MalformedRequestException}, so the exchange answers it like every other decoder failure:
 * 400 {@code malformed_request}, then the connection is closed (its next bytes cannot be trusted
 * to start a request). Nothing is forwarded.
 *
 * <p>Pipeline: right after the HTTP codec, before the exchange; HTTP/1 only (HTTP/2 frames
 * carry their own lengths, and its codec refuses {@code Transfer-Encoding}). Stateless, shared.
 */
@ChannelHandler.Sharable
public final class RequestFramingHandler extends ChannelInboundHandlerAdapter {
  public static final RequestFramingHandler INSTANCE = new RequestFramingHandler();

  private RequestFramingHandler() {}

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest request) {
      String problem = problem(request);
      if (problem != null) {
        request.setDecoderResult(DecoderResult.failure(new MalformedRequestException(problem)));
      }
    }
    ctx.fireChannelRead(msg);
  }

  /** What is wrong with the request's framing, or null when nothing is (or a size limit was hit). */
  static String problem(HttpRequest request) {
    DecoderResult result = request.decoderResult();
    if (result.isFailure()) {
      return describe(result.cause());
    }
    HttpHeaders headers = request.headers();
    List<String> codings = headers.getAll(HttpHeaderNames.TRANSFER_ENCODING);
    if (!codings.isEmpty() && (codings.size() > 1 || !codings.get(0).trim().equalsIgnoreCase("chunked"))) {
      return "Transfer-Encoding must be exactly 'chunked'";
    }
    int hosts = headers.getAll(HttpHeaderNames.HOST).size();
    if (hosts > 1) {
      return "more than one Host header";
    }
    if (hosts == 0 && request.protocolVersion().equals(HttpVersion.HTTP_1_1)) {
      return "an HTTP/1.1 request must have a Host header"; // RFC 9112 §3.2
    }
    return null;
  }

  /**
   * Netty's reason in the client's words; null for the size limits, which the exchange answers
   * with their own status (414, 431).
   */
  private static String describe(Throwable cause) {
    if (cause instanceof TooLongFrameException || cause instanceof MalformedRequestException) {
      return null;
    }
    if (cause instanceof ContentLengthNotAllowedException) {
      return "Content-Length cannot be combined with Transfer-Encoding";
    }
    if (cause instanceof TransferEncodingNotAllowedException) {
      return "Transfer-Encoding is not allowed before HTTP/1.1";
    }
    if (cause instanceof InvalidLineSeparatorException) {
      return "request and header lines must end with CRLF";
    }
    String message = String.valueOf(cause.getMessage());
    if (message.startsWith("Multiple Content-Length")) {
      return "more than one Content-Length value";
    }
    if (message.startsWith("Content-Length value is not a number")) {
      return "Content-Length must be a decimal number";
    }
    if (message.contains("transfer coding")) {
      return "Transfer-Encoding must be exactly 'chunked'";
    }
    if (message.startsWith("Validation failed for header")) {
      return "a header value contains CR, LF or another control character";
    }
    if (message.contains("header name")) {
      return "a header name contains a character that is not allowed";
    }
    return "malformed HTTP request";
  }
}
