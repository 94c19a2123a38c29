package io.sluice.usage;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.config.RouteConfig.Api;
import io.sluice.sse.SseEvent;
import io.sluice.sse.SseFields;
import io.sluice.usage.UsageTracker.Verdict;
import java.nio.charset.StandardCharsets;

/**
 * Classifies each streamed event of one exchange for its {@link UsageTracker}: the relay passes it,
 * counts it as content (the moments TTFT and inter-token latency are measured at), or drops it (the
 * usage-only chunk the gateway asked for with the include_usage rewrite) — and hands the text and
 * figures it carries to the tracker, which keeps the totals.
 *
 * <p><b>Where it sits.</b> {@code BodyRelay} → {@link UsageTracker#onEvent} → here: an event of the
 * same shape as the stream's last ordinary one is read by comparing bytes with it
 * ({@link EventTemplate}); any other has its {@code event:} type and {@code data:} found by
 * {@link SseFields} and goes to the API's {@link EventReader} (chosen once per stream), which reads
 * an ordinary event from its bytes ({@link ChunkReader}) and leaves the rest to Jackson through the
 * tracker's {@link UsageScan}. The event's text goes to the tracker's estimate
 * ({@link UsageTracker#appendPieces}), its figures to its totals ({@link UsageTracker#reported},
 * {@link UsageTracker#commit}), its model to {@link UsageTracker#model(byte[], int, int)}.
 *
 * <p><b>Cost.</b> An event is read from its bytes, without a string or a parser per event. Only what
 * the fast path does not recognise — tool calls, a usage figure that is not a plain integer,
 * Anthropic {@code message_start} / {@code message_delta}, Responses terminal events — is parsed,
 * with Jackson's byte parser over the event's data and a streaming walk that skips every other
 * subtree. The event fields and the chunk reader are the event loop's; this object holds the
 * stream's template and where the event at hand lies.
 *
 * <p><b>Memory.</b> One per streamed exchange (48 bytes), made with its tracker (or at the first
 * event of a tracker not told that its response streams): the stream's reading state lives here,
 * not in the tracker, so a non-streamed exchange keeps none of it.
 *
 * <p>Threading: not thread-safe; always called on its tracker's event loop.
 */
final class EventClassifier {
  private final UsageTracker usage;
  private final EventReader events; // the API's event reader
  private final boolean dropUsageChunk;

  private ChunkReader reader; // the thread's, for the event being read
  private SseFields fields; // the thread's, for the event being read
  private EventTemplate template; // the stream's last ordinary event, once there is one
  private int blockLength; // of the event being read
  int templateMatches; // events read by their template (for tests)
  int usageChunksRead; // chat chunks whose usage was read from the bytes (for tests)
  private boolean fastPath = true;
  private boolean endReached; // the stream's usage chunk or terminal event went by

  /**
   * @param usage the tracker that keeps what the events carry
   * @param api the route's api (never {@link Api#PASSTHROUGH}: its tracker reads no events)
   * @param dropUsageChunk the usage-only chunk is dropped: the gateway asked for it, the client did not
   */
  EventClassifier(UsageTracker usage, Api api, boolean dropUsageChunk) {
    this.usage = usage;
    this.events = EventReader.of(api);
    this.dropUsageChunk = dropUsageChunk;
  }

  /** For tests: every event goes to the parser, as a reference for what the bytes fast path reads. */
  void parseEveryEvent() {
    fastPath = false;
  }

  /** The event block {@code [index, index + length)} of {@code buffer}, read in place; see {@link UsageTracker#onEvent(ByteBuf, int, int)}. */
  Verdict onEvent(ByteBuf buffer, int index, int length) {
    SseFields fields = this.fields = SseFields.forThread(); // the loop's, not the stream's
    try {
      return read(fields, fields.load(buffer, index, length), length);
    } catch (RuntimeException e) {
      return Verdict.PASS; // never let accounting break the stream
    }
  }

