package io.sluice.relay;

import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.observe.GatewayMetrics;
import io.sluice.observe.LatencyHistogram;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Time to first token, then the gap between content events ({@code sluice_time_to_first_token_seconds},
 * {@code sluice_inter_token_latency_seconds}), labelled with the model the response names.
 *
 * <p>Time is read once per upstream read, at its first content event: the events of one read are
 * written to the client together (one flush at the read's end), so the gap between them is 0 as
 * the client sees it. Those gaps are counted and recorded once, at the read's end ({@link
 * #endOfRead}); a fast model's read of a hundred events costs one clock read and two histogram
 * records, not a hundred of each.
 */
final class TokenTimings {
  private final Exchange exchange;
  private final GatewayMetrics metrics;
  private final LongSupplier clock;
  private long lastContent = -1;
  private long readNanos = -1; // the clock at this read's first content event; -1 until there is one
  private int sameRead; // content events of this read after its first: gaps of 0 not recorded yet
  private LatencyHistogram gaps;
  private String gapModel;

  TokenTimings(Exchange exchange, GatewayMetrics metrics, LongSupplier clock) {
    this.exchange = exchange;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** A content event of the response (of {@code model}, as the response names it) goes out with this read. */
  void contentEvent(String model) {
    if (gaps == null || !Objects.equals(model, gapModel)) {
      // Per token only a count: the label and the series are looked up when the model changes.
      endOfRead(); // a model change within a read: its zero gaps so far belong to the old series
      gapModel = model;
      gaps = metrics.interTokenHistogram(exchange.routeName(), metrics.modelLabel(exchange.routeName(), model));
    }
    if (readNanos >= 0) {
      sameRead++;
      return;
    }
    long now = clock.getAsLong();
    readNanos = now;
    if (lastContent < 0) {
      String route = exchange.routeName();
      exchange.mark(Moment.OUT_FIRST_TOKEN_SENT, now);
      exchange.trace().firstToken();
      metrics.timeToFirstToken(route, metrics.modelLabel(route, model), now - exchange.startNanos());
    } else {
      gaps.record(now - lastContent);
    }
    lastContent = now;
  }

  /** The read's events are written: their gaps of 0 are recorded, and the next read reads the clock again. */
  void endOfRead() {
    if (sameRead > 0) {
      gaps.record(0, sameRead);
      sameRead = 0;
    }
    readNanos = -1;
  }
}
