package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.exchange.Exchange;
import io.sluice.observe.GatewayMetrics;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class TokenTimingsTest {
  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final GatewayMetrics metrics = new GatewayMetrics();
  private final Exchange exchange = new Exchange("0123456789abcdef0123456789abcdef", "10.0.0.7", "POST", "/", clock.get());
  private final TokenTimings timings = new TokenTimings(exchange, metrics, clock::get);

  @Test
  void eventsOfOneReadAreGapsOfZero_theFirstOfTheNextReadGapsFromTheLastRead() {
    exchange.routeName("chat");
    clock.addAndGet(40_000_000); // 40 ms to the first token
    for (int i = 0; i < 5; i++) {
      timings.contentEvent("m"); // one read, five content events: TTFT once, then four gaps of 0
    }
    timings.endOfRead();
    clock.addAndGet(30_000_000);
    timings.contentEvent("m"); // the next read: a gap of 30 ms
    timings.contentEvent("m");
    timings.endOfRead();

    assertThat(value("sluice_time_to_first_token_seconds_count")).isEqualTo(1);
    assertThat(value("sluice_time_to_first_token_seconds_sum")).isEqualTo(0.04);
    assertThat(value("sluice_inter_token_latency_seconds_count")).isEqualTo(6);
    assertThat(value("sluice_inter_token_latency_seconds_sum")).isEqualTo(0.03);
    assertThat(value("sluice_inter_token_latency_seconds_max")).isEqualTo(0.03);
  }

  @Test
  void aModelChangeWithinARead_putsTheZeroGapsSoFarOnTheOldModel() {
    exchange.routeName("chat");
    timings.contentEvent("a");
    timings.contentEvent("a");
    timings.contentEvent("b"); // the clock is read again for the new series
    timings.contentEvent("b");
    timings.endOfRead();
    assertThat(value("sluice_inter_token_latency_seconds_count", "a")).isEqualTo(1);
    assertThat(value("sluice_inter_token_latency_seconds_count", "b")).isEqualTo(2);
  }

  private double value(String name) {
    return value(name, "m");
  }

  private double value(String name, String model) {
    Matcher m = Pattern.compile("(?m)^" + name + "\\{[^}]*model=\"" + model + "\"[^}]*\\} (\\S+)$").matcher(metrics.scrape());
    assertThat(m.find()).as(name + " for " + model + " in:\n" + metrics.scrape()).isTrue();
    return Double.parseDouble(m.group(1));
  }
}
