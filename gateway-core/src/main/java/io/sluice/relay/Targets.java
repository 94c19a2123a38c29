package io.sluice.relay;

import java.time.Duration;

/**
 * The targets one exchange may try, in order: one for a plain route, an alias's plan for a
 * request naming a model alias (failover).
 *
 * <p>While {@link #hasNext} is true, the relay holds the answer back until its first content
 * event, so that a failing target can be left without the client seeing a byte of it.
 */
public interface Targets {
  /** The next target to try, or null when none is left. */
  Target next();

  /** Whether a target is left after the current one. */
  boolean hasNext();

  /**
   * The attempt at {@code target} failed before content ({@code reason}: a
   * {@code sluice_failovers_total} reason): counted, and the target cools down.
   */
  void failed(Target target, String reason);

  /** How long a held streamed answer may go without a content event before it counts as failed. */
  Duration firstEventTimeout();

  /** Exactly one target: today's relay, never held back. */
  static Targets single(Target only) {
    return new Targets() {
      private boolean taken;

      @Override
      public Target next() {
        if (taken) {
          return null;
        }
        taken = true;
        return only;
      }

      @Override
      public boolean hasNext() {
        return !taken;
      }

      @Override
      public void failed(Target target, String reason) {}

      @Override
      public Duration firstEventTimeout() {
        return Duration.ZERO;
      }
    };
  }
}
