package io.sluice.plugin;

import io.sluice.config.PluginCatalog;
import io.sluice.config.PluginSettings;
import java.util.Collection;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The plugin factories on the class path, by name ({@link ServiceLoader}). As the config loader's
 * {@link PluginCatalog} it validates each entry of a route's {@code plugins} block with the
 * factory of that name, and returns it as a {@link ConfiguredPlugin}.
 */
public final class PluginRegistry implements PluginCatalog {
  private final Map<String, PluginFactory<?>> byName;

  private PluginRegistry(Map<String, PluginFactory<?>> byName) {
    this.byName = Map.copyOf(byName);
  }

  /** Every factory listed in {@code META-INF/services/io.sluice.plugin.PluginFactory}. */
  public static PluginRegistry load() {
    Map<String, PluginFactory<?>> found = new TreeMap<>();
    for (PluginFactory<?> f : ServiceLoader.load(PluginFactory.class)) {
      PluginFactory<?> previous = found.put(f.name(), f);
      if (previous != null) {
        throw new IllegalStateException("two plugins are named '" + f.name() + "': "
            + previous.getClass().getName() + " and " + f.getClass().getName());
      }
    }
    return new PluginRegistry(found);
  }

  /** A registry of exactly these factories (tests). */
  public static PluginRegistry of(Collection<? extends PluginFactory<?>> factories) {
    Map<String, PluginFactory<?>> m = new TreeMap<>();
    factories.forEach(f -> m.put(f.name(), f));
    return new PluginRegistry(m);
  }

  public PluginFactory<?> find(String name) {
    return byName.get(name);
  }

  /** Known names, sorted, for "expected one of" messages. */
  @Override
  public Collection<String> names() {
    return new TreeMap<>(byName).keySet();
  }

  @Override
  public ConfiguredPlugin parse(String name, PluginSettings settings) {
    PluginFactory<?> factory = find(name);
    if (factory == null) {
      throw new IllegalArgumentException("unknown plugin '" + name + "'");
    }
    Object parsed = factory.parse(settings);
    return parsed == null ? null : new ConfiguredPlugin(factory, parsed);
  }
}
