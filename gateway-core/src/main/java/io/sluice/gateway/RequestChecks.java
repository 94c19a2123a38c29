package io.sluice.gateway;

import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.sluice.config.LimitsConfig;
import io.sluice.http.ErrorKind;
import io.sluice.http.MalformedRequestException;
import io.sluice.http.PathNormalizer;
import io.sluice.http.RequestTarget;

/**
 * What a request head must pass before anything routes it: it decoded, its target is a path of
 * bounded length that normalizes safely, and the body it announces fits the limit.
 */
final class RequestChecks {
  private RequestChecks() {}

  /** The outcome of the checks. */
  sealed interface Result permits Refused, Accepted {}

  /**
   * The head is refused with this error.
   *
   * @param close the connection cannot be trusted or reused after it
   */
  record Refused(ErrorKind kind, String message, boolean close) implements Result {}

  /**
   * The head passed.
   *
   * @param path the normalized path
   * @param query the query with its {@code ?}, or empty
   */
  record Accepted(String path, String query) implements Result {}

  static Result check(HttpRequest req, LimitsConfig limits) {
    DecoderResult decoded = req.decoderResult();
    if (decoded.isFailure()) {
      Throwable cause = decoded.cause();
      if (cause instanceof TooLongHttpLineException) {
        return new Refused(ErrorKind.URI_TOO_LONG, "the request line is longer than the limit", true);
      }
      if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
        return new Refused(ErrorKind.HEADERS_TOO_LARGE, "the request headers are larger than the limit", true);
      }
      return new Refused(ErrorKind.MALFORMED_REQUEST,
          cause instanceof MalformedRequestException ? cause.getMessage() : "malformed HTTP request", true);
    }
    if (req.uri().length() > limits.maxUriLength()) {
      return new Refused(ErrorKind.URI_TOO_LONG, "the URI is longer than " + limits.maxUriLength() + " bytes", true);
    }
    String target = RequestTarget.originForm(req.uri());
    if (target == null) {
      return new Refused(ErrorKind.BAD_PATH, "the request target must be a path", true);
    }
    int q = target.indexOf('?');
    String path;
    try {
      path = PathNormalizer.normalize(q < 0 ? target : target.substring(0, q));
    } catch (PathNormalizer.BadPathException e) {
      return new Refused(ErrorKind.BAD_PATH, e.getMessage(), false);
    }
    if (HttpUtil.getContentLength(req, -1L) > limits.maxRequestBody()) {
      return new Refused(ErrorKind.BODY_TOO_LARGE, "the request body is larger than "
          + limits.maxRequestBody() + " bytes", true);
    }
    return new Accepted(path, q < 0 ? "" : target.substring(q));
  }
}
