package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class UnitsTest {

  @Test
  void parsesEveryDurationUnit() {
    assertThat(Units.parseDuration("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Units.parseDuration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Units.parseDuration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Units.parseDuration("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(Units.parseDuration("2d")).isEqualTo(Duration.ofDays(2));
    assertThat(Units.parseDuration("0s")).isEqualTo(Duration.ZERO);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "30", "s", "1.5s", "-1s", "+1s", " 30s", "30 s", "30S", "1w", "99999999999999999999s", "9999999999999999d"})
  void refusesDurationsOutsideTheGrammar(String text) {
    assertThatThrownBy(() -> Units.parseDuration(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("expected a duration such as 250ms, 30s, 5m, 1h (got '" + text + "')");
  }

  @Test
  void parsesEveryBinarySizeUnit() {
    assertThat(Units.parseSize("256B")).isEqualTo(256);
    assertThat(Units.parseSize("64KiB")).isEqualTo(64L * 1024);
    assertThat(Units.parseSize("10MiB")).isEqualTo(10L * 1024 * 1024);
    assertThat(Units.parseSize("1GiB")).isEqualTo(1L << 30);
    assertThat(Units.parseSize("2TiB")).isEqualTo(2L << 40);
    assertThat(Units.parseSize("0B")).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"10MB", "10", "10kib", "1.5MiB", "-1B", "10 MiB", "99999999TiB"})
  void refusesSizesOutsideTheGrammar(String text) {
    assertThatThrownBy(() -> Units.parseSize(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("expected a size such as 256B, 64KiB, 10MiB, 1GiB (got '" + text + "')");
  }

  @Test
  void refusesNull() {
    assertThatThrownBy(() -> Units.parseDuration(null)).hasMessageContaining("(got nothing)");
    assertThatThrownBy(() -> Units.parseSize(null)).hasMessageContaining("(got nothing)");
  }

  @Test
  void formatsWithTheLargestExactUnit() {
    assertThat(Units.formatDuration(Duration.ZERO)).isEqualTo("0s");
    assertThat(Units.formatDuration(Duration.ofMillis(250))).isEqualTo("250ms");
    assertThat(Units.formatDuration(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThat(Units.formatDuration(Duration.ofSeconds(90))).isEqualTo("90s");
    assertThat(Units.formatDuration(Duration.ofSeconds(120))).isEqualTo("2m");
    assertThat(Units.formatDuration(Duration.ofHours(48))).isEqualTo("2d");
    assertThat(Units.formatSize(0)).isEqualTo("0B");
    assertThat(Units.formatSize(1000)).isEqualTo("1000B");
    assertThat(Units.formatSize(10L * 1024 * 1024)).isEqualTo("10MiB");
    assertThat(Units.formatSize(1536)).isEqualTo("1536B");
    assertThat(Units.formatSize(3L << 40)).isEqualTo("3TiB");
  }

  @Test
  void formattedValuesParseBack() {
    for (String s : new String[] {"250ms", "30s", "5m", "1h", "3d"}) {
      assertThat(Units.formatDuration(Units.parseDuration(s))).isEqualTo(s);
    }
    for (String s : new String[] {"256B", "64KiB", "10MiB", "1GiB", "1TiB"}) {
      assertThat(Units.formatSize(Units.parseSize(s))).isEqualTo(s);
    }
  }
}
