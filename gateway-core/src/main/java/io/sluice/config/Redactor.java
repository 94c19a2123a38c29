package io.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Builds the config as written with every secret replaced by {@code "<redacted>"}, for
 * {@code GET /admin/config}, the admin listener's view of the running config.
 *
 * <p>It works on the tree as written, not the expanded one: every string holding a {@code ${…}}
 * reference is a secret and is replaced as a whole, so its expansion is never needed here (and an
 * expansion can never leak through a bug in this class). On top of that, values that are secrets by
 * their place — {@code admin.token}, {@code consumers[].api-keys[]}, {@code upstreams[].headers}, {@code upstreams[].api-key} —
 * are replaced even when written inline, and so is the password of any URL ({@code
 * redis://user:pw@host}), wherever it appears.
 */
final class Redactor {
  static final String REDACTED = "<redacted>";

  private static final Pattern URL_PASSWORD =
      Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://[^/?#@\\s:]*:)[^/?#@\\s]*(@)");

  private Redactor() {}

  static JsonNode redact(JsonNode asWritten) {
    JsonNode copy = strings(asWritten);
    if (copy instanceof ObjectNode root) {
      JsonNode admin = root.get("admin");
      if (admin instanceof ObjectNode a && a.has("token")) {
        a.put("token", REDACTED);
      }
      forEachMap(root.get("consumers"), c -> replaceItems(c, "api-keys"));
      forEachMap(root.get("upstreams"), u -> {
        replaceItems(u, "headers");
        if (u.has("api-key")) {
          u.put("api-key", REDACTED);
        }
      });
    }
    return copy;
  }

  /** {@code url} with the password of its user info (if any) replaced, for messages and logs. */
  static String hideUrlPassword(String url) {
    return URL_PASSWORD.matcher(url).replaceAll("$1" + REDACTED + "$2");
  }

  /** A deep copy with references replaced, escapes undone and URL passwords hidden. */
  private static JsonNode strings(JsonNode n) {
    if (n == null) {
      return JsonNodeFactory.instance.objectNode();
    }
    if (n.isTextual()) {
      String s = n.textValue();
      if (Substitutor.hasReference(s)) {
        return TextNode.valueOf(REDACTED);
      }
      return TextNode.valueOf(hideUrlPassword(Substitutor.unescape(s)));
    }
    if (n.isArray()) {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      n.forEach(item -> out.add(strings(item)));
      return out;
    }
    if (n.isObject()) {
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        out.set(e.getKey(), strings(e.getValue()));
      }
      return out;
    }
    return n.deepCopy();
  }

  private static void forEachMap(JsonNode list, Consumer<ObjectNode> action) {
    if (list instanceof ArrayNode a) {
      a.forEach(item -> {
        if (item instanceof ObjectNode o) {
          action.accept(o);
        }
      });
    }
  }

  /**
   * Replaces every item (list) or every value (map) under {@code key}; anything else there is
   * replaced whole, since a mistyped secret is still a secret.
   */
  private static void replaceItems(ObjectNode parent, String key) {
    JsonNode v = parent.get(key);
    if (v == null || v.isNull()) {
      return;
    }
    if (v instanceof ArrayNode a) {
      for (int i = 0; i < a.size(); i++) {
        a.set(i, TextNode.valueOf(REDACTED));
      }
    } else if (v instanceof ObjectNode o) {
      List<String> keys = new ArrayList<>();
      o.fieldNames().forEachRemaining(keys::add);
      keys.forEach(k -> o.set(k, TextNode.valueOf(REDACTED)));
    } else {
      parent.put(key, REDACTED);
    }
  }
}
