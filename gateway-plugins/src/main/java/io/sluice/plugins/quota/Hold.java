package io.sluice.plugins.quota;

import io.sluice.plugins.quota.Counters.Reservation;
import java.util.List;

/**
 * One request between its reservation and its end: the slots it was charged to, the amounts, and
 * what the counters answered. A plugin that keeps more per request (a mid-stream top-up) extends
 * it; the hold's own monitor guards every mutable field, the subclass's included.
 */
public class Hold {
  private final List<Slot> slots;
  private final long[] amounts;
  private final long now;
  private Reservation reservation; // null until the counters answered
  private boolean ended;
  private boolean settled; // reconciled with the final usage (Ledger.settle); complete leaves it

  /** @param amounts the reservation per slot ({@code amounts[i]} for {@code slots.get(i)}); not copied */
  public Hold(List<Slot> slots, long[] amounts, long now) {
    this.slots = slots;
    this.amounts = amounts;
    this.now = now;
  }

  public final List<Slot> slots() {
    return slots;
  }

  /** The wall-clock time of the request, in epoch milliseconds. */
  public final long now() {
    return now;
  }

  /** The amount reserved on slot i (before any later top-up). */
  public final long amount(int i) {
    return amounts[i];
  }

  public final synchronized Reservation reservation() {
    return reservation;
  }

  /**
   * What is charged to each slot now. A subclass that charges more after the reservation adds it
   * here; called under this hold's monitor.
   */
  protected long[] charged() {
    return amounts.clone();
  }

  /** Whole seconds until every spent slot has renewed: the latest end among them, at least 1. */
  public final long retryAfter(Reservation r) {
    long retryAfter = 1;
    for (int i = 0; i < slots.size(); i++) {
      if (r.remaining()[i] <= 0) {
        retryAfter = Math.max(retryAfter, slots.get(i).secondsToEnd(now));
      }
    }
    return retryAfter;
  }

  /** Records the counters' answer; true when the exchange already ended and an admitted charge must go back. */
  final synchronized boolean answered(Reservation r) {
    reservation = r;
    return ended && r.admitted();
  }

  /** Marks the usage settled; the reservation when this is the first settlement of an admitted request, else null. */
  final synchronized Reservation settle() {
    if (reservation == null || !reservation.admitted() || settled) {
      return null;
    }
    settled = true;
    return reservation;
  }

  /** Marks the exchange ended; the reservation when it still wants a correction, else null. */
  final synchronized Reservation end() {
    ended = true;
    // refused, still reserving (the answer refunds it when it comes), or settled before the end
    return reservation == null || !reservation.admitted() || settled ? null : reservation;
  }

  /** The reservation's amounts, as charged by {@link Ledger#reserve}. */
  final long[] amounts() {
    return amounts;
  }

  final long[] refund() {
    long[] out = new long[amounts.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = -amounts[i];
    }
    return out;
  }
}
