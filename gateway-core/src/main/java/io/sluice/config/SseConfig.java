package io.sluice.config;

import java.time.Duration;

/**
 * Server-sent-events behaviour of a route ({@code routes[].sse}).
 *
 * @param heartbeat a {@code : ping} comment is sent whenever the upstream has been silent this
 *     long (also before the first token); {@link Duration#ZERO} turns heartbeats off
 */
public record SseConfig(Duration heartbeat) {
  public static final SseConfig DEFAULTS = new SseConfig(Duration.ofSeconds(15));

  public boolean heartbeats() {
    return !heartbeat.isZero();
  }
}
