package io.sluice.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Collects every problem found while reading one config, as {@code <path>: <problem>} lines.
 *
 * <p>A path whose value could not be produced at all (an unset {@code ${ENV_VAR}}, an unreadable
 * {@code ${file:…}}) is <em>poisoned</em>: later complaints about the same path ("required",
 * "is not defined", …) would only be echoes of the first one, so they are dropped.
 */
final class Problems {
  private final List<String> messages = new ArrayList<>();
  private final Set<String> poisoned = new HashSet<>();

  void add(String path, String problem) {
    if (!poisoned.contains(path)) {
      messages.add((path.isEmpty() ? "(root)" : path) + ": " + problem);
    }
  }

  /** Silences any further problems at this path (its value could not be produced at all). */
  void poison(String path) {
    poisoned.add(path);
  }

  boolean isEmpty() {
    return messages.isEmpty();
  }

  List<String> messages() {
    return List.copyOf(messages);
  }

  static String child(String path, String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  static String index(String path, int i) {
    return path + "[" + i + "]";
  }
}
