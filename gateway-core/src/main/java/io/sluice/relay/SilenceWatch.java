package io.sluice.relay;

import io.netty.channel.EventLoop;
import io.netty.util.Timeout;
import java.util.function.BooleanSupplier;

/**
 * A stream's silence watch: one wheel timeout per stream ({@link StreamTimers}), re-armed for
 * the time left. Sends a heartbeat when the upstream has been silent for {@code sse.heartbeat} —
 * also while a reasoning model thinks before its first token — so idle timeouts of load balancers
 * and browsers never cut a healthy stream; ends the stream at {@code stream-idle-timeout}.
 *
 * <p>Threading: runs on the stream's event loop (the wheel only hands the check back to it).
 */
final class SilenceWatch {
  private final EventLoop loop;
  private final long idleNanos;
  private final long heartbeatNanos; // 0: no heartbeats
  private final BooleanSupplier done;
  private final BooleanSupplier paused;
  private final Runnable idle;
  private final BooleanSupplier ping;
  private Timeout timeout;
  private long lastUpstreamRead;
  private long lastClientEvent; // the last event or ping the client got

  /**
   * @param done whether the stream ended (the watch stops)
   * @param paused whether upstream reads are paused for a slow client: that silence is ours, not
   *     the upstream's, and a client that cannot take data needs no ping
   * @param idle ends the stream: the upstream sent nothing for {@code idleNanos}
   * @param ping sends a heartbeat; false when there is no client to send it to
   */
  SilenceWatch(EventLoop loop, long idleNanos, long heartbeatNanos, BooleanSupplier done, BooleanSupplier paused,
      Runnable idle, BooleanSupplier ping) {
    this.loop = loop;
    this.idleNanos = idleNanos;
    this.heartbeatNanos = heartbeatNanos;
    this.done = done;
    this.paused = paused;
    this.idle = idle;
    this.ping = ping;
  }

  /** The response head went out: silence is measured from now. */
  void start(long now) {
    lastClientEvent = now;
    arm(now);
  }

  /** Something arrived from the upstream. */
  void upstreamRead(long now) {
    lastUpstreamRead = now;
  }

  void cancel() {
    if (timeout != null) {
      timeout.cancel();
    }
  }

  private void arm(long now) {
    timeout = StreamTimers.schedule(loop, this::check, nextCheck(now));
  }

  /** Nanoseconds until the next heartbeat or idle deadline, whichever comes first. */
  private long nextCheck(long now) {
    long idleLeft = idleNanos - (now - lastUpstreamRead);
    if (heartbeatNanos > 0) {
      return Math.min(idleLeft, heartbeatNanos - (now - Math.max(lastUpstreamRead, lastClientEvent)));
    }
    return idleLeft;
  }

  private void check() {
    if (done.getAsBoolean()) {
      return;
    }
    long now = System.nanoTime();
    if (paused.getAsBoolean()) {
      lastUpstreamRead = now;
      arm(now);
      return;
    }
    if (now - lastUpstreamRead >= idleNanos) {
      idle.run();
      return;
    }
    if (heartbeatNanos > 0 && now - Math.max(lastUpstreamRead, lastClientEvent) >= heartbeatNanos && ping.getAsBoolean()) {
      lastClientEvent = now;
    }
    arm(now);
  }
}
