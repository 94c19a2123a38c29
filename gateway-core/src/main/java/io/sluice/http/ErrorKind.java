package io.sluice.http;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * Every error the gateway itself produces (README, "Errors"), with its status, OpenAI error type
 * and code. One place, so a status can never drift from its type.
 */
public enum ErrorKind {
  MALFORMED_REQUEST(400, "invalid_request_error", "malformed_request"),
  BAD_PATH(400, "invalid_request_error", "bad_path"),
  ROUTE_NOT_FOUND(404, "not_found_error", "route_not_found"),
  /** The request names a model the route serves neither by an alias nor by an upstream. */
  MODEL_NOT_FOUND(404, "invalid_request_error", "model_not_found"),
  NOT_FOUND(404, "not_found_error", "not_found"),
  STREAM_NOT_FOUND(404, "not_found_error", "stream_not_found"),
  RESUME_GAP(410, "invalid_request_error", "resume_gap"),
  /** Only as a stream's last event: its owner stopped it ({@code DELETE /sluice/streams/<id>}). */
  STREAM_CANCELLED(409, "invalid_request_error", "stream_cancelled"),
  /** Only as a stream's last event: the session store's memory cap pushed it out. */
  STREAM_EVICTED(503, "server_error", "stream_evicted"),
  METHOD_NOT_ALLOWED(405, "invalid_request_error", "method_not_allowed"),
  REQUEST_TIMEOUT(408, "invalid_request_error", "request_timeout"),
  BODY_TOO_LARGE(413, "invalid_request_error", "body_too_large"),
  URI_TOO_LONG(414, "invalid_request_error", "uri_too_long"),
  HEADERS_TOO_LARGE(431, "invalid_request_error", "headers_too_large"),
  UNAUTHORIZED(401, "authentication_error", "missing_credentials"),
  INVALID_TOKEN(401, "authentication_error", "invalid_token"),
  UPSTREAM_FAILED(502, "upstream_error", "upstream_failed"),
  NO_HEALTHY_UPSTREAM(503, "upstream_error", "no_healthy_upstream"),
  OVERLOADED(503, "upstream_error", "too_many_connections"),
  DRAINING(503, "upstream_error", "draining"),
  UPSTREAM_TIMEOUT(504, "upstream_error", "upstream_timeout"),
  INTERNAL(500, "server_error", "internal_error");

  private final HttpResponseStatus status;
  private final String type;
  private final String code;

  ErrorKind(int status, String type, String code) {
    this.status = HttpResponseStatus.valueOf(status);
    this.type = type;
    this.code = code;
  }

  public HttpResponseStatus status() {
    return status;
  }

  public String type() {
    return type;
  }

  public String code() {
    return code;
  }
}
