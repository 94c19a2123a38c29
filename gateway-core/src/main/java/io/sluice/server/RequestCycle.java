package io.sluice.server;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

/**
 * Where an HTTP/1 connection is in its request/response cycle, told by the request handler so
 * that the connection's timeouts ({@link ClientTimeoutHandler}) know which clock runs. Each call
 * only writes a field: a request costs no timer and no user event's trip through the pipeline.
 *
 * <p>The timeout handler puts itself on the channel ({@link #KEY}); the request handler takes it
 * once with {@link #of}. A connection without one (an HTTP/2 stream, a test's bare pipeline) gets
 * {@link #NONE}. Call on the channel's event loop.
 */
public interface RequestCycle {
  AttributeKey<RequestCycle> KEY = AttributeKey.valueOf(RequestCycle.class, "cycle");

  /** Nothing listens (HTTP/2 streams: their connection has no request phases). */
  RequestCycle NONE = new RequestCycle() {
    @Override
    public void read(Object msg) {}

    @Override
    public void headersReceived() {}

    @Override
    public void responseEnded() {}
  };

  /** The channel's cycle listener, or {@link #NONE}. */
  static RequestCycle of(Channel channel) {
    RequestCycle cycle = channel.attr(KEY).get();
    return cycle == null ? NONE : cycle;
  }

  /**
   * A decoded message, as it arrives (before it is held behind a running exchange): a request's
   * head starts its body's clock when a body follows, its last content stops it.
   */
  void read(Object msg);

  /** A request's headers were decoded and its exchange begins. */
  void headersReceived();

  /** The response ended; the connection waits for the next request. */
  void responseEnded();
}
