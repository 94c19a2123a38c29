package io.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The access log's timestamp: exactly {@link Instant#toString}'s text, whatever the precision. */
class IsoInstantTest {
  private static String appended(Instant instant) {
    StringBuilder b = new StringBuilder("x");
    IsoInstant.append(b, instant);
    return b.substring(1);
  }

  @Test
  void writesWhatInstantToStringWrites() {
    for (String text : new String[] {"1970-01-01T00:00:00Z", "2026-12-07T00:00:00Z", "2026-12-07T13:01:02.100Z",
        "2026-12-07T13:01:02.000100Z", "2026-12-07T13:01:02.000000001Z", "2026-12-07T13:01:02.123456789Z",
        "2024-02-29T23:59:59.999Z", "9999-12-31T23:59:59.999999999Z", "0001-01-01T00:00:00Z",
        "+10000-01-01T00:00:00Z", "1969-12-31T23:59:59.5Z"}) {
      Instant instant = Instant.parse(text);
      assertThat(appended(instant)).as(text).isEqualTo(instant.toString());
    }
  }

  @Test
  void writesWhatInstantToStringWritesForRandomInstantsAtEachPrecision() {
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 20_000; i++) {
      long seconds = random.nextLong(0, 253_402_300_800L);
      int nanos = switch (i % 4) {
        case 0 -> 0;
        case 1 -> random.nextInt(1000) * 1_000_000;
        case 2 -> random.nextInt(1_000_000) * 1_000;
        default -> random.nextInt(1_000_000_000);
      };
      Instant instant = Instant.ofEpochSecond(seconds, nanos);
      assertThat(appended(instant)).isEqualTo(instant.toString());
    }
  }

  /** The kept second is replaced when the second changes, and an older second is not taken for it. */
  @Test
  void consecutiveSecondsEachGetTheirOwnText() {
    Instant t = Instant.parse("2026-12-07T13:01:02.5Z");
    for (int i = 0; i < 5; i++) {
      Instant next = t.plusSeconds(i);
      assertThat(appended(next)).isEqualTo(next.toString());
      assertThat(appended(t)).isEqualTo(t.toString());
    }
  }
}
