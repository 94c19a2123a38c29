package io.sluice.plugins.quota;

import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import io.sluice.plugins.quota.Counters.Reservation;
import io.sluice.usage.Usage;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reserve, then reconcile: the bookkeeping that {@code ai-token-ratelimit} and {@code ai-budget}
 * share. A request's estimate is charged up front ({@link #reserve}); when the usage is final it is
 * corrected to the real amount ({@link #settle}); an exchange that ends otherwise is corrected when
 * it ends ({@link #complete}): to its usage when known, refunded in full when no answer was produced
 * (status ≥ 400, or 499: the client left before any response byte), else the reservation stands.
 *
 * <p>Threading: one ledger serves every request of its route on every event loop; holds live in a
 * concurrent map from {@link #reserve} to {@link #complete}. A reservation that completes after its
 * exchange already ended (the client left while Redis answered) is refunded at once.
 *
 * <p>Failure: when Redis cannot answer a reservation, the request is counted in the local counters
 * instead, and corrected there. A correction whose store cannot answer is dropped (the reservation
 * stands); the stage of a correction never completes exceptionally.
 *
 * @param <H> the plugin's hold (a {@link Hold}, or a subclass with state of its own)
 */
public final class Ledger<H extends Hold> {
  private static final Logger log = LoggerFactory.getLogger(Ledger.class);

  /** The real amount per slot for a usage ({@code real[i]} for {@code hold.slots().get(i)}). */
  @FunctionalInterface
  public interface Actuals<H> {
    long[] of(H hold, Usage usage);
  }

  private final String plugin;
  private final LocalCounters local;
  private final Counters shared;
  private final Actuals<H> actuals;
  private final Map<RequestContext, H> holds = new ConcurrentHashMap<>();

  /**
   * A plugin instance's ledger: local counters, and Redis counters when it names a store.
   *
   * @param plugin the plugin's name, for logs
   * @param store null for local counting, else the fleet's {@code redis://} URI
   * @param redisPrefix the plugin's Redis key prefix, e.g. {@code sluice:tl:} (part of the stored
   *     format: never change it)
   * @param actuals the real amount per slot of a usage
   */
  public static <H extends Hold> Ledger<H> create(String plugin, PluginServices services, String store,
      String redisPrefix, Actuals<H> actuals) {
    LocalCounters local = new LocalCounters(services.clock(), services.nanoTime());
    RedisCounters shared = store == null ? null : new RedisCounters(services.redis(store), services.clock(), redisPrefix);
    return new Ledger<>(plugin, local, shared, actuals);
  }

  Ledger(String plugin, LocalCounters local, Counters shared, Actuals<H> actuals) {
    this.plugin = plugin;
    this.local = local;
    this.shared = shared;
    this.actuals = actuals;
  }

  /** Charges the hold's amounts; the stage completes with the counters' answer, already recorded. */
  public CompletionStage<Reservation> reserve(RequestContext request, H hold) {
    holds.put(request, hold);
    String route = request.route();
    long[] amounts = hold.amounts();
    CompletionStage<Reservation> reserved = shared == null
        ? local.reserve(route, hold.slots(), amounts)
        : shared.reserve(route, hold.slots(), amounts)
            .exceptionallyCompose(e -> local.reserve(route, hold.slots(), amounts));
    return reserved.thenApply(r -> {
      if (hold.answered(r)) {
        adjust(route, hold, r, hold.refund());
      }
      return r;
    });
  }

  /** The hold of a request between its reservation and its end, or null. */
  public H get(RequestContext request) {
    return holds.get(request);
  }

  /** The counters that hold a reservation: those that answered it. */
  public Counters counters(Reservation r) {
    return r.local() || shared == null ? local : shared;
  }

  /**
   * The usage is final: corrects the charge to it (once per request). The stage completes when the
   * counters answered (local: at once; Redis: when the script answered or timed out).
   */
  public CompletionStage<Void> settle(RequestContext request, Usage usage) {
    H hold = holds.get(request);
    if (hold == null) {
      return CompletableFuture.completedFuture(null);
    }
    long[] deltas = actuals.of(hold, usage);
    Reservation r;
    synchronized (hold) {
      r = hold.settle();
      if (r == null) {
        return CompletableFuture.completedFuture(null);
      }
      subtract(deltas, hold.charged());
    }
    return adjust(request.route(), hold, r, deltas);
  }

  /** The exchange ended: forgets the hold, and corrects the charge unless it was settled. */
  public void complete(RequestContext request, ExchangeSummary summary) {
    H hold = holds.remove(request);
    if (hold == null) {
      return;
    }
    Reservation r = hold.end();
    if (r == null) {
      return;
    }
    long[] charged;
    synchronized (hold) {
      charged = hold.charged();
    }
    long[] deltas;
    if (summary.usage() != null) {
      deltas = actuals.of(hold, summary.usage());
      subtract(deltas, charged);
    } else if (summary.status() >= 400) {
      deltas = new long[charged.length]; // no answer was produced: nothing was used
      subtract(deltas, charged);
    } else {
      return;
    }
    adjust(request.route(), hold, r, deltas);
  }

  private static void subtract(long[] from, long[] amounts) {
    for (int i = 0; i < from.length; i++) {
      from[i] -= amounts[i];
    }
  }

  /** Corrects a charge; the stage completes (never exceptionally) when the store answered or gave up. */
  private CompletionStage<Void> adjust(String route, Hold hold, Reservation r, long[] deltas) {
    boolean any = false;
    for (long d : deltas) {
      any |= d != 0;
    }
    if (!any) {
      return CompletableFuture.completedFuture(null);
    }
    return counters(r).adjust(route, hold.slots(), deltas).handle((v, e) -> {
      if (e != null) {
        log.debug("{}: a correction of {} on route {} was dropped: {}", plugin, Arrays.toString(deltas), route,
            e.toString());
      }
      return null;
    });
  }
}
