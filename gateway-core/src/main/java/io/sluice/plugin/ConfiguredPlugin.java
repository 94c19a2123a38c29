package io.sluice.plugin;

import io.sluice.config.RoutePlugin;

/**
 * A plugin as the config names it: its factory and its validated settings, before anything runs.
 * This is what {@link PluginRegistry} hands the config loader for each entry of a route's
 * {@code plugins} block, so a route's {@link RoutePlugin}s are these.
 */
public record ConfiguredPlugin(PluginFactory<?> factory, Object settings) implements RoutePlugin {
  /**
   * The configured plugin behind a route's entry. The config holds its plugins as
   * {@link RoutePlugin}s so that it needs no plugin type; every one a loader produced came from the
   * catalog it was given, and only a {@link PluginRegistry}'s entries can be run.
   *
   * @throws IllegalArgumentException for an entry some other catalog made
   */
  public static ConfiguredPlugin of(RoutePlugin plugin) {
    if (plugin instanceof ConfiguredPlugin configured) {
      return configured;
    }
    throw new IllegalArgumentException("plugin '" + plugin.name() + "' was not configured through a "
        + "PluginRegistry, so it cannot be run (" + plugin.getClass().getName() + ")");
  }

  @Override
  public String name() {
    return factory.name();
  }

  /** Builds the running plugin; the settings came from this factory's own {@code parse}. */
  @SuppressWarnings("unchecked")
  public Plugin create(PluginServices services) {
    return ((PluginFactory<Object>) factory).create(settings, services);
  }
}
