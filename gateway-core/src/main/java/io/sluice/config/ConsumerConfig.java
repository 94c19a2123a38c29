package io.sluice.config;

import java.util.List;

/**
 * A named API consumer ({@code consumers[]}), identified by one of its API keys or by a JWT claim.
 *
 * @param jwtClaimValue null when the consumer is not reachable through JWTs
 */
public record ConsumerConfig(String name, List<Secret> apiKeys, String jwtClaimValue) {
  public ConsumerConfig {
    apiKeys = List.copyOf(apiKeys);
  }
}
