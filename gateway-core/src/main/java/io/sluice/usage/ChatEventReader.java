package io.sluice.usage;

import io.sluice.usage.UsageTracker.Verdict;
import java.util.Arrays;

/**
 * OpenAI chat completions' events for a {@link UsageTracker}: an ordinary chunk's content deltas and
 * model read from its bytes ({@link ChunkReader}); the usage chunk, tool calls and anything else
 * parsed ({@link UsageScan}); {@code data: [DONE]} and the usage-only chunk end the stream's usage;
 * the usage-only chunk is dropped when the gateway asked for it and the client did not.
 *
 * <p>Threading: no state of its own (one instance serves every tracker); each call runs on its
 * tracker's event loop.
 */
final class ChatEventReader implements EventReader {
  private static final byte[] DONE = ChunkReader.ascii("[DONE]");

  static final ChatEventReader INSTANCE = new ChatEventReader();

  private ChatEventReader() {}

  @Override
  public Verdict read(UsageTracker tracker, byte[] b, int from, int to) {
    if (to - from >= DONE.length && Arrays.equals(b, from, from + DONE.length, DONE, 0, DONE.length)) {
      tracker.reachEnd();
      return Verdict.PASS;
    }
    ChunkReader reader = tracker.chunkReader();
    if (tracker.fastPath() && reader.chat(b, from, to)) {
      // an ordinary chunk: content deltas and the model, read from the bytes
      if (reader.modelEnd > reader.modelStart) {
        tracker.model(b, reader.modelStart, reader.modelEnd);
      }
      tracker.appendPieces(b, reader.pieces, 0, reader.pieceCount);
      tracker.learn(b, from, to, false);
      return reader.content ? Verdict.CONTENT : Verdict.PASS;
    }
    // the usage chunk, a tool call, or anything else the fast path leaves to the parser
    UsageScan scan = tracker.scan();
    if (!scan.parse(UsageShape.CHAT, b, from, to)) {
      return Verdict.PASS;
    }
    tracker.commit(UsageShape.CHAT);
    // The usage-only chunk comes last, before [DONE]; usage repeated on content chunks
    // (continuous usage stats) is no end.
    if (scan.choicesArray && scan.choices == 0 && scan.usageObject && (scan.in >= 0 || scan.out >= 0)) {
      tracker.reachEnd();
    }
    // only the chunk the gateway asked for: no choices at all, and a usage object that reads as usage
    if (tracker.dropsUsageChunk() && scan.choicesArray && scan.choices == 0 && scan.usageObject
        && (scan.in >= 0 || scan.out >= 0)) {
      return Verdict.DROP;
    }
    return scan.content ? Verdict.CONTENT : Verdict.PASS;
  }
}
