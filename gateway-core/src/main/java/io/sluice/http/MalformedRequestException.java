package io.sluice.http;

import io.netty.handler.codec.DecoderException;

/**
 * Why a request was refused as malformed, in words fit for the client's error message. Set as a
 * request's failed decoder result so the exchange answers 400 {@code malformed_request} and
 * closes, the same way as for anything Netty's decoder itself refuses.
 */
public final class MalformedRequestException extends DecoderException {
  private static final long serialVersionUID = 1L;

  public MalformedRequestException(String message) {
    super(message);
  }

  /** No stack trace: a hostile client must not make the gateway pay for one per request. */
  @Override
  public synchronized Throwable fillInStackTrace() {
    return this;
  }
}
