package io.sluice.usage;

import io.sluice.usage.UsageTracker.Verdict;
import java.util.Arrays;

/**
 * OpenAI chat completions' events for an {@link EventClassifier}: an ordinary chunk's content deltas and
 * model, and the usage chunk's figures, read from its bytes ({@link ChunkReader}); tool calls and
 * anything else parsed ({@link UsageScan}); {@code data: [DONE]} and the usage-only chunk end the stream's usage;
 * the usage-only chunk is dropped when the gateway asked for it and the client did not.
 *
 * <p>Threading: no state of its own (one instance serves every stream); each call runs on its
 * stream's event loop.
 */
final class ChatEventReader implements EventReader {
  private static final byte[] DONE = ChunkReader.ascii("[DONE]");

  static final ChatEventReader INSTANCE = new ChatEventReader();

  private ChatEventReader() {}

  @Override
  public Verdict read(EventClassifier events, byte[] b, int from, int to) {
    if (to - from >= DONE.length && Arrays.equals(b, from, from + DONE.length, DONE, 0, DONE.length)) {
      events.reachEnd();
      return Verdict.PASS;
    }
    UsageTracker usage = events.usage();
    ChunkReader reader = events.chunkReader();
    if (events.fastPath() && reader.chat(b, from, to)) {
      // an ordinary chunk (content deltas and the model) or the usage chunk, read from the bytes
      if (reader.modelEnd > reader.modelStart) {
        usage.model(b, reader.modelStart, reader.modelEnd);
      }
      usage.appendPieces(b, reader.pieces, 0, reader.pieceCount);
      if (!reader.usageObject) {
        events.learn(b, from, to, false); // a chunk with usage is never a template: its figures must be read
        return reader.content ? Verdict.CONTENT : Verdict.PASS;
      }
      events.usageChunksRead++;
      usage.reported(reader.in, reader.out, reader.cached, reader.reasoning);
      return usage(events, reader.choicesArray, reader.choices, reader.in, reader.out, reader.content);
    }
    // a tool call, a figure the byte reader leaves to the parser, or anything else
    UsageScan scan = usage.scan();
    if (!scan.parse(UsageShape.CHAT, b, from, to)) {
      return Verdict.PASS;
    }
    usage.commit(UsageShape.CHAT);
    if (!scan.usageObject) {
      return scan.content ? Verdict.CONTENT : Verdict.PASS;
    }
    return usage(events, scan.choicesArray, scan.choices, scan.in, scan.out, scan.content);
  }

  /** A chunk with a usage object (its figures committed): whether it ends the stream's usage, and is dropped. */
  private static Verdict usage(EventClassifier events, boolean choicesArray, int choices, long in, long out,
      boolean content) {
    // The usage-only chunk comes last, before [DONE]; usage repeated on content chunks
    // (continuous usage stats) is no end.
    boolean usageOnly = choicesArray && choices == 0 && (in >= 0 || out >= 0);
    if (usageOnly) {
      events.reachEnd();
      // only the chunk the gateway asked for: no choices at all, and a usage object that reads as usage
      if (events.dropsUsageChunk()) {
        return Verdict.DROP;
      }
    }
    return content ? Verdict.CONTENT : Verdict.PASS;
  }
}
