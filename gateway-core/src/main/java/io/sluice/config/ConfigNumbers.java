package io.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.function.DoublePredicate;
import java.util.function.Function;

/**
 * How {@link ConfigNode} reads numbers: a YAML number, or a string holding a {@code ${…}}
 * reference (references can only live in strings), each with its range and its message.
 * Each reads a value that is present; the documentation of each is on {@link ConfigNode}, where
 * callers meet it.
 */
final class ConfigNumbers {
  private ConfigNumbers() {}

  static Integer integer(ConfigNode n, long min, long max, String form) {
    JsonNode json = n.json();
    String rangeForm =
        form != null
            ? form
            : max >= Integer.MAX_VALUE ? "an integer >= " + min : "an integer " + min + ".." + max;
    Long value = null;
    if (json.isIntegralNumber()) {
      value = json.canConvertToLong() ? json.longValue() : null;
      if (value == null) { // a BigInteger: out of any range we accept
        n.problem("expected " + rangeForm + " (got " + n.got() + ")");
        return null;
      }
    } else if (n.isSubstituted()) {
      value = parseSubstituted(n, Long::parseLong);
      if (value == null) {
        n.problem("expected an integer (got a substituted value)");
        return null;
      }
    } else {
      n.problem("expected an integer");
      return null;
    }
    if (value < min || value > max) {
      n.problem("expected " + rangeForm + " (got " + (n.isSubstituted() ? "a substituted value" : value) + ")");
      return null;
    }
    return value.intValue();
  }

  static Long longValue(ConfigNode n, long min, long max) {
    JsonNode json = n.json();
    if (!json.isIntegralNumber() || !json.canConvertToLong()) {
      n.problem("expected an integer");
      return null;
    }
    long value = json.longValue();
    if (value < min || value > max) {
      n.problem("expected an integer " + (max == Long.MAX_VALUE ? ">= " + min : min + ".." + max) + " (got " + value + ")");
      return null;
    }
    return value;
  }

  static BigDecimal nonNegativeDecimal(ConfigNode n) {
    JsonNode json = n.json();
    BigDecimal value = null;
    try {
      if (json.isNumber()) {
        value = json.isFloatingPointNumber() ? new BigDecimal(json.asText()) : json.decimalValue();
      } else if (n.isSubstituted()) {
        value = parseSubstituted(n, BigDecimal::new);
      }
    } catch (NumberFormatException e) {
      value = null;
    }
    if (value == null || value.signum() < 0) {
      n.problem("expected a number >= 0 (got " + (n.isSubstituted() ? "a substituted value" : n.got()) + ")");
      return null;
    }
    return value.stripTrailingZeros();
  }

  /**
   * A YAML number or a substituted string read as a double, when {@code inRange} accepts it;
   * otherwise null, with the problem "expected {@code form}" (a substitution that failed has
   * reported its own).
   */
  static Double doubleIn(ConfigNode n, DoublePredicate inRange, String form) {
    JsonNode json = n.json();
    Double value = null;
    if (json.isNumber()) {
      value = json.doubleValue();
    } else if (n.isSubstituted()) {
      value = parseSubstituted(n, Double::parseDouble);
    }
    if (value == null || !inRange.test(value)) {
      n.problem("expected " + form + " (got " + n.got() + ")");
      return null;
    }
    return value;
  }

  /**
   * A substituted string's value read by {@code parse}; null when it is not such a number, or when
   * the reference failed: that has been reported and silences the path, so a caller's "expected
   * a number" does not echo it.
   */
  private static <T> T parseSubstituted(ConfigNode n, Function<String, T> parse) {
    String s = n.expanded();
    if (s == null) {
      return null;
    }
    try {
      return parse.apply(s.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
