package io.sluice.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

/**
 * The GenAI metrics' series lookup: the series recorded last is found by the identity of its
 * labels, so it must never be taken for another series — nor make a second meter for equal
 * labels that arrive as other string instances (a reloaded config's route, a model parsed anew).
 */
class GenAiSeriesTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final GenAiMetrics metrics = new GenAiMetrics(registry);

  private void record(String requestModel, String responseModel) {
    metrics.record("chat", "openai", requestModel, responseModel, 10, 2, 1_000_000, -1, -1);
  }

  private long durations(String requestModel, String responseModel) {
    Timer timer = registry.find("gen_ai.server.request.duration").tag("gen_ai.request.model", requestModel)
        .tag("gen_ai.response.model", responseModel).timer();
    return timer == null ? 0 : timer.count();
  }

  @Test
  void eachExchangeIsRecordedInItsOwnSeries_whicheverWasRecordedLast() {
    record("gpt-4o", "gpt-4o");
    record("gpt-4o", "gpt-4o");
    record("gpt-4o", "gpt-4o-2024-08-06"); // only the response model differs from the last series
    record("gpt-4o-mini", "gpt-4o-mini");
    record("gpt-4o", "gpt-4o");

    assertThat(durations("gpt-4o", "gpt-4o")).isEqualTo(3);
    assertThat(durations("gpt-4o", "gpt-4o-2024-08-06")).isEqualTo(1);
    assertThat(durations("gpt-4o-mini", "gpt-4o-mini")).isEqualTo(1);
  }

  @Test
  void equalLabelsAsOtherInstancesRecordInTheSameMeters() {
    record("gpt-4o", "gpt-4o");
    String request = new String("gpt-4o"); // as a reload's or another parse's copy would be
    String response = new String("gpt-4o");
    metrics.record(new String("chat"), new String("openai"), request, response, 10, 2, 1_000_000, -1, -1);
    record("gpt-4o", "gpt-4o");

    assertThat(registry.find("gen_ai.server.request.duration").timers()).hasSize(1);
    assertThat(durations("gpt-4o", "gpt-4o")).isEqualTo(3);
    assertThat(registry.find("gen_ai.client.token.usage").tag("gen_ai.token.type", "input").summary().count())
        .isEqualTo(3);
  }
}
