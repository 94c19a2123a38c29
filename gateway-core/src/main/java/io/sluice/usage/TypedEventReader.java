package io.sluice.usage;

import io.sluice.sse.SseFields;
import io.sluice.usage.UsageTracker.Verdict;

/**
 * An {@link EventReader} for an API whose events are typed — OpenAI Responses and Anthropic
 * Messages: the type is read from the {@code event:} line's bytes where there is one (the usual
 * case: compared without a string), else from the data's top-level {@code type} (then by name).
 *
 * <p>It exists so that both typed APIs find an event's type the same way, in one place.
 *
 * <p>Threading: no state of its own (one instance per API serves every stream); each call runs on
 * its stream's event loop.
 */
abstract class TypedEventReader implements EventReader {
  /** {@code "usage"} with its quotes: whether an event's data names a usage object at all. */
  static final byte[] QUOTED_USAGE = ChunkReader.ascii("\"usage\"");

  @Override
  public final Verdict read(EventClassifier events, byte[] b, int from, int to) {
    SseFields fields = events.fields();
    if (!fields.hasType()) {
      String type = UsageScan.topLevelType(b, from, to);
      return type == null ? Verdict.PASS : read(events, type, b, from, to);
    }
    return read(events, fields, b, from, to);
  }

  /** An event with an {@code event:} line, its type compared in {@code fields} as bytes. */
  abstract Verdict read(EventClassifier events, SseFields fields, byte[] b, int from, int to);

  /** An event by its type name (the rare events, and events without an {@code event:} line). */
  abstract Verdict read(EventClassifier events, String type, byte[] b, int from, int to);
}
