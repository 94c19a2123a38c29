package io.sluice.exchange;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.sluice.http.ErrorKind;

/**
 * The client side of an exchange as whatever answers it sees it: the upstream relay, a resumed
 * stream, a long poll, a WebSocket handshake. Implemented by the gateway's connection handler,
 * and by a detached leg once the client left a stream that goes on as a session.
 *
 * <p>Threading: every method is called on the client channel's event loop.
 */
public interface ClientLeg {
  /** The client pipeline's context, for writes that must pass through the HTTP encoder. */
  ChannelHandlerContext context();

  /** Last changes to the response headers (plugins' response hooks) before they are sent. */
  void prepareResponseHeaders(int status, HttpHeaders headers);

  /**
   * The head of the upstream's answer went to the client: no other answer can follow, so what
   * only the request's start needed (its headers) is dropped rather than kept for the whole life
   * of a stream (gateway-server/docs/memory.md).
   */
  default void answerCommitted() {}

  /** Answers with a gateway error (the response has not started) and ends the exchange. */
  void sendError(ErrorKind kind, String message);

  /** Answers with a whole response the gateway made (a long poll's) and ends the exchange. */
  void sendResponse(FullHttpResponse response);

  /** The response was written completely. */
  void responseComplete(boolean keepAlive);

  /** The response cannot be completed; the connection must be closed. */
  void responseAborted();

  /**
   * The client leaves the exchange while its generation goes on as a stream session: answers it
   * with {@code accepted} (a long-poll start), or nothing when the client is gone. Returns the
   * leg that ends the exchange (metrics, access log, plugins) when the generation ends.
   */
  ClientLeg detach(FullHttpResponse accepted);
}
