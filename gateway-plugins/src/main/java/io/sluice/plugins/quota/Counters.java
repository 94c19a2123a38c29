package io.sluice.plugins.quota;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Window or period counters, local or shared: all of a request's rules are checked and charged
 * together, each with its own amount (a USD rule counts nano-dollars, a tokens rule tokens).
 */
public interface Counters {

  /**
   * Admits and charges {@code amounts[i]} to slot i when no slot is spent (used &lt; limit), else
   * charges nothing.
   *
   * @return whether admitted, and each slot's remaining amount afterwards (≤ 0 when spent)
   */
  CompletionStage<Reservation> reserve(String route, List<Slot> slots, long[] amounts);

  /** Adds {@code deltas[i]} (negative: a refund) to slot i, if its window's counter still exists. */
  CompletionStage<Void> adjust(String route, List<Slot> slots, long[] deltas);

  /** What {@link #reserve} decided; {@code remaining[i]} is for {@code slots.get(i)} (≤ 0 when spent). */
  record Reservation(boolean admitted, long[] remaining, boolean local) {}
}
