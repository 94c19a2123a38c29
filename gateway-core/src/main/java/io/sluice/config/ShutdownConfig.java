package io.sluice.config;

import java.time.Duration;

/** Graceful shutdown ({@code shutdown}): how long open streams may run on after SIGTERM. */
public record ShutdownConfig(Duration drainTimeout) {
  public static final ShutdownConfig DEFAULTS = new ShutdownConfig(Duration.ofSeconds(30));
}
