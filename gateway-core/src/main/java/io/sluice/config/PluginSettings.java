package io.sluice.config;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A plugin's view of its part of the YAML ({@code routes[i].plugins.<name>}, or
 * {@code plugins.<name>} for a global plugin, validated once for every route), with the same
 * rules as the rest of the config: every read reports its own problem under its full path, all
 * problems are collected, unknown keys are reported by {@link #finish}.
 *
 * <p>A read that fails returns null; the plugin simply skips building what it could not read.
 */
public final class PluginSettings {
  private final ConfigNode node;
  private final Set<String> consumerNames;
  private MapReader map;
  private boolean mapRead;

  PluginSettings(ConfigNode node, Set<String> consumerNames) {
    this.node = node;
    this.consumerNames = Set.copyOf(consumerNames);
  }

  /** The full path of this value, e.g. {@code routes[0].plugins.key-auth} or {@code plugins.key-auth}. */
  public String path() {
    return node.path();
  }

  public boolean present() {
    return node.present();
  }

  /** Reports a problem at this value's path. */
  public void problem(String message) {
    node.problem(message);
  }

  /** Reports "required" when absent. */
  public PluginSettings required() {
    node.required();
    return this;
  }

  /** Names of the declared {@code consumers[]}, to check references such as allow lists. */
  public Set<String> consumerNames() {
    return consumerNames;
  }

  /** The value under {@code key} of this map (an absent key reads as absent, not as an error). */
  public PluginSettings get(String key) {
    MapReader m = mapReader();
    if (m == null) {
      return new PluginSettings(new ConfigNode(null, Problems.child(path(), key), problemsSink(), null),
          consumerNames);
    }
    return new PluginSettings(m.get(key), consumerNames);
  }

  /** Reports every key of this map that was not read with {@link #get}. */
  public void finish() {
    MapReader m = mapReader();
    if (m != null) {
      m.finish();
    }
  }

  private MapReader mapReader() {
    if (!mapRead) {
      mapRead = true;
      map = node.present() ? node.map() : null;
    }
    return map;
  }

  private Problems problemsSink() {
    return node.problems();
  }

  public String string() {
    return node.string();
  }

  public String nonEmptyString() {
    return node.nonEmptyString();
  }

  /** A non-empty string that is a secret (never echoed). */
  public Secret secret() {
    String s = node.nonEmptyString();
    return s == null ? null : new Secret(s);
  }

  /** A file name, resolved against the config file's folder when relative (like {@code ${file:…}}). */
  public Path file() {
    return node.file();
  }

  public Integer integer(long min, long max) {
    return node.integer(min, max, null);
  }

  public Long longValue(long min, long max) {
    return node.longValue(min, max);
  }

  /** A number greater than zero; fractions allowed (rates). */
  public Double positiveNumber() {
    return node.positiveNumber();
  }

  /** A decimal number {@code >= 0}, read exactly (USD amounts). */
  public BigDecimal nonNegativeDecimal() {
    return node.nonNegativeDecimal();
  }

  public Boolean bool() {
    return node.bool();
  }

  public Duration duration() {
    return node.duration();
  }

  public Duration positiveDuration() {
    return node.positiveDuration();
  }

  public Long size() {
    return node.size();
  }

  /** The items of a list (null when absent or not a list). */
  public List<PluginSettings> list() {
    List<ConfigNode> items = node.list();
    if (items == null) {
      return null;
    }
    List<PluginSettings> out = new ArrayList<>(items.size());
    items.forEach(i -> out.add(new PluginSettings(i, consumerNames)));
    return out;
  }

  /** A list of strings; items that are not strings are reported and skipped. */
  public List<String> strings() {
    List<String> out = new ArrayList<>();
    for (ConfigNode item : node.stringItems()) {
      String s = item.nonEmptyString();
      if (s != null) {
        out.add(s);
      }
    }
    return out;
  }

  /** A map with free keys, in document order (null when absent). */
  public Map<String, PluginSettings> entries() {
    Map<String, ConfigNode> e = node.entries();
    if (e == null) {
      return null;
    }
    Map<String, PluginSettings> out = new LinkedHashMap<>();
    e.forEach((k, v) -> out.put(k, new PluginSettings(v, consumerNames)));
    return out;
  }
}
