package io.sluice.config;

import io.sluice.http.HttpSyntax;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The config's HTTP header settings, wherever they stand ({@code routes[].request-headers},
 * {@code routes[].response-headers}, {@code routes[].match.headers}, {@code upstreams[].headers},
 * {@code upstreams[].api-key}): names must be HTTP tokens, and values must not hold a line break,
 * which would let a value inject further headers.
 */
final class HeaderBlocks {
  private HeaderBlocks() {}

  /** {@code routes[].request-headers} and {@code routes[].response-headers}: {@code set} and {@code remove}. */
  static HeaderOps ops(ConfigNode node) {
    MapReader m = node.map();
    if (m == null) {
      return HeaderOps.NONE;
    }
    Map<String, String> set = new LinkedHashMap<>();
    Map<String, ConfigNode> setNodes = m.get("set").entries();
    if (setNodes != null) {
      setNodes.forEach(
          (name, value) -> {
            checkName(name, value);
            String v = value(value);
            if (v != null) {
              set.put(name, v);
            }
          });
    }
    List<String> remove = new ArrayList<>();
    for (ConfigNode nameNode : m.get("remove").stringItems()) {
      String name = nameNode.string();
      if (name != null && !HttpSyntax.isToken(name)) {
        nameNode.problem("not a valid header name (got " + nameNode.got() + ")");
      } else if (name != null) {
        remove.add(name);
      }
    }
    m.finish();
    return new HeaderOps(set, remove);
  }

  /** Reports "not a valid header name" at {@code value} when {@code name} is not an HTTP token. */
  static void checkName(String name, ConfigNode value) {
    if (!HttpSyntax.isToken(name)) {
      value.problem("not a valid header name");
    }
  }

  /** A header value; CR and LF would let a value inject further headers. */
  static String value(ConfigNode node) {
    String v = node.string();
    if (!node.present()) {
      node.problem("expected a string");
      return null;
    }
    if (v != null && (v.indexOf('\r') >= 0 || v.indexOf('\n') >= 0)) {
      node.problem("must not contain line breaks");
      return null;
    }
    return v;
  }
}
