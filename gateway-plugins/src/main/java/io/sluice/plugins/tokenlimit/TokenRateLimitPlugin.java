package io.sluice.plugins.tokenlimit;

import io.sluice.plugin.Decision;
import io.sluice.usage.Usage;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import io.sluice.plugins.tokenlimit.Counters.Reservation;
import io.sluice.plugins.tokenlimit.TokenLimitSettings.Rule;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ai-token-ratelimit} on one route: LLM tokens per fixed, clock-aligned window, per key.
 *
 * <p>Reserve, then reconcile. A request is refused (429 {@code token_rate_limited}) only when a
 * rule's window is already spent; otherwise its estimate ({@link ReservationEstimator}) is charged at
 * once to every rule, so a burst of concurrent requests cannot all slip through an almost-spent
 * window — at most one request overshoots it. When the usage is final — before the response's last
 * bytes reach the client ({@link #onUsage}) — the charge is corrected to it (up or down); an
 * exchange that ends otherwise is corrected when it ends ({@link #onComplete}): without usage the reservation stands, except that an exchange
 * that produced no answer (status ≥ 400 from the gateway or the upstream, or 499: the client left
 * before any response byte) is refunded in full.
 *
 * <p>Threading: one instance serves every request of its route on every event loop. The decision
 * completes on the local counters' caller (the event loop) or on a Redis client thread, from which
 * {@link io.sluice.plugin.PluginChain} hops back to the loop; response headers are written in
 * {@link #onResponseHeaders}, on the loop, from per-request state kept in a concurrent map until
 * {@link #onComplete}. A reservation that completes after its exchange already ended (the client
 * left while Redis answered) is refunded at once.
 *
 * <p>Backpressure: nothing is queued here. Each request costs one Redis round trip to reserve and
 * at most one to reconcile; the Redis client rejects commands at once while disconnected and
 * times out after 250 ms, so a slow or dead Redis delays a request by at most that much.
 *
 * <p>Failure: when Redis cannot answer a reservation, the request is counted in this gateway's
 * local counters instead (the fleet's budget is then enforced per gateway until Redis is back);
 * core logs the transition once each way and exports {@code sluice_ratelimit_store_degraded}.
 * A correction whose store cannot answer is dropped (the reservation stands).
 */
final class TokenRateLimitPlugin implements Plugin {
  static final String NAME = "ai-token-ratelimit";
  private static final Logger log = LoggerFactory.getLogger(TokenRateLimitPlugin.class);

  private final TokenLimitSettings settings;
  private final PluginServices services;
  private final Clock clock;
  private final ReservationEstimator estimator;
  private final LocalCounters local;
  private final RedisCounters shared;
  private final Map<RequestContext, Pending> pending = new ConcurrentHashMap<>();

  TokenRateLimitPlugin(TokenLimitSettings settings, PluginServices services) {
    this.settings = settings;
    this.services = services;
    this.clock = services.clock();
    this.estimator = new ReservationEstimator(settings.defaultMaxTokens());
    this.local = new LocalCounters(clock, services.nanoTime());
    this.shared = settings.store() == null ? null : new RedisCounters(services.redis(settings.store()), clock);
  }

  /** One request between its reservation and its end. */
  private static final class Pending {
    final List<Slot> slots;
    final long amount;
    final long now;
    Reservation reservation;
    boolean ended;
    // enforce: mid-stream — the extra tokens taken from the windows while the stream ran
    long extra;
    boolean topUpRunning;
    boolean budgetSpent;
    boolean settled; // reconciled with the final usage (onUsage); onComplete leaves it

    Pending(List<Slot> slots, long amount, long now) {
      this.slots = slots;
      this.amount = amount;
      this.now = now;
    }
  }

  @Override
  public CompletionStage<Decision> onRequest(RequestContext request) {
    if (!request.generates()) {
      return CompletableFuture.completedFuture(Decision.PROCEED); // a resume or poll: no tokens are made
    }
    long now = clock.millis();
    List<Slot> slots = slots(request, now);
    long amount = estimator.estimate(request);
    Pending p = new Pending(slots, amount, now);
    pending.put(request, p);
    String route = request.route();
    CompletionStage<Reservation> reserved = shared == null
        ? local.reserve(route, slots, amount)
        : shared.reserve(route, slots, amount).exceptionallyCompose(e -> local.reserve(route, slots, amount));
    return reserved.thenApply(r -> decide(request, p, r));
  }

  private Decision decide(RequestContext request, Pending p, Reservation r) {
    boolean refundNow;
    synchronized (p) {
      p.reservation = r;
      refundNow = p.ended && r.admitted();
    }
    if (refundNow) {
      adjust(request.route(), p, r, -p.amount);
    }
    if (r.admitted()) {
      return Decision.PROCEED;
    }
    services.rateLimitRejection(request.route(), NAME);
    long retryAfter = 1;
    for (int i = 0; i < p.slots.size(); i++) {
      if (r.remaining()[i] <= 0) {
        retryAfter = Math.max(retryAfter, resetSeconds(p.slots.get(i), p.now));
      }
    }
    return new Decision.Reject(429, "rate_limit_error", "token_rate_limited",
        "token rate limit exceeded; retry in " + retryAfter + "s",
        Map.of("Retry-After", Long.toString(retryAfter)));
  }

  @Override
  public void onResponseHeaders(RequestContext request, int status, ResponseHeaders headers) {
    Pending p = pending.get(request);
    Reservation r;
    if (p == null) {
      return;
    }
    synchronized (p) {
      r = p.reservation;
    }
    if (r == null) {
      return;
    }
    int most = mostRestrictive(p.slots, r.remaining(), p.now);
    Slot s = p.slots.get(most);
    headers.set("x-ratelimit-limit-tokens", Long.toString(s.limit()));
    headers.set("x-ratelimit-remaining-tokens", Long.toString(Math.max(0, r.remaining()[most])));
    headers.set("x-ratelimit-reset-tokens", Long.toString(resetSeconds(s, p.now)));
  }

  @Override
  public boolean watchesStreams() {
    return settings.midStream();
  }

  /**
   * {@code enforce: mid-stream}: a stream that uses up its reservation takes another
   * {@code default-max-tokens} from every rule's window (asynchronously, the stream runs on
   * meanwhile); once a window is spent and refuses, the stream is ended at its next content event
   * with {@code event: error} {@code token_rate_limited}. So a stream cannot run past a spent
   * budget by more than one top-up's worth of tokens.
   */
  @Override
  public Decision.Reject onStreamUsage(RequestContext request, Usage soFar) {
    Pending p = pending.get(request);
    if (p == null) {
      return null;
    }
    long used = soFar.inputTokens() + soFar.outputTokens();
    long topUp;
    Reservation r;
    synchronized (p) {
      r = p.reservation;
      if (p.budgetSpent) {
        return new Decision.Reject(429, "rate_limit_error", "token_rate_limited",
            "token rate limit reached during the stream (" + used + " tokens used)", Map.of());
      }
      if (r == null || !r.admitted() || p.topUpRunning || used <= p.amount + p.extra) {
        return null;
      }
      p.topUpRunning = true;
      topUp = Math.max(estimator.defaultMaxTokens(request), used - p.amount - p.extra);
    }
    String route = request.route();
    Counters store = r.local() || shared == null ? local : shared;
    store.reserve(route, p.slots, topUp).whenComplete((more, e) -> {
      synchronized (p) {
        p.topUpRunning = false;
        if (e == null && more.admitted()) {
          p.extra += topUp;
        } else if (e == null) {
          p.budgetSpent = true;
        } // a store that cannot answer: try again at the next event
      }
    });
    return null;
  }

  @Override
  public boolean settlesUsage() {
    return true;
  }

  /**
   * The usage is final and the response's end is held until this completes: the reservation is
   * corrected to the real usage now (local counters: at once; Redis: when the script answered or
   * timed out), so the client's next request is judged on it.
   */
  @Override
  public CompletionStage<Void> onUsage(RequestContext request, Usage usage) {
    Pending p = pending.get(request);
    if (p == null) {
      return CompletableFuture.completedFuture(null);
    }
    Reservation r;
    long charged;
    synchronized (p) {
      r = p.reservation;
      if (r == null || !r.admitted() || p.settled) {
        return CompletableFuture.completedFuture(null);
      }
      p.settled = true;
      charged = p.amount + p.extra;
    }
    long delta = usage.totalTokens() - charged;
    return delta == 0 ? CompletableFuture.completedFuture(null) : adjust(request.route(), p, r, delta);
  }

  @Override
  public void onComplete(RequestContext request, ExchangeSummary summary) {
    Pending p = pending.remove(request);
    if (p == null) {
      return;
    }
    Reservation r;
    boolean settled;
    synchronized (p) {
      p.ended = true;
      r = p.reservation;
      settled = p.settled;
    }
    if (r == null || !r.admitted() || settled) {
      return; // refused, still reserving (decide() refunds it when it completes), or settled in onUsage
    }
    long delta;
    long charged;
    synchronized (p) {
      charged = p.amount + p.extra;
    }
    if (summary.usage() != null) {
      delta = summary.usage().totalTokens() - charged;
    } else if (summary.status() >= 400) {
      delta = -charged; // no answer was produced: nothing was used
    } else {
      delta = 0;
    }
    if (delta != 0) {
      adjust(request.route(), p, r, delta);
    }
  }

  /** Corrects a charge; the stage completes (never exceptionally) when the store answered or gave up. */
  private CompletionStage<Void> adjust(String route, Pending p, Reservation r, long delta) {
    Counters store = r.local() || shared == null ? local : shared;
    return store.adjust(route, p.slots, delta).handle((v, e) -> {
      if (e != null) {
        log.debug("{}: a correction of {} tokens on route {} was dropped: {}", NAME, delta, route, e.toString());
      }
      return null;
    });
  }

  private List<Slot> slots(RequestContext request, long now) {
    List<Slot> out = new ArrayList<>(settings.rules().size());
    for (Rule rule : settings.rules()) {
      String key = rule.source().value(request, rule.name());
      out.add(new Slot(rule.index(), key, rule.window().start(now), rule.window().millis, rule.limitFor(key)));
    }
    return out;
  }

  /** The rule with the fewest tokens left; on a tie, the one that resets last. */
  static int mostRestrictive(List<Slot> slots, long[] remaining, long now) {
    int best = 0;
    for (int i = 1; i < slots.size(); i++) {
      if (remaining[i] < remaining[best]
          || (remaining[i] == remaining[best] && slots.get(i).windowEnd() > slots.get(best).windowEnd())) {
        best = i;
      }
    }
    return best;
  }

  /** Whole seconds until the slot's window ends, at least 1. */
  static long resetSeconds(Slot s, long now) {
    return Math.max(1, (s.windowEnd() - now + 999) / 1000);
  }

  /** Counters of this instance (tests). */
  LocalCounters localCounters() {
    return local;
  }

}
