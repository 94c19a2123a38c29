package io.sluice.plugins.keyauth;

import java.util.Set;

/**
 * Validated {@code key-auth} settings.
 *
 * @param allow the consumers that may use the route; empty means every consumer with a valid key
 */
public record KeyAuthSettings(Set<String> allow) {
  public KeyAuthSettings {
    allow = Set.copyOf(allow);
  }
}
