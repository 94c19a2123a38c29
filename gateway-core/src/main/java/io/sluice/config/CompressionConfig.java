package io.sluice.config;

/**
 * A route's response compression ({@code routes[].compression}).
 *
 * @param minSize non-streamed bodies with a known length below this are sent as they are
 */
public record CompressionConfig(boolean gzip, long minSize) {
  /** No compression (the default). */
  public static final CompressionConfig OFF = new CompressionConfig(false, 256);
}
