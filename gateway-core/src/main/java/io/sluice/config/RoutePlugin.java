package io.sluice.config;

/**
 * One entry of a route's {@code plugins} block (or of the top-level block that every route
 * inherits) once validated: the plugin's name and the settings object its {@link PluginCatalog}
 * built, before anything runs.
 *
 * <p>To the config the settings are opaque. The catalog that parsed them returns its own
 * implementation, which also knows how to build the running plugin (the gateway's
 * {@code PluginRegistry} returns {@code io.sluice.plugin.ConfiguredPlugin}s). Implementations
 * compare by value: a reload keeps a route's running plugins, and their state, only when the
 * route's config, its resolved plugins (global ones included), equals the one before.
 */
public interface RoutePlugin {
  /** The key under {@code routes[].plugins} or the top-level {@code plugins}. */
  String name();

  /** What the plugin's own validation made of its settings. */
  Object settings();
}
