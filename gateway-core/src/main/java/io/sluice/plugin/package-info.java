/**
 * The plugin SPI: what a plugin sees of a request (no Netty types), the phases it runs in, and
 * how its config is validated at load time.
 */
package io.sluice.plugin;
