package io.sluice.usage;

import io.sluice.config.RouteConfig.Api;
import io.sluice.usage.UsageTracker.Verdict;

/**
 * Reads one API's streamed events for an {@link EventClassifier}: which carry content, which end
 * the stream's usage, and the usage figures they report. One implementation per API —
 * {@link ChatEventReader}, {@link ResponsesEventReader}, {@link AnthropicEventReader} (the two
 * typed ones through {@link TypedEventReader}) — chosen once per stream and held in a final
 * field, so an exchange's events always meet the same reader. Readers keep no state: the
 * classifier is passed in, and one instance per API serves every stream (nothing is allocated per
 * exchange or per event).
 *
 * <p>It exists so that each API's event grammar has a home of its own, while the classifier keeps
 * what the three share (the event template, the verdicts) and the tracker the totals
 * ({@link UsageTracker#commit}).
 *
 * <p>Threading: stateless, shared by every stream; each call runs on its stream's event loop.
 */
interface EventReader {
  /** For an API whose events carry no usage ({@code models}): every event passes. */
  EventReader NONE = (events, b, from, to) -> Verdict.PASS;

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
   * One event whose {@code data:} is {@code b[from, to)}, its {@code event:} type in the
   * classifier's {@link io.sluice.sse.SseFields}; called only for an event the template did not match.
   */
  Verdict read(EventClassifier events, byte[] b, int from, int to);
}
