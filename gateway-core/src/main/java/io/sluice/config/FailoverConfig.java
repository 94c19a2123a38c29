package io.sluice.config;

import java.time.Duration;

/**
 * How a request for a model alias moves on to the alias's next target ({@code routes[].failover}).
 *
 * @param maxAttempts targets tried per request, the first included
 * @param firstEventTimeout a streamed answer with no content event this long after its headers
 *     counts as failed (while another target is left to try)
 * @param cooldown a target that failed is skipped this long, unless every target is cooling down
 */
public record FailoverConfig(int maxAttempts, Duration firstEventTimeout, Duration cooldown) {
  public static final FailoverConfig DEFAULTS = new FailoverConfig(3, Duration.ofSeconds(30), Duration.ofSeconds(30));
}
