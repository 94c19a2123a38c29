package io.sluice.plugins.quota;

import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import io.sluice.plugins.quota.Counters.Reservation;
import io.sluice.usage.Usage;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The plugin side of reserve-then-reconcile that {@code ai-token-ratelimit} and {@code ai-budget}
 * share: the ledger and the reservation estimator built from the plugin's settings, and the hooks
 * that are the same for both — a request that generates is reserved for (a resume or a poll
 * passes), refused with 429 and counted when a rule is spent, its reservation read back for the
 * response headers, settled when the usage is final ({@link #onUsage}), and corrected when the
 * exchange ends ({@link #onComplete}). The bookkeeping itself is {@link Ledger}'s.
 *
 * <p>A plugin says what it charges ({@link #hold}), what the real amount is ({@link #actuals}), its
 * refusal ({@link #refusal}) and its response headers ({@link #remainingHeaders}).
 *
 * <p>Threading: one instance serves every request of its route on every event loop; per-request
 * state is the plugin's {@link Hold}, kept by the ledger from the reservation to
 * {@link #onComplete}.
 *
 * @param <H> the plugin's hold (a {@link Hold}, or a subclass with state of its own)
 */
public abstract class ReservingPlugin<H extends Hold> implements Plugin {
  private final String name;
  protected final PluginServices services;
  protected final Clock clock;
  protected final ReservationEstimator estimator;
  protected final Ledger<H> ledger;

  /**
   * @param name the plugin's name, for logs and the rejection counter
   * @param defaultMaxTokens the plugin's {@code default-max-tokens}, or 0 when it sets none
   * @param store null for local counting, else the fleet's {@code redis://} URI
   * @param redisPrefix the plugin's Redis key prefix (part of the stored format: never change it)
   */
  protected ReservingPlugin(String name, PluginServices services, long defaultMaxTokens, String store,
      String redisPrefix) {
    this.name = name;
    this.services = services;
    this.clock = services.clock();
    this.estimator = new ReservationEstimator(defaultMaxTokens);
    // Called only once a usage is known, after the subclass's constructor finished.
    this.ledger = Ledger.create(name, services, store, redisPrefix, this::actuals);
  }

  /** What the request is charged up front, per slot: its estimate ({@link #estimator}). */
  protected abstract H hold(RequestContext request, long now);

  /** The real amount per slot for a usage ({@code real[i]} for {@code hold.slots().get(i)}). */
  protected abstract long[] actuals(H hold, Usage usage);

  /** The 429 of a request whose rule is spent; {@code retryAfter} in seconds. */
  protected abstract Decision.Reject refusal(long retryAfter);

  /** The reservation's answer is in (admitted or not), before the decision: a hook for gauges. */
  protected void reserved(RequestContext request, H hold, Reservation r) {}

  /** Sets the response headers that tell what is left, from an answered reservation. */
  protected abstract void remainingHeaders(H hold, Reservation r, ResponseHeaders headers);

  @Override
  public final CompletionStage<Decision> onRequest(RequestContext request) {
    if (!request.generates()) {
      return CompletableFuture.completedFuture(Decision.PROCEED); // a resume or poll: nothing is generated
    }
    H hold = hold(request, clock.millis());
    return ledger.reserve(request, hold).thenApply(r -> decide(request, hold, r));
  }

  private Decision decide(RequestContext request, H hold, Reservation r) {
    reserved(request, hold, r);
    if (r.admitted()) {
      return Decision.PROCEED;
    }
    services.rateLimitRejection(request.route(), name);
    return refusal(hold.retryAfter(r));
  }

  @Override
  public final void onResponseHeaders(RequestContext request, int status, ResponseHeaders headers) {
    H hold = ledger.get(request);
    Reservation r = hold == null ? null : hold.reservation();
    if (r != null) {
      remainingHeaders(hold, r, headers);
    }
  }

  @Override
  public final boolean settlesUsage() {
    return true;
  }

  /**
   * The usage is final and the response's end is held until this completes: the reservation is
   * corrected to the real usage now (local counters: at once; Redis: when the script answered or
   * timed out), so the client's next request is judged on it.
   */
  @Override
  public final CompletionStage<Void> onUsage(RequestContext request, Usage usage) {
    return ledger.settle(request, usage);
  }

  @Override
  public final void onComplete(RequestContext request, ExchangeSummary summary) {
    ledger.complete(request, summary);
  }
}
