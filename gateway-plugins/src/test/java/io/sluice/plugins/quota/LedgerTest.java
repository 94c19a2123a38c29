package io.sluice.plugins.quota;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugins.quota.Counters.Reservation;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import io.sluice.usage.Usage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * The reserve-then-reconcile bookkeeping on its own, with shared counters the test answers by hand
 * (a Redis reply that comes late, or not at all).
 */
class LedgerTest {
  private static final long DAY = 86_400_000L;
  private final FakeServices services = new FakeServices();
  private final LocalCounters local = new LocalCounters(services.clock(), services.nanoTime());
  private final HandAnswered shared = new HandAnswered();
  /** Real amounts: the usage's tokens on every slot. */
  private final Ledger<Hold> ledger = new Ledger<>("test", local, shared,
      (h, usage) -> filled(h.slots().size(), usage.totalTokens()));

  /** Shared counters whose reservations complete when the test says; adjustments are recorded. */
  static final class HandAnswered implements Counters {
    final List<CompletableFuture<Reservation>> reservations = new ArrayList<>();
    final List<String> adjustments = new ArrayList<>();

    @Override
    public CompletionStage<Reservation> reserve(String route, List<Slot> slots, long[] amounts) {
      CompletableFuture<Reservation> f = new CompletableFuture<>();
      reservations.add(f);
      return f;
    }

    @Override
    public CompletionStage<Void> adjust(String route, List<Slot> slots, long[] deltas) {
      adjustments.add(route + " " + Arrays.toString(deltas));
      return CompletableFuture.completedFuture(null);
    }
  }

  private static long[] filled(int n, long v) {
    long[] a = new long[n];
    Arrays.fill(a, v);
    return a;
  }

  private static Hold hold(long... amounts) {
    List<Slot> slots = new ArrayList<>();
    for (int i = 0; i < amounts.length; i++) {
      slots.add(new Slot(i, "alice", 0, DAY, 1_000));
    }
    return new Hold(slots, amounts, 0);
  }

  private static Reservation admitted(int slots) {
    return new Reservation(true, filled(slots, 500), false);
  }

  @Test
  void aReservationAnsweredAfterTheExchangeEndedIsRefundedAtOnce() {
    FakeRequest request = new FakeRequest();
    Hold h = hold(100, 40);
    CompletionStage<Reservation> answer = ledger.reserve(request, h);
    ledger.complete(request, new ExchangeSummary(499, "client_closed", 1));
    assertThat(shared.adjustments).as("nothing to correct before the reservation is known").isEmpty();
    shared.reservations.get(0).complete(admitted(2));
    assertThat(answer.toCompletableFuture().join().admitted()).isTrue();
    assertThat(shared.adjustments).containsExactly("chat [-100, -40]");
  }

  @Test
  void theUsageIsSettledOnceAndTheEndLeavesItStanding() {
    FakeRequest request = new FakeRequest();
    ledger.reserve(request, hold(100, 40));
    shared.reservations.get(0).complete(admitted(2));
    Usage usage = new Usage(30, 40, 0, 0, "m", false);
    ledger.settle(request, usage).toCompletableFuture().join();
    ledger.settle(request, usage).toCompletableFuture().join();
    ledger.complete(request, new ExchangeSummary(200, "ok", 1, usage));
    assertThat(shared.adjustments).containsExactly("chat [-30, 30]");
    assertThat(ledger.get(request)).as("forgotten at the end").isNull();
  }

  @Test
  void anExchangeWithoutAnAnswerIsRefundedAndOneWithoutUsageStands() {
    FakeRequest failed = new FakeRequest();
    ledger.reserve(failed, hold(100));
    shared.reservations.get(0).complete(admitted(1));
    ledger.complete(failed, new ExchangeSummary(502, "upstream_failed", 1));
    FakeRequest unmetered = new FakeRequest();
    ledger.reserve(unmetered, hold(100));
    shared.reservations.get(1).complete(admitted(1));
    ledger.complete(unmetered, new ExchangeSummary(200, "ok", 1));
    assertThat(shared.adjustments).containsExactly("chat [-100]");
  }

  @Test
  void whenTheSharedStoreFailsTheLocalCountersHoldAndCorrectTheCharge() {
    FakeRequest request = new FakeRequest();
    Hold h = hold(100);
    CompletionStage<Reservation> answer = ledger.reserve(request, h);
    shared.reservations.get(0).completeExceptionally(new IllegalStateException("redis is down"));
    Reservation r = answer.toCompletableFuture().join();
    assertThat(r.local()).isTrue();
    assertThat(r.remaining()).containsExactly(900);
    assertThat(ledger.counters(r)).isSameAs(local);
    ledger.settle(request, new Usage(10, 20, 0, 0, "m", false)).toCompletableFuture().join();
    assertThat(shared.adjustments).as("corrected where it was charged").isEmpty();
    Reservation next = local.reserve("chat", h.slots(), new long[] {0}).toCompletableFuture().join();
    assertThat(next.remaining()).as("1,000 − 30 used").containsExactly(970);
  }
}
