package io.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Meters by label values: one per combination, made once, with the values in lookup order. */
class LabelledMetersTest {
  private final List<List<String>> made = new ArrayList<>();
  private final LabelledMeters<List<String>> meters = new LabelledMeters<>(values -> {
    List<String> meter = List.of(values);
    made.add(meter);
    return meter;
  });

  @Test
  void oneMeterPerCombinationMadeOnFirstLookup() {
    List<String> first = meters.get("chat", "alice", "gpt-4o", "input");
    assertThat(meters.get("chat", "alice", "gpt-4o", "input")).isSameAs(first);
    assertThat(meters.get("chat", "alice", "gpt-4o", "output")).isNotSameAs(first);
    assertThat(meters.get("chat", "bob", "gpt-4o", "input")).isNotSameAs(first);
    assertThat(made).containsExactly(List.of("chat", "alice", "gpt-4o", "input"),
        List.of("chat", "alice", "gpt-4o", "output"), List.of("chat", "bob", "gpt-4o", "input"));
  }

  @Test
  void labelValuesAreNotConcatenated() {
    // "a" + "bc" and "ab" + "c" are different combinations.
    assertThat(meters.get("a", "bc")).isNotSameAs(meters.get("ab", "c"));
    assertThat(meters.get("r", "s", "t")).isEqualTo(List.of("r", "s", "t"));
    assertThat(made).hasSize(3);
  }
}
