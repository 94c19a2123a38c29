package io.sluice.translate;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One JSON object's fields and what becomes of each in the other API: a table, so what is carried,
 * what is accepted only at its neutral value and what is refused can be read in one place (and
 * matches {@code gateway-core/docs/translation.md}). A field the table does not name is refused
 * — never dropped silently. A JSON {@code null} means "not set" in both APIs and is skipped.
 *
 * @param <C> the per-request state the rules write to
 */
final class FieldTable<C> {

  /** What one field becomes. */
  @FunctionalInterface
  interface Rule<C> {
    void apply(String path, JsonNode value, C ctx);
  }

  private final Map<String, Rule<C>> rules;

  private FieldTable(Map<String, Rule<C>> rules) {
    this.rules = rules;
  }

  static <C> Builder<C> builder() {
    return new Builder<>();
  }

  /** Applies the table to every field of {@code object}, whose path is {@code path}. */
  void apply(String path, JsonNode object, C ctx) {
    if (!object.isObject()) {
      throw refuse(path, "expected a JSON object");
    }
    var fields = object.fields();
    while (fields.hasNext()) {
      var field = fields.next();
      String fieldPath = path.isEmpty() ? field.getKey() : path + "." + field.getKey();
      Rule<C> rule = rules.get(field.getKey());
      if (rule == null) {
        throw refuse(fieldPath, "the upstream's API has no equivalent");
      }
      if (!field.getValue().isNull()) {
        rule.apply(fieldPath, field.getValue(), ctx);
      }
    }
  }

  static UntranslatableFieldException refuse(String path, String why) {
    return new UntranslatableFieldException(path, why);
  }

  static final class Builder<C> {
    private final Map<String, Rule<C>> rules = new LinkedHashMap<>();

    /** Carried over by {@code rule}. */
    Builder<C> map(String field, Rule<C> rule) {
      rules.put(field, rule);
      return this;
    }

    /** Accepted only at its neutral value (what the API does when the field is absent). */
    Builder<C> neutral(String field, JsonNode neutralValue, String why) {
      rules.put(field, (path, value, ctx) -> {
        if (!value.equals(neutralValue) && !(value.isNumber() && neutralValue.isNumber()
            && value.asDouble() == neutralValue.asDouble())) {
          throw refuse(path, why);
        }
      });
      return this;
    }

    /** Read elsewhere (by the caller), not by the table. */
    Builder<C> handledElsewhere(String field) {
      rules.put(field, (path, value, ctx) -> { });
      return this;
    }

    FieldTable<C> build() {
      return new FieldTable<>(Map.copyOf(rules)); // lookups only: order does not matter
    }
  }

  /** Refuses any field of {@code object} other than {@code allowed} (nulls aside). */
  static void expectOnly(String path, JsonNode object, String... allowed) {
    if (!object.isObject()) {
      throw refuse(path, "expected a JSON object");
    }
    var names = object.fieldNames();
    outer:
    while (names.hasNext()) {
      String name = names.next();
      for (String a : allowed) {
        if (a.equals(name)) {
          continue outer;
        }
      }
      if (!object.get(name).isNull()) {
        throw refuse(path + "." + name, "the upstream's API has no equivalent");
      }
    }
  }
}
