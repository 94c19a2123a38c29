package io.sluice.config;

import java.time.Duration;

/**
 * WebSocket relaying on a route ({@code routes[].websocket}; gateway-core/docs/websocket.md,
 * "Settings").
 *
 * @param enabled an {@code Upgrade: websocket} request on the route is relayed as a WebSocket
 *     session; without it such a request is forwarded like any other (and the upstream's 101 is
 *     not honoured)
 * @param maxFrameSize the largest frame payload, as received, either way; a larger frame ends the
 *     session with close 1009 to its sender
 * @param pingInterval a ping goes to the client whenever it has received nothing for this long;
 *     {@link Duration#ZERO} = off
 * @param idleTimeout the session is closed (1001) after this long without a frame either way
 *     other than the gateway's own pings and their pongs; null = {@code limits.idle-timeout};
 *     {@link Duration#ZERO} = off
 */
public record WebSocketConfig(boolean enabled, long maxFrameSize, Duration pingInterval, Duration idleTimeout) {
  /** Control frames carry up to 125 bytes (RFC 6455 §5.5): a smaller limit would refuse a close. */
  static final long MIN_FRAME_SIZE = 125;
  /** The frame decoder holds one whole frame; beyond this a single frame could exhaust the heap. */
  static final long MAX_FRAME_SIZE = 1L << 30;

  public static final WebSocketConfig DISABLED =
      new WebSocketConfig(false, 1024 * 1024, Duration.ofSeconds(30), null);

  /** The idle timeout, {@code limitsIdleTimeout} when the route does not set one. */
  public Duration idleTimeout(Duration limitsIdleTimeout) {
    return idleTimeout != null ? idleTimeout : limitsIdleTimeout;
  }

  /** Reads {@code routes[].websocket}; absent = {@link #DISABLED}. */
  static WebSocketConfig parse(ConfigNode node) {
    MapReader m = node.map();
    if (m == null) {
      return DISABLED;
    }
    Boolean enabled = m.get("enabled").bool();
    ConfigNode sizeNode = m.get("max-frame-size");
    Long maxFrameSize = sizeNode.size();
    Duration ping = m.get("ping-interval").duration();
    Duration idle = m.get("idle-timeout").duration();
    m.finish();
    if (maxFrameSize != null && (maxFrameSize < MIN_FRAME_SIZE || maxFrameSize > MAX_FRAME_SIZE)) {
      sizeNode.problem("must be between 125B and 1GiB (got " + sizeNode.got() + ")");
      maxFrameSize = null;
    }
    return new WebSocketConfig(enabled != null && enabled,
        maxFrameSize != null ? maxFrameSize : DISABLED.maxFrameSize,
        ping != null ? ping : DISABLED.pingInterval, idle);
  }
}
