package io.sluice.relay;

import io.micrometer.core.instrument.Timer;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.observe.GatewayMetrics;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Time to first token, then the gap between content events ({@code sluice_time_to_first_token_seconds},
 * {@code sluice_inter_token_seconds}), labelled with the model the response names.
 */
final class TokenTimings {
  private final Exchange exchange;
  private final GatewayMetrics metrics;
  private long lastContent = -1;
  private Timer gapTimer;
  private String gapModel;

  TokenTimings(Exchange exchange, GatewayMetrics metrics) {
    this.exchange = exchange;
    this.metrics = metrics;
  }

  /** A content event of the response (of {@code model}, as the response names it) goes out now. */
  void contentEvent(String model, long now) {
    String route = exchange.routeName();
    if (gapTimer == null || !Objects.equals(model, gapModel)) {
      // Per token only a timer record: the label and the timer are looked up when the model changes.
      gapModel = model;
      gapTimer = metrics.interTokenTimer(route, metrics.modelLabel(route, model));
    }
    if (lastContent < 0) {
      exchange.mark(Moment.OUT_FIRST_TOKEN_SENT, now);
      exchange.trace().firstToken();
      metrics.timeToFirstToken(route, metrics.modelLabel(route, model), now - exchange.startNanos());
    } else {
      gapTimer.record(now - lastContent, TimeUnit.NANOSECONDS);
    }
    lastContent = now;
  }
}
