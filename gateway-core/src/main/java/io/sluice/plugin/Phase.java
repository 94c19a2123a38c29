package io.sluice.plugin;

/**
 * When a plugin runs. Phases run in this order whatever order a route lists its plugins in;
 * inside a phase, higher {@link PluginFactory#priority()} runs first.
 */
public enum Phase {
  /** Who may connect at all: ip-restriction, CORS preflights. Runs on the headers only. */
  ACCESS,
  /** Who is calling: key-auth, jwt-auth. One successful AUTHN plugin is enough. */
  AUTHN,
  /** How much they may use: rate limits. Sees the consumer AUTHN named. */
  TRAFFIC
}
