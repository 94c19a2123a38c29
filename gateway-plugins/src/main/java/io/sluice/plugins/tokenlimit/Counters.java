package io.sluice.plugins.tokenlimit;

import java.util.List;
import java.util.concurrent.CompletionStage;

/** Window counters, local or shared: all of a request's rules are checked and charged together. */
interface Counters {

  /**
   * Admits and charges {@code amount} to every slot when none is spent (used &lt; limit), else
   * charges nothing.
   *
   * @return whether admitted, and each slot's remaining tokens afterwards (≤ 0 when spent)
   */
  CompletionStage<Reservation> reserve(String route, List<Slot> slots, long amount);

  /** Adds {@code delta} (negative: a refund) to every slot whose window still exists. */
  CompletionStage<Void> adjust(String route, List<Slot> slots, long delta);

  /** What {@link #reserve} decided; {@code remaining[i]} is for {@code slots.get(i)}. */
  record Reservation(boolean admitted, long[] remaining, boolean local) {}
}
