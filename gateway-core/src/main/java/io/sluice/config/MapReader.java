package io.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads one YAML map whose keys are fixed by the config format, and reports every key nobody asked
 * for.
 *
 * <p>Callers {@link #get} each supported key (in a fixed order: that order is what
 * "expected one of" lists), {@link #reject} each key whose feature is not built yet, then call
 * {@link #finish}. Rejected keys are recognised, so a user sees "not supported yet" rather than a
 * misleading "unknown key" — and they are never silently ignored, since a config that asks for TLS
 * must not quietly serve plaintext.
 */
final class MapReader {
  private final JsonNode node;
  private final String path;
  private final Problems problems;
  private final Substitutor substitutor;
  private final Set<String> supported = new LinkedHashSet<>();
  private final Set<String> recognised = new LinkedHashSet<>();

  MapReader(JsonNode node, String path, Problems problems, Substitutor substitutor) {
    this.node = node;
    this.path = path;
    this.problems = problems;
    this.substitutor = substitutor;
  }

  String path() {
    return path;
  }

  ConfigNode get(String key) {
    supported.add(key);
    recognised.add(key);
    return new ConfigNode(node.get(key), Problems.child(path, key), problems, substitutor);
  }

  /** Refuses {@code key} whenever it is written at all. */
  void reject(String key, String missingFeature) {
    recognised.add(key);
    if (node.has(key)) {
      problems.add(Problems.child(path, key), notSupported(missingFeature));
    }
  }

  /** Refuses {@code key} when it is {@code true}; {@code false} asks for what we do anyway. */
  void rejectIfTrue(String key, String missingFeature) {
    recognised.add(key);
    ConfigNode value = new ConfigNode(node.get(key), Problems.child(path, key), problems, substitutor);
    if (Boolean.TRUE.equals(value.bool())) {
      value.problem(notSupported(missingFeature));
    }
  }

  /** Reports every key that was neither read nor rejected. */
  void finish() {
    List<String> unknown = new ArrayList<>();
    node.fieldNames().forEachRemaining(k -> {
      if (!recognised.contains(k)) {
        unknown.add(k);
      }
    });
    for (String k : unknown) {
      problems.add(Problems.child(path, k), "unknown key (expected one of: " + String.join(", ", supported) + ")");
    }
  }

  /** @param reason names the missing feature, e.g. "resilient streams are not built yet" */
  static String notSupported(String reason) {
    return "not supported yet in this version (" + reason + ")";
  }
}
