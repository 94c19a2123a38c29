package io.sluice.relay;

import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.observe.GatewayMetrics;
import io.sluice.observe.LatencyHistogram;
import java.util.Objects;

/**
 * Time to first token, then the gap between content events ({@code sluice_time_to_first_token_seconds},
 * {@code sluice_inter_token_latency_seconds}), labelled with the model the response names.
 */
final class TokenTimings {
  private final Exchange exchange;
  private final GatewayMetrics metrics;
  private long lastContent = -1;
  private LatencyHistogram gaps;
  private String gapModel;

  TokenTimings(Exchange exchange, GatewayMetrics metrics) {
    this.exchange = exchange;
    this.metrics = metrics;
  }

  /** A content event of the response (of {@code model}, as the response names it) goes out now. */
  void contentEvent(String model, long now) {
    String route = exchange.routeName();
    if (gaps == null || !Objects.equals(model, gapModel)) {
      // Per token only a histogram record: the label and the series are looked up when the model changes.
      gapModel = model;
      gaps = metrics.interTokenHistogram(route, metrics.modelLabel(route, model));
    }
    if (lastContent < 0) {
      exchange.mark(Moment.OUT_FIRST_TOKEN_SENT, now);
      exchange.trace().firstToken();
      metrics.timeToFirstToken(route, metrics.modelLabel(route, model), now - exchange.startNanos());
    } else {
      gaps.record(now - lastContent);
    }
    lastContent = now;
  }
}
