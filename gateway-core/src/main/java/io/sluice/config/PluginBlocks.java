package io.sluice.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The config's plugin blocks: the top-level {@code plugins:} (applied to every route) and each
 * route's own, resolved into the route's plugin list. Every entry names a plugin of the catalog,
 * which validates its settings with the same path-qualified problems as the rest of the file.
 */
final class PluginBlocks {
  private final PluginCatalog catalog;
  /** The declared consumers (filled before the routes are read): plugins' {@code allow} lists name them. */
  private final Set<String> consumerNames;
  /** The top-level block's valid entries, in the order written: every route starts from these. */
  private final Map<String, RoutePlugin> globalPlugins = new LinkedHashMap<>();
  /** Every known plugin named in the top-level block, valid or not: what a route may turn {@code off}. */
  private final Set<String> globalNames = new LinkedHashSet<>();

  PluginBlocks(PluginCatalog catalog, Set<String> consumerNames) {
    this.catalog = catalog;
    this.consumerNames = consumerNames;
  }

  /**
   * The top-level {@code plugins} block: the same entries as a route's, validated once under
   * {@code plugins.<name>}, and the start of every route's plugins ({@link #route}).
   * {@code off} means nothing here (a plugin that should run nowhere is simply not listed).
   */
  void global(ConfigNode node) {
    Map<String, ConfigNode> entries = node.entries();
    if (entries == null) {
      return;
    }
    for (Map.Entry<String, ConfigNode> e : entries.entrySet()) {
      String name = e.getKey();
      ConfigNode value = e.getValue();
      if (!knownPlugin(name, value)) {
        continue;
      }
      if (value.isOff()) {
        value.problem("off is only for a route's plugins block, to turn a global plugin off there"
            + " (to run " + name + " on no route, remove it here)");
        continue;
      }
      globalNames.add(name);
      RoutePlugin plugin = catalog.parse(name, new PluginSettings(value, consumerNames));
      if (plugin != null) {
        globalPlugins.put(name, plugin);
      }
    }
  }

  /**
   * {@code routes[].plugins}, resolved against the top-level block: every global plugin, then the
   * route's own entries per plugin name — settings replace the global plugin's settings whole
   * (no merging of keys), {@code off} drops a global plugin from this route. Each key names a
   * plugin of the catalog, which validates its settings with the same path-qualified problems as
   * the rest of the file.
   *
   * <p>The result is the route's whole plugin list, so a route's config changes when the global
   * block it inherits changes: a reload then rebuilds exactly the routes whose resolved plugins
   * differ, and routes that override or turn off the changed plugin keep their running ones.
   */
  List<RoutePlugin> route(ConfigNode node) {
    Map<String, RoutePlugin> resolved = new LinkedHashMap<>(globalPlugins);
    Map<String, ConfigNode> entries = node.entries();
    if (entries == null) {
      return new ArrayList<>(resolved.values());
    }
    for (Map.Entry<String, ConfigNode> e : entries.entrySet()) {
      String name = e.getKey();
      ConfigNode value = e.getValue();
      if (!knownPlugin(name, value)) {
        continue;
      }
      if (value.isOff()) {
        // Refused rather than ignored: an "off" that turns nothing off is a typo or a stale line,
        // and a user who believes a route is open (or closed) should hear that it is not so.
        if (!globalNames.contains(name)) {
          value.problem("off turns off a global plugin, but " + name + " is not one ("
              + (globalNames.isEmpty() ? "no global plugins are configured"
                  : "global plugins: " + String.join(", ", globalNames)) + ")");
        }
        resolved.remove(name);
        continue;
      }
      RoutePlugin plugin = catalog.parse(name, new PluginSettings(value, consumerNames));
      if (plugin != null) {
        resolved.put(name, plugin); // an override keeps the global plugin's place in the list
      } else {
        resolved.remove(name);
      }
    }
    return new ArrayList<>(resolved.values());
  }

  /** Whether the catalog knows {@code name}; reports "unknown plugin" at {@code value} when not. */
  boolean knownPlugin(String name, ConfigNode value) {
    Collection<String> known = catalog.names();
    if (known.contains(name)) {
      return true;
    }
    value.problem(known.isEmpty() ? "unknown plugin (no plugins are installed)"
        : "unknown plugin (expected one of: " + String.join(", ", known) + ")");
    return false;
  }
}
