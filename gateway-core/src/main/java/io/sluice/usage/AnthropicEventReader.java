package io.sluice.usage;

import io.sluice.sse.SseFields;
import io.sluice.usage.UsageTracker.Verdict;

/**
 * Anthropic Messages' events for an {@link EventClassifier}: {@code content_block_delta} is content
 * (its text kept for the estimate); {@code message_start} carries the input (and cache) figures,
 * each {@code message_delta} the cumulative output; {@code message_delta} / {@code message_stop}
 * end the stream's usage.
 *
 * <p>Threading: no state of its own (one instance serves every stream); each call runs on its
 * stream's event loop.
 */
final class AnthropicEventReader extends TypedEventReader {
  private static final byte[] CONTENT_BLOCK_DELTA = ChunkReader.ascii("content_block_delta");
  private static final byte[] MESSAGE_START = ChunkReader.ascii("message_start");
  private static final byte[] MESSAGE_DELTA = ChunkReader.ascii("message_delta");
  private static final byte[] MESSAGE_STOP = ChunkReader.ascii("message_stop");

  static final AnthropicEventReader INSTANCE = new AnthropicEventReader();

  private AnthropicEventReader() {}

  @Override
  Verdict read(EventClassifier events, SseFields fields, byte[] b, int from, int to) {
    if (fields.typeIs(CONTENT_BLOCK_DELTA)) {
      events.deltaText(b, from, to, UsageShape.ANTHROPIC_DELTA);
      return Verdict.CONTENT;
    }
    if (fields.typeIs(MESSAGE_START) || fields.typeIs(MESSAGE_DELTA) || fields.typeIs(MESSAGE_STOP)) {
      return read(events, fields.type(), b, from, to);
    }
    return Verdict.PASS;
  }

  @Override
  Verdict read(EventClassifier events, String type, byte[] b, int from, int to) {
    UsageTracker usage = events.usage();
    UsageScan scan = usage.scan();
    switch (type) {
      case "content_block_delta" -> {
        events.deltaText(b, from, to, UsageShape.ANTHROPIC_DELTA);
        return Verdict.CONTENT;
      }
      case "message_start" -> {
        if (scan.parse(UsageShape.ANTHROPIC_START, b, from, to)) {
          usage.commit(UsageShape.ANTHROPIC_START);
        }
      }
      case "message_stop" -> events.reachEnd();
      case "message_delta" -> {
        events.reachEnd(); // the last usage, right before message_stop
        if (JsonBytes.contains(b, from, to, QUOTED_USAGE)
            && scan.parse(UsageShape.ANTHROPIC_DELTA_USAGE, b, from, to)) {
          usage.commit(UsageShape.ANTHROPIC_DELTA_USAGE);
        }
      }
      default -> { }
    }
    return Verdict.PASS;
  }
}
