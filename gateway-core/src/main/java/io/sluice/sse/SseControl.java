package io.sluice.sse;

import java.nio.charset.StandardCharsets;

/** The SSE blocks the gateway itself writes into a stream (never numbered, never counted). */
public final class SseControl {
  private SseControl() {}

  /** Tells an EventSource to reconnect after one second (a draining gateway's last words). */
  public static final byte[] RECONNECT = "retry: 1000\n\n".getBytes(StandardCharsets.US_ASCII);

  /** An SSE comment: ignored by every client, but bytes on the wire that keep idle timers quiet. */
  public static final byte[] PING = ": ping\n\n".getBytes(StandardCharsets.US_ASCII);
}