  /** The event block {@code bytes[offset, offset + length)}: the framer's array it was scanned in. */
  Verdict onEvent(byte[] bytes, int offset, int length) {
    SseFields fields = this.fields = SseFields.forThread();
    try {
      return read(fields, fields.load(bytes, offset, length), length);
    } catch (RuntimeException e) {
      return Verdict.PASS; // never let accounting break the stream
    }
  }

  /** An event already parsed into its fields (with data), read as its block of {@code event:} + {@code data:} lines. */
  Verdict onEvent(SseEvent event) {
    StringBuilder block = new StringBuilder(event.data().length() + 32);
    if (event.event() != null) {
      block.append("event: ").append(event.event()).append('\n');
    }
    for (String line : event.data().split("\n", -1)) {
      block.append("data: ").append(line).append('\n');
    }
    block.append('\n');
    ByteBuf bytes = Unpooled.wrappedBuffer(block.toString().getBytes(StandardCharsets.UTF_8));
    return onEvent(bytes, bytes.readerIndex(), bytes.readableBytes());
  }

  /** One event block, {@code block[0, length)} (the thread's copy in {@code fields}). */
  private Verdict read(SseFields fields, byte[] block, int length) {
    try {
      if (template != null && template.match(block, length)) {
        templateMatches++;
        if (template.modelStart >= 0) {
          usage.model(block, template.modelStart, template.modelEnd);
        }
        usage.appendPieces(block, template.pieces, EventTemplate.piecesOffset(), template.pieceCount);
        return template.content ? Verdict.CONTENT : Verdict.PASS;
      }
      reader = ChunkReader.forThread(); // not for a template's match: one thread-local look-up less per event
      blockLength = length;
      fields.read(length);
      if (!fields.hasData()) {
        return Verdict.PASS;
      }
      return events.read(this, fields.data(), fields.dataStart(), fields.dataEnd());
    } catch (RuntimeException e) {
      return Verdict.PASS; // never let accounting break the stream
    }
  }

  /** Whether the stream's usage chunk or terminal event went by ({@link UsageTracker#endReached()}). */
  boolean endReached() {
    return endReached;
  }

  // ---------------------------------------------------------------- for the API's event reader

  /** The tracker the event's text and figures go to. */
  UsageTracker usage() {
    return usage;
  }

  /** The thread's fields, for the event being read. */
  SseFields fields() {
    return fields;
  }

  /** The thread's chunk reader, for the event being read. */
  ChunkReader chunkReader() {
    return reader;
  }

  /** Whether the usage-only chunk is dropped: the gateway asked for it, the client did not (openai-chat). */
  boolean dropsUsageChunk() {
    return dropUsageChunk;
  }

  /** False in the reference mode for tests: every event goes to the parser. */
  boolean fastPath() {
    return fastPath;
  }

  /** The stream's usage chunk or terminal event went by. */
  void reachEnd() {
    endReached = true;
    if (template != null) {
      template.release(); // the thread's lease goes to the next stream's template
    }
  }

  /** The text of a content delta event (Responses or Anthropic) for the estimate: from the bytes, else parsed. */
  void deltaText(byte[] b, int from, int to, UsageShape shape) {
    boolean read = fastPath && (shape == UsageShape.ANTHROPIC_DELTA
        ? reader.anthropicDelta(b, from, to) : reader.responsesDelta(b, from, to));
    if (read) {
      usage.appendPieces(b, reader.pieces, 0, reader.pieceCount);
      learn(b, from, to, true);
    } else {
      usage.scan().parse(shape, b, from, to);
    }
  }

  /** The event the reader just read ({@code b[from, to)} its data) is the template for the next ones. */
  void learn(byte[] b, int from, int to, boolean alwaysContent) {
    if (!fastPath || fields.dataJoined()) {
      return; // the reference mode parses every event; joined data lines are not the block's bytes
    }
    if (template == null) {
      template = new EventTemplate();
    }
    template.learn(b, blockLength, from, to, reader, alwaysContent);
  }
}
