package io.sluice.observe;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * Appends an {@link Instant} as {@link Instant#toString} writes it ({@code 2026-12-07T13:01:02.123456Z}:
 * the seconds always, the fraction in groups of three digits, as many as it needs), without the
 * formatter's builders and strings: the access log writes one timestamp per request, and
 * {@code Instant.toString} made about ten objects for it.
 *
 * <p>The date and time of day up to the second are kept for the last second asked for: lines
 * written within one second share them. Instants before 1970 or after the year 9999 (a sign, a
 * wider year) are left to {@code Instant.toString}.
 *
 * <p>Threading: thread-safe; the kept second is an immutable object, replaced whole.
 */
final class IsoInstant {
  /** 9999-12-31T23:59:59Z: the last second whose year has four digits. */
  private static final long LAST_FOUR_DIGIT_SECOND = 253_402_300_799L;

  /** One second's text, {@code yyyy-MM-ddTHH:mm:ss}. */
  private record Second(long epochSecond, String text) {}

  private static volatile Second last = new Second(-1, "");

  private IsoInstant() {}

  static void append(StringBuilder b, Instant instant) {
    long seconds = instant.getEpochSecond();
    if (seconds < 0 || seconds > LAST_FOUR_DIGIT_SECOND) {
      b.append(instant.toString());
      return;
    }
    Second second = last;
    if (second.epochSecond() != seconds) {
      second = new Second(seconds, secondText(seconds));
      last = second;
    }
    b.append(second.text());
    int nanos = instant.getNano();
    if (nanos > 0) {
      b.append('.');
      if (nanos % 1_000_000 == 0) {
        digits(b, nanos / 1_000_000, 3);
      } else if (nanos % 1_000 == 0) {
        digits(b, nanos / 1_000, 6);
      } else {
        digits(b, nanos, 9);
      }
    }
    b.append('Z');
  }

  private static String secondText(long epochSecond) {
    LocalDateTime t = LocalDateTime.ofEpochSecond(epochSecond, 0, ZoneOffset.UTC);
    StringBuilder s = new StringBuilder(19);
    digits(s, t.getYear(), 4);
    s.append('-');
    digits(s, t.getMonthValue(), 2);
    s.append('-');
    digits(s, t.getDayOfMonth(), 2);
    s.append('T');
    digits(s, t.getHour(), 2);
    s.append(':');
    digits(s, t.getMinute(), 2);
    s.append(':');
    digits(s, t.getSecond(), 2);
    return s.toString();
  }

  /** {@code value} (non-negative, fewer than {@code width} + 1 digits), zero-padded to {@code width}. */
  private static void digits(StringBuilder b, int value, int width) {
    for (int unit = pow10(width - 1); unit > 0; unit /= 10) {
      b.append((char) ('0' + value / unit % 10));
    }
  }

  private static int pow10(int n) {
    int p = 1;
    for (int i = 0; i < n; i++) {
      p *= 10;
    }
    return p;
  }
}
