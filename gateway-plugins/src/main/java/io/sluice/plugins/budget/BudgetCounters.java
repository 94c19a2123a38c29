package io.sluice.plugins.budget;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Period counters, local or shared: all of a request's rules are checked and charged together,
 * each with its own amount (a USD rule counts nano-dollars, a tokens rule tokens).
 */
interface BudgetCounters {

  /**
   * Admits and charges {@code amounts[i]} to slot i when no slot is spent (used &lt; limit), else
   * charges nothing.
   */
  CompletionStage<Reservation> reserve(String route, List<Slot> slots, long[] amounts);

  /** Adds {@code deltas[i]} (negative: a refund) to slot i, if its period's counter still exists. */
  CompletionStage<Void> adjust(String route, List<Slot> slots, long[] deltas);

  /** What {@link #reserve} decided; {@code remaining[i]} is for {@code slots.get(i)} (≤ 0 when spent). */
  record Reservation(boolean admitted, long[] remaining, boolean local) {}
}
