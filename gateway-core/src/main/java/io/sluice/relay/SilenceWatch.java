package io.sluice.relay;

import io.netty.channel.EventLoop;
import io.netty.util.Timeout;
import io.netty.util.TimerTask;

/**
 * A stream's silence watch: one wheel timeout per stream ({@link StreamTimers}), re-armed for
 * the time left. Sends a heartbeat when the upstream has been silent for {@code sse.heartbeat} —
 * also while a reasoning model thinks before its first token — so idle timeouts of load balancers
 * and browsers never cut a healthy stream; ends the stream at {@code stream-idle-timeout}.
 *
 * <p>Threading: runs on the stream's event loop (the wheel only hands the check back to it).
 *
 * <p>Memory: the stream is asked through this class's abstract methods (the relay makes an
 * anonymous subclass), its timeouts included (they are its route's and upstream's, read when the
 * watch re-arms, not copied per stream), and the watch is itself the wheel's task and the loop's:
 * a held stream keeps no callback objects for it (four lambdas, the wheel task and the check were
 * ~120 B per stream; gateway-server/docs/memory.md).
 */
abstract class SilenceWatch implements TimerTask, Runnable {
  private final EventLoop loop;
  private Timeout timeout;
  private long lastUpstreamRead;
  private long lastClientEvent; // the last event or ping the client got

  SilenceWatch(EventLoop loop) {
    this.loop = loop;
  }

  /** The stream-idle timeout: the stream ends after this much silence of the upstream. */
  abstract long idleNanos();

  /** The heartbeat interval; 0 for no heartbeats. */
  abstract long heartbeatNanos();

  /** Whether the stream ended (the watch stops). */
  abstract boolean ended();

  /**
   * Whether upstream reads are paused for a slow client: that silence is ours, not the
   * upstream's, and a client that cannot take data needs no ping.
   */
  abstract boolean readingPaused();

  /** Ends the stream: the upstream sent nothing for {@code idleNanos}. */
  abstract void silentTooLong();

  /** Sends a heartbeat; false when there is no client to send it to. */
  abstract boolean ping();

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
    timeout = StreamTimers.schedule(this, nextCheck(now));
  }

  /** On the wheel's thread: the check runs on the stream's loop. */
  @Override
  public final void run(Timeout fired) {
    loop.execute(this);
  }

  /** On the stream's loop. */
  @Override
  public final void run() {
    check();
  }

  /** Nanoseconds until the next heartbeat or idle deadline, whichever comes first. */
  private long nextCheck(long now) {
    long idleLeft = idleNanos() - (now - lastUpstreamRead);
    long heartbeatNanos = heartbeatNanos();
    if (heartbeatNanos > 0) {
      return Math.min(idleLeft, heartbeatNanos - (now - Math.max(lastUpstreamRead, lastClientEvent)));
    }
    return idleLeft;
  }

  private void check() {
    if (ended()) {
      return;
    }
    long now = System.nanoTime();
    if (readingPaused()) {
      lastUpstreamRead = now;
      arm(now);
      return;
    }
    if (now - lastUpstreamRead >= idleNanos()) {
      silentTooLong();
      return;
    }
    long heartbeatNanos = heartbeatNanos();
    if (heartbeatNanos > 0 && now - Math.max(lastUpstreamRead, lastClientEvent) >= heartbeatNanos && ping()) {
      lastClientEvent = now;
    }
    arm(now);
  }
}
