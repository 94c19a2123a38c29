package io.sluice.usage;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Bounds the {@code model} label of token and latency metrics: at most {@link #DEFAULT_CAP}
 * distinct values per route; every later new value is reported as {@value #OTHER}. A model the
 * upstream or client names is untrusted input, so without a cap one client could create unbounded
 * time series.
 *
 * <p>Values are admitted first come, first served and stay admitted for the life of this object
 * (create a new one on config reload to start over). A missing or blank model is
 * {@value #UNKNOWN}; a value longer than {@value #MAX_LENGTH} chars is {@value #OTHER}.
 *
 * <p>Thread-safe; a value already admitted costs at most two hash look-ups, no lock.
 */
public final class ModelLabels {
  public static final int DEFAULT_CAP = 100;
  public static final String OTHER = "other";
  public static final String UNKNOWN = "unknown";
  public static final int MAX_LENGTH = 128;

  private final int cap;
  private final ConcurrentHashMap<String, Route> byRoute = new ConcurrentHashMap<>();

  /** One route's admitted values, each kept as one instance, and the last one asked for. */
  private static final class Route {
    final ConcurrentHashMap<String, String> admitted = new ConcurrentHashMap<>();
    volatile String last;
  }

  public ModelLabels() {
    this(DEFAULT_CAP);
  }

  public ModelLabels(int cap) {
    if (cap < 0) {
      throw new IllegalArgumentException("cap must be >= 0");
    }
    this.cap = cap;
  }

  /**
   * The label to use for {@code model} on {@code route}: an admitted value comes back as the one
   * instance kept for it (its hash computed once), so the meter look-ups that follow compare it by
   * reference. A route's models rarely change from one request to the next: the last value asked
   * for is checked first, without hashing the string the response just carried.
   */
  public String label(String route, String model) {
    if (model == null || model.isBlank()) {
      return UNKNOWN;
    }
    if (model.length() > MAX_LENGTH) {
      return OTHER;
    }
    Route r = byRoute.get(route);
    if (r == null) {
      r = byRoute.computeIfAbsent(route, k -> new Route());
    }
    String last = r.last;
    if (last != null && last.equals(model)) {
      return last;
    }
    String kept = r.admitted.get(model);
    if (kept == null) {
      synchronized (r) {
        kept = r.admitted.get(model);
        if (kept == null) {
          if (r.admitted.size() >= cap) {
            return OTHER;
          }
          kept = model;
          r.admitted.put(kept, kept);
        }
      }
    }
    r.last = kept;
    return kept;
  }

  /** How many distinct models {@code route} has admitted. */
  public int distinct(String route) {
    Route r = byRoute.get(route);
    return r == null ? 0 : r.admitted.size();
  }
}
