package io.sluice.telemetry;

import java.util.function.BiConsumer;

/**
 * The trace of one exchange: a server span from its request to its end, and a client span per
 * upstream attempt. {@link #NONE} (tracing off) does nothing at all.
 *
 * <p>Threading: confined to the exchange's event loop, like the exchange. Nothing here blocks:
 * finished spans are handed to the exporter's bounded queue.
 */
public interface ExchangeTrace {
  /** Tracing is off: no spans, no headers, no trace id. */
  ExchangeTrace NONE = new ExchangeTrace() {};

  /** The trace id (32 hex digits) for the access log, or null without a trace. */
  default String traceId() {
    return null;
  }

  /**
   * An attempt at an upstream endpoint starts (the first, a retry, a failover): a client span.
   *
   * @param host the endpoint's host ({@code server.address}), port its port
   * @param genAi what the request asks of the model, or null for a non-model request
   */
  default void attemptStarted(String upstream, String host, int port, GenAiRequest genAi) {}

  /** The attempt's endpoint answered with this status. */
  default void attemptStatus(int status) {}

  /** The attempt's outcome as counted in {@code sluice_upstream_requests_total} ({@code success}, {@code reset}, …). */
  default void attemptOutcome(String outcome) {}

  /** The attempt is over (its answer complete, or failed). */
  default void attemptEnded() {}

  /** Sets {@code traceparent} (and {@code tracestate}) of the current attempt's span on a request to send. */
  default void inject(BiConsumer<String, String> header) {}

  /** The first event carrying generated content goes to the client now. */
  default void firstToken() {}

  /** The exchange ended: the server span (and a served attempt's span) get their last attributes and end. */
  default void end(ExchangeEnd end) {}

  /**
   * How an exchange ended, for its spans.
   *
   * @param route the route's name ({@code none} without one)
   * @param httpRoute the route's path template ({@code path} or {@code path-prefix}), or null
   * @param genAi the model request, or null for a non-model exchange
   * @param responseModel the model the answer named, or null
   * @param inputTokens input tokens, or -1 when unknown
   * @param outputTokens output tokens, or -1 when unknown
   * @param outcome {@code ok} or the error code that ended the exchange
   */
  record ExchangeEnd(String route, String httpRoute, int status, String outcome, GenAiRequest genAi,
      String responseModel, long inputTokens, long outputTokens) {}
}
