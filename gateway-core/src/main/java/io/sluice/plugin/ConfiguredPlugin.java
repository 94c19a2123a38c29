package io.sluice.plugin;

/**
 * A plugin as the config names it: its factory and its validated settings, before anything runs.
 */
public record ConfiguredPlugin(PluginFactory<?> factory, Object settings) {
  public String name() {
    return factory.name();
  }

  /** Builds the running plugin; the settings came from this factory's own {@code parse}. */
  @SuppressWarnings("unchecked")
  public Plugin create(PluginServices services) {
    return ((PluginFactory<Object>) factory).create(settings, services);
  }
}
