package io.sluice.relay;

/**
 * Whatever answers the client of an exchange over time — the upstream relay ({@link ProxyCall}),
 * a resumed stream ({@link SessionRelay}), a long poll ({@link SessionPoll}) — as the client's
 * connection sees it. Every method runs on the client channel's event loop.
 */
public interface ClientRelay {
  /** The client's outbound buffer crossed a watermark: pause or resume producing. */
  void clientWritabilityChanged(boolean writable);

  /** The client went away. */
  void clientClosed();

  /** The gateway's drain timeout is over: end now, never silently. */
  void drainNow();
}
