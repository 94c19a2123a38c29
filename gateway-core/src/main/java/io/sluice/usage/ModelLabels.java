package io.sluice.usage;

import java.util.Set;
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
 * <p>Thread-safe; a value already admitted costs two hash look-ups, no lock.
 */
public final class ModelLabels {
  public static final int DEFAULT_CAP = 100;
  public static final String OTHER = "other";
  public static final String UNKNOWN = "unknown";
  public static final int MAX_LENGTH = 128;

  private final int cap;
  private final ConcurrentHashMap<String, Set<String>> byRoute = new ConcurrentHashMap<>();

  public ModelLabels() {
    this(DEFAULT_CAP);
  }

  public ModelLabels(int cap) {
    if (cap < 0) {
      throw new IllegalArgumentException("cap must be >= 0");
    }
    this.cap = cap;
  }

  /** The label to use for {@code model} on {@code route}. */
  public String label(String route, String model) {
    if (model == null || model.isBlank()) {
      return UNKNOWN;
    }
    if (model.length() > MAX_LENGTH) {
      return OTHER;
    }
    Set<String> seen = byRoute.computeIfAbsent(route, r -> ConcurrentHashMap.newKeySet());
    if (seen.contains(model)) {
      return model;
    }
    synchronized (seen) {
      if (seen.contains(model)) {
        return model;
      }
      if (seen.size() >= cap) {
        return OTHER;
      }
      seen.add(model);
      return model;
    }
  }

  /** How many distinct models {@code route} has admitted. */
  public int distinct(String route) {
    Set<String> seen = byRoute.get(route);
    return seen == null ? 0 : seen.size();
  }
}
