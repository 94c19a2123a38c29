package io.sluice.gateway;

import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.observe.GatewayMetrics;
import io.sluice.route.Route;
import io.sluice.telemetry.ExchangeTrace;
import io.sluice.telemetry.GenAiRequest;
import io.sluice.usage.Usage;

/**
 * The OpenTelemetry side of an exchange's end: the GenAI metrics of a model exchange, and the
 * end of its spans. Derived from the exchange's timeline like the rest of {@link ExchangeEnding}.
 */
final class ExchangeTelemetry {
  private ExchangeTelemetry() {}

  /**
   * @param route the route taken, or null
   * @param used the exchange's usage, or null
   * @param responseModel the label of the answer's model ({@link GatewayMetrics#modelLabel}), when {@code used}
   * @param endNanos when the exchange ended ({@link System#nanoTime})
   */
  static void ended(GatewayMetrics metrics, Exchange exchange, Route route, Usage used, String responseModel,
      long endNanos) {
    GenAiRequest genAi = exchange.genAi();
    boolean succeeded = exchange.status() / 100 == 2 && exchange.outcome().equals("ok");
    if (genAi != null && used != null) {
      genAiMetrics(metrics, exchange, genAi, used, responseModel, succeeded, endNanos);
    }
    if (exchange.trace() == ExchangeTrace.NONE) {
      return; // tracing off: its end would do nothing with what is built below
    }
    long input = used == null || !succeeded ? -1 : used.inputTokens();
    long output = used == null || !succeeded ? -1 : used.outputTokens();
    exchange.trace().end(new ExchangeTrace.ExchangeEnd(exchange.routeName(), route == null ? null : route.httpRoute(),
        exchange.status(), exchange.outcome(), genAi, used == null ? null : used.model(), input, output));
  }

  /**
   * Tokens of successful answers only (a failed one has none worth a bucket); the duration of
   * every model exchange; time to first token and per output token of successful streams, as the
   * conventions define them: (end − first token) / (output tokens − 1).
   */
  private static void genAiMetrics(GatewayMetrics metrics, Exchange exchange, GenAiRequest genAi, Usage used,
      String responseModel, boolean succeeded, long endNanos) {
    String route = exchange.routeName();
    String requestModel = metrics.modelLabel(route, genAi.requestModel());
    long firstToken = exchange.at(Moment.OUT_FIRST_TOKEN_SENT);
    long last = exchange.at(Moment.OUT_RESP_COMPLETE) >= 0 ? exchange.at(Moment.OUT_RESP_COMPLETE) : endNanos;
    long ttft = succeeded && firstToken >= 0 ? firstToken - exchange.startNanos() : -1;
    long perToken = ttft >= 0 && used.outputTokens() > 1 ? (last - firstToken) / (used.outputTokens() - 1) : -1;
    metrics.genAi().record(genAi.operation(), genAi.provider(), requestModel, responseModel,
        succeeded ? used.inputTokens() : -1, succeeded ? used.outputTokens() : -1, endNanos - exchange.startNanos(),
        ttft, perToken);
  }
}
