package io.sluice.gateway;

import io.sluice.exchange.Exchange;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.usage.Usage;
import java.util.concurrent.Executor;

/**
 * The end of one exchange, derived from its timeline: the request counted and timed, its tokens
 * counted, its access-log line written, and the completion hook of every plugin that saw the
 * request called (in reverse order). Runs once, whichever way the exchange ends — answered,
 * aborted, the client gone, or later, when a stream that outlived its client ends.
 *
 * <p>An exchange whose usage must be estimated before the tokenizer's vocabulary has loaded (the
 * first such exchange of a process) ends when it is there: its duration is taken now, the rest
 * runs on the exchange's event loop once the vocabulary has loaded, off the loop
 * ({@link io.sluice.usage.TokenEstimator}). The loop never waits for it.
 */
final class ExchangeEnding implements Runnable {
  private final GatewayContext gateway;
  private final Exchange exchange;
  private final Executor loop;
  private Admission admission;
  private UsageSource usage;
  private boolean ended;

  ExchangeEnding(GatewayContext gateway, Exchange exchange, Executor loop) {
    this.gateway = gateway;
    this.exchange = exchange;
    this.loop = loop;
  }

  /** The request's route and plugins, once known. */
  void admission(Admission admission) {
    this.admission = admission;
  }

  /** Where the exchange's token usage is read at its end (the dispatch). */
  interface UsageSource {
    /** The tokens the answer reported (or that were estimated), or null when none are known. */
    Usage usage();

    /** Runs {@code task} once {@link #usage()} can be read without waiting: now, or later on {@code loop}. */
    void whenUsageReady(Executor loop, Runnable task);

    /** Whether {@link #usage()} can be read now (false: ask {@link #whenUsageReady}). */
    default boolean usageReady() {
      return false;
    }

    /** The usage was taken: what was kept to estimate it is freed ({@code UsageTracker#release}). */
    default void release() {
    }
  }

  /** Where the exchange's token usage is read at its end. */
  void usage(UsageSource usage) {
    this.usage = usage;
  }

  @Override
  public void run() {
    if (ended) {
      return;
    }
    ended = true;
    long end = System.nanoTime();
    if (usage == null) {
      end(end, null);
    } else if (usage.usageReady()) {
      endAndRelease(end); // the usual case: at once, without a task for later
    } else {
      usage.whenUsageReady(loop, () -> endAndRelease(end));
    }
  }

  /** Ends with the usage, then frees what was kept to estimate it (pooled memory: on every path). */
  private void endAndRelease(long end) {
    try {
      end(end, usage.usage());
    } finally {
      usage.release();
    }
  }

  private void end(long end, Usage used) {
    long duration = end - exchange.startNanos();
    PluginRequest plugins = admission == null ? null : admission.pluginRequest();
    if (plugins != null) {
      exchange.consumer(plugins.consumer());
    }
    String model = null; // the answer's model label, when there is usage
    if (used != null) {
      exchange.tokens(used.inputTokens(), used.outputTokens(), used.estimated());
      String route = exchange.routeName();
      String consumer = gateway.consumerLabel(exchange.consumer());
      model = gateway.metrics().modelLabel(route, used.model());
      gateway.metrics().tokens(route, consumer, model, "input", used.inputTokens());
      gateway.metrics().tokens(route, consumer, model, "output", used.outputTokens());
      Metering.record(gateway, exchange, route, consumer, model, used); // cached, reasoning, cost
    }
    gateway.metrics().requestCompleted(exchange.routeName(), exchange.status(), duration);
    ExchangeTelemetry.ended(gateway.metrics(), exchange, admission == null ? null : admission.route(), used, model,
        end);
    gateway.accessLog().log(exchange, end);
    if (plugins != null && admission.reached() > 0) {
      admission.chain().runComplete(plugins, admission.reached(),
          new ExchangeSummary(exchange.status(), exchange.outcome(), duration, used));
    }
  }
}
