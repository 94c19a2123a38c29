package io.sluice.config;

import java.util.Collection;
import java.util.List;

/**
 * The plugins a config may name under {@code routes[].plugins} and the top-level {@code plugins}, as
 * far as loading needs them: their names, and how to validate one plugin's settings.
 *
 * <p>The config package defines this interface and {@code io.sluice.plugin.PluginRegistry}
 * implements it, so the dependency runs one way: the plugin SPI is built on the config (it reads
 * {@link PluginSettings} and {@link ConsumerConfig}), and the config knows no plugin type. The
 * loader is handed a catalog instead of finding plugins itself.
 */
public interface PluginCatalog {
  /** Knows no plugin: any name under {@code plugins} or {@code routes[].plugins} is refused as unknown. */
  PluginCatalog NONE =
      new PluginCatalog() {
        @Override
        public Collection<String> names() {
          return List.of();
        }

        @Override
        public RoutePlugin parse(String name, PluginSettings settings) {
          throw new IllegalArgumentException("unknown plugin '" + name + "'");
        }
      };

  /** The names it knows, sorted: the loader refuses any other, listing these. */
  Collection<String> names();

  /**
   * Validates the settings of the plugin called {@code name}, one of {@link #names()}; problems are
   * reported through {@code settings}, each under its full path, like the rest of the file.
   *
   * @return the plugin with its validated settings, or null when they cannot be used (the reason
   *     has been reported)
   * @throws IllegalArgumentException when {@code name} is not one of {@link #names()}
   */
  RoutePlugin parse(String name, PluginSettings settings);
}
