package io.sluice.server;

/**
 * Fired by {@link GatewayServer#drain} at every client pipeline (every HTTP/2 stream's, on
 * HTTP/2 connections), on the channel's event loop, for the request handler to act on.
 */
public enum DrainEvent {
  /** The gateway stops: close when idle, else finish the running exchange and close after it. */
  BEGIN,
  /** The drain timeout is over: end the running exchange now, never silently. */
  NOW
}
