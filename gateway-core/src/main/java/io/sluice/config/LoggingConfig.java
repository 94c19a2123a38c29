package io.sluice.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code logging}: log levels by logger, applied at start and again on every reload, so turning
 * {@code io.sluice.upstream} to {@code debug} to see why requests get 502 needs no restart.
 *
 * <pre>
 * logging:
 *   level:
 *     root: info                  # the root logger
 *     io.sluice.upstream: debug   # a package or class, and everything below it
 * </pre>
 *
 * @param levels logger name ({@link #ROOT} for the root logger) to level, one of {@link #LEVELS},
 *     in the order written
 */
public record LoggingConfig(Map<String, String> levels) {
  /** The name of the root logger in {@code logging.level}. */
  public static final String ROOT = "root";

  /** The levels a logger can be set to, lowest first ({@code off}: nothing). */
  public static final List<String> LEVELS = List.of("trace", "debug", "info", "warn", "error", "off");

  /** No {@code logging} key: every logger keeps the level the gateway starts with. */
  public static final LoggingConfig DEFAULTS = new LoggingConfig(Map.of());

  public LoggingConfig {
    levels = Collections.unmodifiableMap(new LinkedHashMap<>(levels));
  }
}
