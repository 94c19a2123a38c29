package io.sluice.observe;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The meters of one family by their label values, for families recorded once per request:
 * found through one map per label, keyed by the strings the caller already has, so a lookup
 * allocates nothing. A {@code Tags.of(...)} key costs a sorted tag array and a tag per label on
 * every lookup (~250 bytes for four labels) although the meter exists after the first request.
 * The factory gets the label values in the order of the lookup, once per meter.
 *
 * <p>Threading: thread-safe (concurrent maps); a racing first lookup creates the meter once.
 */
final class LabelledMeters<M> {
  private final Map<String, Object> root = new ConcurrentHashMap<>();
  private final Function<String[], M> create;

  /** @param create makes the meter of a combination of label values (registers it) */
  LabelledMeters(Function<String[], M> create) {
    this.create = create;
  }

  M get(String a, String b) {
    Map<String, Object> last = level(root, a);
    M meter = meter(last, b);
    return meter != null ? meter : create(last, b, new String[] {a, b});
  }

  M get(String a, String b, String c) {
    Map<String, Object> last = level(level(root, a), b);
    M meter = meter(last, c);
    return meter != null ? meter : create(last, c, new String[] {a, b, c});
  }

  M get(String a, String b, String c, String d) {
    Map<String, Object> last = level(level(level(root, a), b), c);
    M meter = meter(last, d);
    return meter != null ? meter : create(last, d, new String[] {a, b, c, d});
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> level(Map<String, Object> map, String key) {
    Object next = map.get(key);
    if (next == null) {
      next = map.computeIfAbsent(key, k -> new ConcurrentHashMap<String, Object>());
    }
    return (Map<String, Object>) next;
  }

  @SuppressWarnings("unchecked")
  private M meter(Map<String, Object> map, String key) {
    return (M) map.get(key);
  }

  /** The first lookup of a combination (the label values array is built only here). */
  @SuppressWarnings("unchecked")
  private M create(Map<String, Object> map, String key, String[] values) {
    return (M) map.computeIfAbsent(key, k -> create.apply(values));
  }
}
