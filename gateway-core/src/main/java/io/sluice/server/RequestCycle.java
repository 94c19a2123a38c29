package io.sluice.server;

/**
 * Where a connection is in its request/response cycle, told by the request handler through
 * {@code pipeline().fireUserEventTriggered(…)} so that it passes every handler from the head
 * (the {@link RequestHeaderTimeoutHandler} acts on it).
 */
public enum RequestCycle {
  /** A request's headers were decoded. */
  HEADERS_RECEIVED,
  /** The response ended; the connection waits for the next request. */
  RESPONSE_ENDED
}
