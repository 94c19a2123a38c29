/**
 * The YAML config: immutable records, loaded and validated all at once with path-qualified errors.
 *
 * <p>The bottom layer: besides the leaf packages whose syntax checks it reuses ({@code http}'s
 * header tokens, {@code net}'s CIDR ranges, {@code store}'s Redis URIs) it uses nothing of the
 * gateway. A route's {@code plugins} block is validated through a {@link PluginCatalog} that the
 * caller hands the loader, so the plugin SPI builds on the config and not the reverse.
 */
package io.sluice.config;
