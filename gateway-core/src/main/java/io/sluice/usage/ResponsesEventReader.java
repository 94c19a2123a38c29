package io.sluice.usage;

import io.sluice.sse.SseFields;
import io.sluice.usage.UsageTracker.Verdict;

/**
 * OpenAI Responses' events for an {@link EventClassifier}: every {@code *.delta} but audio is content
 * (its text kept for the estimate); {@code response.completed} / {@code .incomplete} /
 * {@code .failed} end the stream's usage and carry it in {@code response.usage}; the model comes
 * from the first of {@code response.created} / {@code .in_progress} / the terminal event that names
 * it.
 *
 * <p>Threading: no state of its own (one instance serves every stream); each call runs on its
 * stream's event loop.
 */
final class ResponsesEventReader extends TypedEventReader {
  private static final byte[] DOT_DELTA = ChunkReader.ascii(".delta");
  private static final byte[] AUDIO_DELTA = ChunkReader.ascii("audio.delta");
  private static final byte[] RESPONSE_COMPLETED = ChunkReader.ascii("response.completed");
  private static final byte[] RESPONSE_INCOMPLETE = ChunkReader.ascii("response.incomplete");
  private static final byte[] RESPONSE_FAILED = ChunkReader.ascii("response.failed");
  private static final byte[] RESPONSE_CREATED = ChunkReader.ascii("response.created");
  private static final byte[] RESPONSE_IN_PROGRESS = ChunkReader.ascii("response.in_progress");

  static final ResponsesEventReader INSTANCE = new ResponsesEventReader();

  private ResponsesEventReader() {}

  @Override
  Verdict read(EventClassifier events, SseFields fields, byte[] b, int from, int to) {
    if (fields.typeEndsWith(DOT_DELTA)) {
      if (!fields.typeEndsWith(AUDIO_DELTA)) { // base64 audio is not text
        events.deltaText(b, from, to, UsageShape.RESPONSES_DELTA);
      }
      return Verdict.CONTENT;
    }
    if (fields.typeIs(RESPONSE_COMPLETED) || fields.typeIs(RESPONSE_INCOMPLETE) || fields.typeIs(RESPONSE_FAILED)
        || fields.typeIs(RESPONSE_CREATED) || fields.typeIs(RESPONSE_IN_PROGRESS)) {
      return read(events, fields.type(), b, from, to);
    }
    return Verdict.PASS;
  }

  @Override
  Verdict read(EventClassifier events, String type, byte[] b, int from, int to) {
    if (type.endsWith(".delta")) {
      if (!type.endsWith("audio.delta")) {
        events.deltaText(b, from, to, UsageShape.RESPONSES_DELTA);
      }
      return Verdict.CONTENT;
    }
    UsageTracker usage = events.usage();
    UsageScan scan = usage.scan();
    switch (type) {
      case "response.completed", "response.incomplete", "response.failed" -> {
        events.reachEnd();
        if (JsonBytes.contains(b, from, to, QUOTED_USAGE) || !usage.hasResponseModel()) {
          if (scan.parse(UsageShape.RESPONSES_EVENT, b, from, to)) {
            usage.commit(UsageShape.RESPONSES_EVENT);
          }
        }
      }
      case "response.created", "response.in_progress" -> {
        if (!usage.hasResponseModel() && scan.parse(UsageShape.RESPONSES_EVENT, b, from, to)) {
          usage.commit(UsageShape.RESPONSES_EVENT);
        }
      }
      default -> { }
    }
    return Verdict.PASS;
  }
}
