package io.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * One value of the YAML tree together with its path ({@code routes[1].match.path-prefix}).
 *
 * <p>Every typed read reports its own problem to {@link Problems} under this path and returns null,
 * so callers never stop at the first mistake: they simply skip building what could not be read.
 * Absent keys and explicit YAML nulls ({@code key:} with nothing after it) both read as null
 * without a problem; {@link #required()} turns that into one.
 *
 * <p>String values are expanded ({@link Substitutor}) when read, not beforehand, so a reference in a
 * section that is rejected anyway produces no second, confusing error.
 */
final class ConfigNode {
  private final JsonNode node;
  private final String path;
  private final Problems problems;
  private final Substitutor substitutor;

  ConfigNode(JsonNode node, String path, Problems problems, Substitutor substitutor) {
    this.node = node;
    this.path = path;
    this.problems = problems;
    this.substitutor = substitutor;
  }

  String path() {
    return path;
  }

  Problems problems() {
    return problems;
  }

  /** The YAML value itself (for {@link ConfigNumbers}). */
  JsonNode json() {
    return node;
  }

  boolean present() {
    return node != null && !node.isNull() && !node.isMissingNode();
  }

  void problem(String message) {
    problems.add(path, message);
  }

  /** Reports "required" when the value is absent; returns this for chaining. */
  ConfigNode required() {
    if (!present()) {
      problem("required");
    }
    return this;
  }

  /** Whether this string value holds a {@code ${…}} reference, which makes it a secret. */
  boolean isSubstituted() {
    return node != null && node.isTextual() && Substitutor.hasReference(node.textValue());
  }

  /** The value as shown in messages: secrets are never echoed. */
  String got() {
    if (node == null || node.isNull()) {
      return "nothing";
    }
    if (node.isTextual()) {
      return isSubstituted() ? "a substituted value" : "'" + node.textValue() + "'";
    }
    if (node.isArray()) {
      return "a list";
    }
    if (node.isObject()) {
      return "a map";
    }
    return node.asText();
  }

  /**
   * Whether the value is {@code off}: the word as written reads as the boolean {@code false} (YAML
   * 1.1, like {@code no}), a quoted {@code 'off'} as the string. Nothing is reported either way.
   */
  boolean isOff() {
    return node != null && (node.isBoolean() && !node.booleanValue()
        || node.isTextual() && node.textValue().equals("off"));
  }

  /** A string, expanded; null when absent, of the wrong type, or when a reference failed. */
  String string() {
    if (!present()) {
      return null;
    }
    if (!node.isTextual()) {
      problem("expected a string");
      return null;
    }
    return expanded();
  }

  /** A string that must not be empty (names, keys, tokens). */
  String nonEmptyString() {
    String s = string();
    if (s != null && s.isEmpty()) {
      problem("must not be empty");
      return null;
    }
    return s;
  }

  /** A path that must start with '/' (match paths, rewrite-path, health-check path). */
  String absolutePath() {
    String s = string();
    if (s != null && !s.startsWith("/")) {
      problem("must start with '/' (got " + got() + ")");
      return null;
    }
    return s;
  }

  /** One of {@code values}, each written as {@code yamlName} gives it; null when absent or unknown. */
  <E> E choice(E[] values, Function<E, String> yamlName) {
    String s = string();
    if (s == null) {
      return null;
    }
    for (E v : values) {
      if (yamlName.apply(v).equals(s)) {
        return v;
      }
    }
    problem("expected one of: " + Arrays.stream(values).map(yamlName).collect(Collectors.joining(", "))
        + " (got " + got() + ")");
    return null;
  }

  /** The string value with its references expanded; null (reported) when one failed. */
  String expanded() {
    Substitutor.Result r = substitutor.expand(node.textValue());
    if (!r.problems().isEmpty()) {
      r.problems().forEach(p -> problems.add(path, p));
      problems.poison(path);
      return null;
    }
    return r.value();
  }

  /**
   * An integer in {@code min..max}. A substituted string ({@code port: ${PORT:-8080}}) is accepted
   * too, since references can only live in strings.
   *
   * @param form what to ask for when out of range, e.g. "a port 0..65535"; null for the generic
   *     "an integer min..max" / "an integer >= min"
   */
  Integer integer(long min, long max, String form) {
    return present() ? ConfigNumbers.integer(this, min, max, form) : null;
  }

  /** A whole number in {@code min..max} that may exceed an int (token budgets). */
  Long longValue(long min, long max) {
    return present() ? ConfigNumbers.longValue(this, min, max) : null;
  }

  /**
   * A number greater than zero, fractions allowed (rates such as {@code requests-per-second: 0.5});
   * a substituted string is accepted too.
   */
  Double positiveNumber() {
    return present() ? ConfigNumbers.doubleIn(this, v -> v > 0 && !Double.isInfinite(v), "a number > 0") : null;
  }

  /**
   * A decimal number {@code >= 0} read exactly (prices: {@code 0.15} stays 0.15, never a binary
   * fraction); a substituted string is accepted too.
   */
  BigDecimal nonNegativeDecimal() {
    return present() ? ConfigNumbers.nonNegativeDecimal(this) : null;
  }

  /** A number in {@code 0..1} (a share, such as a sampling ratio); a substituted string is accepted too. */
  Double fraction() {
    return present() ? ConfigNumbers.doubleIn(this, v -> v >= 0 && v <= 1, "a number 0..1") : null;
  }

  /** True or false; a substituted string "true"/"false" is accepted too. */
  Boolean bool() {
    if (!present()) {
      return null;
    }
    if (node.isBoolean()) {
      return node.booleanValue();
    }
    if (isSubstituted()) {
      String s = expanded();
      if (s == null) {
        return null;
      }
      if (s.equals("true") || s.equals("false")) {
        return Boolean.valueOf(s);
      }
    }
    problem("expected true or false");
    return null;
  }

  /**
   * A file name, resolved against the config file's folder when relative; null when absent or not
   * a valid file name. Whether the file can be read is the caller's business.
   */
  Path file() {
    String s = nonEmptyString();
    if (s == null) {
      return null;
    }
    try {
      return substitutor.resolvePath(Path.of(s));
    } catch (InvalidPathException e) {
      problem("expected a file name (got " + got() + ")");
      return null;
    }
  }

  /** A duration in the {@link Units} grammar. */
  Duration duration() {
    if (!present()) {
      return null;
    }
    String s = node.isTextual() ? expanded() : null;
    if (node.isTextual() && s == null) {
      return null; // the reference problem was reported
    }
    try {
      return Units.parseDuration(s);
    } catch (IllegalArgumentException e) {
      problem("expected " + Units.DURATION_FORM + " (got " + got() + ")");
      return null;
    }
  }

  /** A duration that must be longer than zero (timeouts whose absence would hang forever). */
  Duration positiveDuration() {
    Duration d = duration();
    if (d != null && d.isZero()) {
      problem("must be longer than 0s");
      return null;
    }
    return d;
  }

  /** A size in bytes in the {@link Units} grammar. */
  Long size() {
    if (!present()) {
      return null;
    }
    String s = node.isTextual() ? expanded() : null;
    if (node.isTextual() && s == null) {
      return null;
    }
    try {
      return Units.parseSize(s);
    } catch (IllegalArgumentException e) {
      problem("expected " + Units.SIZE_FORM + " (got " + got() + ")");
      return null;
    }
  }

  /** A size larger than zero and at most {@code max} (body, header and buffer limits). */
  Long positiveSize(long max) {
    Long size = size();
    if (size == null) {
      return null;
    }
    if (size <= 0) {
      // There is no "unlimited": 0 would refuse everything, which is never what was meant.
      problem("must be larger than 0B");
      return null;
    }
    if (size > max) {
      problem("must be at most " + Units.formatSize(max) + " (got " + got() + ")");
      return null;
    }
    return size;
  }

  /** A required-non-empty list; "must not be empty" for {@code []}. Never null. */
  List<ConfigNode> nonEmptyItems() {
    List<ConfigNode> items = list();
    if (items != null && items.isEmpty()) {
      problem("must not be empty");
    }
    return items != null ? items : List.of();
  }

  /**
   * The items of a list that are maps, each read as the loop reaches it (so problems stay in
   * document order); any other item is reported "expected a map" and skipped.
   */
  Iterable<MapReader> mapItems() {
    return eachItem(ConfigNode::mapItem);
  }

  /** The items of a list, to be read as strings; a bare {@code -} is reported "expected a string" and skipped. */
  Iterable<ConfigNode> stringItems() {
    return eachItem(item -> {
      if (!item.present()) {
        item.problem("expected a string");
        return null;
      }
      return item;
    });
  }

  /** The items of a list read lazily by {@code read}, without those it returned null for. */
  private <T> Iterable<T> eachItem(Function<ConfigNode, T> read) {
    List<ConfigNode> items = items();
    return () -> items.stream().map(read).filter(Objects::nonNull).iterator();
  }

  /** This node as a list item that must be a map; a bare {@code -} is reported too. */
  MapReader mapItem() {
    if (!present()) {
      problem("expected a map");
      return null;
    }
    return map();
  }

  /** A non-empty string that no earlier sibling used; {@code seen} maps value to first path. */
  String unique(Map<String, String> seen, String what) {
    String value = nonEmptyString();
    if (value == null) {
      return null;
    }
    String first = seen.putIfAbsent(value, path());
    if (first != null) {
      problem("duplicate " + what + " " + got() + " (also " + first + ")");
      return null;
    }
    return value;
  }

  /** A map with known keys; null (and "expected a map") when the value is something else. */
  MapReader map() {
    if (!present()) {
      return null;
    }
    if (!node.isObject()) {
      problem("expected a map");
      return null;
    }
    return new MapReader(node, path, problems, substitutor);
  }

  /** A map with free keys (header names), in document order. */
  Map<String, ConfigNode> entries() {
    if (!present()) {
      return null;
    }
    if (!node.isObject()) {
      problem("expected a map");
      return null;
    }
    Map<String, ConfigNode> out = new LinkedHashMap<>();
    node.fields()
        .forEachRemaining(
            e ->
                out.put(
                    e.getKey(),
                    new ConfigNode(e.getValue(), Problems.child(path, e.getKey()), problems, substitutor)));
    return out;
  }

  /** The items of a list; null (and "expected a list") when the value is something else. */
  List<ConfigNode> list() {
    if (!present()) {
      return null;
    }
    if (!node.isArray()) {
      problem("expected a list");
      return null;
    }
    List<ConfigNode> out = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      out.add(new ConfigNode(node.get(i), Problems.index(path, i), problems, substitutor));
    }
    return out;
  }

  /** The items of a list, or none when absent or not a list (reported as {@link #list()} does). */
  List<ConfigNode> items() {
    List<ConfigNode> items = list();
    return items != null ? items : List.of();
  }

  /** The value read, or {@code fallback} when it was absent or refused. */
  static <T> T or(T value, T fallback) {
    return value != null ? value : fallback;
  }
}
