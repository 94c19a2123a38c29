package io.sluice.server;

/** A listener could not be bound (port in use, address not available, no permission). */
public final class ListenException extends Exception {
  public ListenException(String what, String host, int port, Throwable cause) {
    super("cannot listen for " + what + " on " + host + ":" + port + ": " + cause.getMessage(), cause);
  }
}
