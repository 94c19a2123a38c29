package io.sluice.usage;

import io.sluice.config.RouteConfig.Api;
import io.sluice.usage.UsageTracker.Verdict;

/**
 * Reads one API's streamed events for a {@link UsageTracker}: which carry content, which end the
 * stream's usage, and the usage figures they report. One implementation per API —
 * {@link ChatEventReader}, {@link ResponsesEventReader}, {@link AnthropicEventReader} (the two
 * typed ones through {@link TypedEventReader}) — chosen once per tracker and held in a final
 * field, so an exchange's events always meet the same reader. Readers keep no state: the tracker
 * is passed in, and one instance per API serves every stream (nothing is allocated per exchange or
 * per event).
 *
 * <p>It exists so that each API's event grammar has a home of its own, while the tracker keeps what
 * the three share: the event template, the verdicts, the totals ({@link UsageTracker#commit}).
 *
 * <p>Threading: stateless, shared by every tracker; each call runs on its tracker's event loop.
 */
interface EventReader {
  /** For an API whose events carry no usage ({@code models}): every event passes. */
  EventReader NONE = (tracker, b, from, to) -> Verdict.PASS;

  /** The reader of {@code api}'s events. */
  static EventReader of(Api api) {
    return switch (api) {
      case OPENAI_CHAT -> ChatEventReader.INSTANCE;
      case OPENAI_RESPONSES -> ResponsesEventReader.INSTANCE;
      case ANTHROPIC_MESSAGES -> AnthropicEventReader.INSTANCE;
      case PASSTHROUGH, MODELS -> NONE;
    };
  }

  /**
   * One event whose {@code data:} is {@code b[from, to)}, its {@code event:} type in the tracker's
   * {@link io.sluice.sse.SseFields}; called only for an event the template did not match.
   */
  Verdict read(UsageTracker tracker, byte[] b, int from, int to);
}
