package io.sluice.plugins.tokenlimit;

import io.sluice.plugin.Decision;
import io.sluice.usage.Usage;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import io.sluice.plugins.quota.Counters.Reservation;
import io.sluice.plugins.quota.Hold;
import io.sluice.plugins.quota.Ledger;
import io.sluice.plugins.quota.ReservationEstimator;
import io.sluice.plugins.quota.ReservingPlugin;
import io.sluice.plugins.quota.Slot;
import io.sluice.plugins.tokenlimit.TokenLimitSettings.Rule;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code ai-token-ratelimit} on one route: LLM tokens per fixed, clock-aligned window, per key.
 *
 * <p>Reserve, then reconcile. A request is refused (429 {@code token_rate_limited}) only when a
 * rule's window is already spent; otherwise its estimate ({@link ReservationEstimator}) is charged at
 * once to every rule, so a burst of concurrent requests cannot all slip through an almost-spent
 * window — at most one request overshoots it. When the usage is final — before the response's last
 * bytes reach the client ({@code onUsage}) — the charge is corrected to it (up or down); an
 * exchange that ends otherwise is corrected when it ends ({@code onComplete}): without usage the
 * reservation stands, except that an exchange that produced no answer (status ≥ 400 from the
 * gateway or the upstream, or 499: the client left before any response byte) is refunded in full.
 * The bookkeeping is {@link Ledger}'s and the hooks {@link ReservingPlugin}'s, shared with
 * {@code ai-budget}.
 *
 * <p>Threading: one instance serves every request of its route on every event loop. The decision
 * completes on the local counters' caller (the event loop) or on a Redis client thread, from which
 * {@code PluginChain} hops back to the loop; response headers are written in
 * {@code onResponseHeaders}, on the loop, from the request's {@link Hold}, kept by the ledger until
 * {@code onComplete}. A reservation that completes after its exchange already ended (the client
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
final class TokenRateLimitPlugin extends ReservingPlugin<TokenRateLimitPlugin.Pending> {
  static final String NAME = "ai-token-ratelimit";
  /** The Redis key prefix (stored by running fleets: never change it). */
  static final String REDIS_PREFIX = "sluice:tl:";

  private final TokenLimitSettings settings;

  TokenRateLimitPlugin(TokenLimitSettings settings, PluginServices services) {
    super(NAME, services, settings.defaultMaxTokens(), settings.store(), REDIS_PREFIX);
    this.settings = settings;
  }

  /** One request between its reservation and its end; the same amount is charged to every rule. */
  static final class Pending extends Hold {
    final long amount;
    // enforce: mid-stream — the extra tokens taken from the windows while the stream ran
    long extra;
    boolean topUpRunning;
    boolean budgetSpent;

    Pending(List<Slot> slots, long amount, long now) {
      super(slots, each(slots.size(), amount), now);
      this.amount = amount;
    }

    @Override
    protected long[] charged() {
      return each(slots().size(), amount + extra);
    }
  }

  private static long[] each(int slots, long amount) {
    long[] out = new long[slots];
    Arrays.fill(out, amount);
    return out;
  }

  @Override
  protected Pending hold(RequestContext request, long now) {
    return new Pending(slots(request, now), estimator.estimate(request), now);
  }

  /** The real amount per slot: the usage's tokens, in every rule. */
  @Override
  protected long[] actuals(Pending p, Usage usage) {
    return each(p.slots().size(), usage.totalTokens());
  }

  @Override
  protected Decision.Reject refusal(long retryAfter) {
    return new Decision.Reject(429, "rate_limit_error", "token_rate_limited",
        "token rate limit exceeded; retry in " + retryAfter + "s",
        Map.of("Retry-After", Long.toString(retryAfter)));
  }

  @Override
  protected void remainingHeaders(Pending p, Reservation r, ResponseHeaders headers) {
    int most = mostRestrictive(p.slots(), r.remaining());
    Slot s = p.slots().get(most);
    headers.set("x-ratelimit-limit-tokens", Long.toString(s.limit()));
    headers.set("x-ratelimit-remaining-tokens", Long.toString(Math.max(0, r.remaining()[most])));
    headers.set("x-ratelimit-reset-tokens", Long.toString(s.secondsToEnd(p.now())));
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
    Pending p = ledger.get(request);
    if (p == null) {
      return null;
    }
    long used = soFar.inputTokens() + soFar.outputTokens();
    long topUp;
    Reservation r;
    synchronized (p) {
      r = p.reservation();
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
    ledger.counters(r).reserve(request.route(), p.slots(), each(p.slots().size(), topUp)).whenComplete((more, e) -> {
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

  private List<Slot> slots(RequestContext request, long now) {
    List<Slot> out = new ArrayList<>(settings.rules().size());
    for (Rule rule : settings.rules()) {
      String key = rule.limitBy().value(request);
      long start = rule.window().start(now);
      out.add(new Slot(rule.index(), key, start, start + rule.window().millis, rule.limitFor(key)));
    }
    return out;
  }

  /** The rule with the fewest tokens left; on a tie, the one that resets last. */
  static int mostRestrictive(List<Slot> slots, long[] remaining) {
    int best = 0;
    for (int i = 1; i < slots.size(); i++) {
      if (remaining[i] < remaining[best]
          || (remaining[i] == remaining[best] && slots.get(i).end() > slots.get(best).end())) {
        best = i;
      }
    }
    return best;
  }
}
