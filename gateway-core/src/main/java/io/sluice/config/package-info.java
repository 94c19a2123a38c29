/**
 * The YAML config: immutable records, loaded and validated all at once with path-qualified errors.
 *
 * <p>The bottom layer: it uses nothing of the gateway but {@code io.sluice.http}'s syntax checks.
 * A route's {@code plugins} block is validated through a {@link io.sluice.config.PluginCatalog}
 * that the caller hands the loader, so the plugin SPI builds on the config and not the reverse.
 */
package io.sluice.config;
