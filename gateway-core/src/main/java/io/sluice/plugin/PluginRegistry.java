package io.sluice.plugin;

import java.util.Collection;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The plugin factories on the class path, by name ({@link ServiceLoader}). */
public final class PluginRegistry {
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
  public Collection<String> names() {
    return new TreeMap<>(byName).keySet();
  }
}
