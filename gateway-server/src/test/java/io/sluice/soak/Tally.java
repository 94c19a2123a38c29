package io.sluice.soak;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;

/** Named counters shared by the soak's client threads, and the first few unaccounted cases. */
final class Tally {
  private static final int SAMPLES = 20;
  private final ConcurrentHashMap<String, LongAdder> counters = new ConcurrentHashMap<>();
  private final List<String> samples = new CopyOnWriteArrayList<>();
  private final List<String> notes = new CopyOnWriteArrayList<>();

  void add(String name) {
    add(name, 1);
  }

  void add(String name, long n) {
    counters.computeIfAbsent(name, k -> new LongAdder()).add(n);
  }

  long get(String name) {
    LongAdder a = counters.get(name);
    return a == null ? 0 : a.sum();
  }

  /** Counters whose name starts with {@code prefix}, the prefix removed, sorted. */
  Map<String, Long> byPrefix(String prefix) {
    Map<String, Long> out = new TreeMap<>();
    counters.forEach((k, v) -> {
      if (k.startsWith(prefix)) {
        out.put(k.substring(prefix.length()), v.sum());
      }
    });
    return out;
  }

  /** A stream the soak cannot account for: counted, and the first few kept to print. */
  void unaccounted(String what) {
    add("unaccounted");
    if (samples.size() < SAMPLES) {
      samples.add(what);
    }
  }

  /** Something worth reading in the report that is not a failure (an unplanned error). */
  void note(String what) {
    if (notes.size() < SAMPLES) {
      notes.add(what);
    }
  }

  List<String> notes() {
    return notes;
  }

  List<String> samples() {
    return samples;
  }
}
