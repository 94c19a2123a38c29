package io.sluice.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one grammar for durations and sizes in the config, parsed here and nowhere else.
 *
 * <p>Durations are a non-negative integer followed by {@code ms}, {@code s}, {@code m}, {@code h}
 * or {@code d} ({@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 0s}). Sizes are a
 * non-negative integer followed by a binary unit {@code B}, {@code KiB}, {@code MiB}, {@code GiB}
 * or {@code TiB}. Fractions, signs, spaces and decimal units ({@code MB}) are refused on purpose:
 * {@code 10MB} is ambiguous (10^7 or 10·2^20 bytes?) and a config should not have to be guessed.
 */
public final class Units {
  /** What a duration looks like, for error messages ("expected " + this). */
  public static final String DURATION_FORM = "a duration such as 250ms, 30s, 5m, 1h";

  /** What a size looks like, for error messages ("expected " + this). */
  public static final String SIZE_FORM = "a size such as 256B, 64KiB, 10MiB, 1GiB";

  private static final Pattern DURATION = Pattern.compile("([0-9]+)(ms|s|m|h|d)");
  private static final Pattern SIZE = Pattern.compile("([0-9]+)(B|KiB|MiB|GiB|TiB)");

  private Units() {}

  /**
   * Parses a duration such as {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h} or {@code 2d}.
   *
   * @throws IllegalArgumentException naming the expected form and the value received
   */
  public static Duration parseDuration(String text) {
    Matcher m = text == null ? null : DURATION.matcher(text);
    if (m == null || !m.matches()) {
      throw new IllegalArgumentException(expected(DURATION_FORM, text));
    }
    try {
      long amount = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(amount);
        case "s" -> Duration.ofSeconds(amount);
        case "m" -> Duration.ofMinutes(amount);
        case "h" -> Duration.ofHours(amount);
        default -> Duration.ofDays(amount);
      };
    } catch (ArithmeticException | NumberFormatException e) {
      // Digits beyond what a long or a Duration can hold: same message, the form is the fix.
      throw new IllegalArgumentException(expected(DURATION_FORM, text), e);
    }
  }

  /**
   * Parses a size such as {@code 256B}, {@code 64KiB}, {@code 10MiB}, {@code 1GiB} into bytes.
   *
   * @throws IllegalArgumentException naming the expected form and the value received
   */
  public static long parseSize(String text) {
    Matcher m = text == null ? null : SIZE.matcher(text);
    if (m == null || !m.matches()) {
      throw new IllegalArgumentException(expected(SIZE_FORM, text));
    }
    try {
      long amount = Long.parseLong(m.group(1));
      int shift =
          switch (m.group(2)) {
            case "B" -> 0;
            case "KiB" -> 10;
            case "MiB" -> 20;
            case "GiB" -> 30;
            default -> 40;
          };
      return Math.multiplyExact(amount, 1L << shift);
    } catch (ArithmeticException | NumberFormatException e) {
      throw new IllegalArgumentException(expected(SIZE_FORM, text), e);
    }
  }

  /**
   * Formats a duration in the config grammar with the largest unit that represents it exactly
   * ({@code 90s} stays {@code 90s}, {@code 120s} becomes {@code 2m}), so messages can quote limits
   * the way a user would write them. Sub-millisecond parts, which the grammar cannot express, are
   * shown in ISO-8601 form.
   */
  public static String formatDuration(Duration d) {
    if (d.isZero()) {
      return "0s";
    }
    if (d.isNegative() || d.getNano() % 1_000_000 != 0) {
      return d.toString();
    }
    long ms = d.toMillis();
    long[] factors = {86_400_000L, 3_600_000L, 60_000L, 1_000L, 1L};
    String[] units = {"d", "h", "m", "s", "ms"};
    for (int i = 0; i < factors.length; i++) {
      if (ms % factors[i] == 0) {
        return ms / factors[i] + units[i];
      }
    }
    throw new AssertionError("unreachable: every millisecond count is divisible by 1");
  }

  /** Formats a byte count with the largest binary unit that represents it exactly ({@code 10MiB}). */
  public static String formatSize(long bytes) {
    if (bytes == 0) {
      return "0B";
    }
    String[] units = {"TiB", "GiB", "MiB", "KiB"};
    int[] shifts = {40, 30, 20, 10};
    for (int i = 0; i < units.length; i++) {
      long unit = 1L << shifts[i];
      if (bytes % unit == 0) {
        return bytes / unit + units[i];
      }
    }
    return bytes + "B";
  }

  private static String expected(String form, String got) {
    return "expected " + form + " (got " + (got == null ? "nothing" : "'" + got + "'") + ")";
  }
}
