package io.sluice.usage;

import io.sluice.usage.UsageTracker.Verdict;

/**
 * Reads one API's streamed events for a {@link UsageTracker}: which carry content, which end the
 * stream's usage, and the usage figures they report. One implementation per API —
 * {@link ChatEventReader}, {@link ResponsesEventReader}, {@link AnthropicEventReader} — chosen
 * once per tracker and held in a final field, so an exchange's events always meet the same reader.
 *
 * <p>It exists so that each API's event grammar has a home of its own, while the tracker keeps what
 * the three share: the event template, the verdicts, the totals ({@link UsageTracker#commit}).
 *
 * <p>Threading: a reader belongs to its tracker: the exchange's event loop, not thread-safe.
 */
interface EventReader {
  /** For an API whose events carry no usage ({@code models}): every event passes. */
  EventReader NONE = (b, from, to) -> Verdict.PASS;

  /**
   * One event whose {@code data:} is {@code b[from, to)}, its {@code event:} type in the tracker's
   * {@link io.sluice.sse.SseFields}; called only for an event the template did not match.
   */
  Verdict read(byte[] b, int from, int to);
}
