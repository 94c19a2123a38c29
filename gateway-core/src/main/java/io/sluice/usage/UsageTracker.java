package io.sluice.usage;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.config.RouteConfig.Api;
import io.sluice.sse.SseEvent;
import io.sluice.sse.SseFields;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;

/**
 * Reads the token usage of one exchange from the upstream's response, and tells the relay which
 * streamed events carry generated content (the moments TTFT and inter-token latency are measured
 * at) and which one to drop (the usage-only chunk the gateway itself asked for with the
 * include_usage rewrite). See {@code gateway-core/docs/usage.md}.
 *
 * <p><b>How the relay calls it</b> (one tracker per exchange, on the exchange's event loop; not
 * thread-safe; never for {@code api: passthrough}):
 * <pre>{@code
 * RequestInfo info = RequestRewriter.inspect(api, requestBody);          // before sending upstream
 * // send info.rewritten() ? info.rewrittenBody() : requestBody
 * UsageTracker usage = UsageTracker.forRequest(api, info, responseIsEventStream);
 * // streamed response — for every WHOLE event from SseFramer.Sink#event (not for fragments):
 * UsageTracker.Verdict v = usage.onEvent(eventBytes);                   // read in place, not consumed
 * if (v.drop()) { eventBytes.release(); } else { write eventBytes to the client }
 * if (v.content()) { record TTFT (first time) / inter-token latency (since previous content) }
 * // non-streamed response — every body chunk as it passes, then the end:
 * usage.onBodyChunk(content);   // ByteBuf untouched: indexes and refCnt unchanged
 * usage.onBodyEnd();
 * // when the exchange ends (also after an upstream error or a client abort):
 * Usage u = usage.usage();      // tokens_in / tokens_out / tokens_estimated, model label
 * }</pre>
 *
 * <p><b>Where usage is read.</b> OpenAI chat: {@code usage.prompt_tokens}, {@code completion_tokens},
 * {@code prompt_tokens_details.cached_tokens}, {@code completion_tokens_details.reasoning_tokens}
 * (the last chunk that carries a non-null {@code usage}). Responses: {@code response.usage} of
 * {@code response.completed} (also {@code response.incomplete} / {@code response.failed}), with
 * {@code input_tokens}, {@code output_tokens}, {@code input_tokens_details.cached_tokens},
 * {@code output_tokens_details.reasoning_tokens}. Anthropic: input = {@code input_tokens +
 * cache_read_input_tokens + cache_creation_input_tokens} from {@code message_start} (cached =
 * {@code cache_read_input_tokens}), output = {@code output_tokens} of the LAST {@code message_delta}
 * (cumulative; figures a later event repeats replace earlier ones). Every figure replaces, never
 * adds to, an earlier one: an event seen twice, or usage repeated in several chunks, cannot count
 * twice.
 *
 * <p><b>Estimation.</b> When the upstream reports no output figure, output tokens are counted from
 * the generated text (content, reasoning, refusal and tool-call deltas) with cl100k_base
 * ({@link TokenEstimator}); without an input figure, input is the request's prompt estimate.
 * {@link Usage#estimated()} is then true.
 *
 * <p><b>Cost.</b> An event is read from its bytes, without a string or a parser per event: one
 * with the shape of the stream's last ordinary event by comparing bytes with it
 * ({@link EventTemplate}); otherwise its {@code event:} type and {@code data:} are found by
 * {@link SseFields}, and a chat chunk's content deltas, model and usage figures by {@link ChunkReader}. Only what the fast path does not recognise —
 * tool calls, a usage figure that is not a plain integer, Anthropic {@code message_start} /
 * {@code message_delta}, Responses terminal events — is parsed, with Jackson's byte parser over the event's data and a streaming
 * walk that skips every other subtree. Text for estimation is kept as the deltas' escaped bytes and
 * decoded and tokenized in 8 KiB pieces ({@link GeneratedText}), or never when usage arrives first.
 * A non-streamed body is parsed incrementally with Jackson's non-blocking parser as it passes, up
 * to {@value #MAX_BODY_BYTES} bytes; past that, parsing stops and the rest of the body counts 1
 * token per 4 bytes. Malformed JSON never throws: the event is passed on and usage stays unknown.
 *
 * <p><b>Per API.</b> Each API's event grammar is read by its own {@link EventReader}
 * ({@link ChatEventReader}, {@link ResponsesEventReader}, {@link AnthropicEventReader}), chosen
 * once per tracker; the tracker keeps the event template, the verdicts and the totals.
 */
public final class UsageTracker {
  /** Non-streamed bodies are parsed up to this size; beyond it usage is estimated. */
  public static final int MAX_BODY_BYTES = JsonBody.MAX_BYTES;

  /** What the relay does with one streamed event. */
  public enum Verdict {
    /** Relay the event; it carries no generated content. */
    PASS,
    /** Relay the event; it carries generated content (TTFT / inter-token latency). */
    CONTENT,
    /** Do not relay: the usage-only chunk the gateway asked for on the client's behalf. */
    DROP;

    public boolean drop() {
      return this == DROP;
    }

    public boolean content() {
      return this == CONTENT;
    }
  }

  private final Api api;
  private final EventReader events; // the API's event reader
  private final boolean dropUsageChunk;
  private final String requestModel;
  private final LongSupplier promptEstimate; // counted only when the upstream reports no input tokens

  private final GeneratedText output = new GeneratedText();
  private String responseModel;
  private byte[] responseModelBytes; // its UTF-8 when read from bytes and not the request's (else null: compared as ASCII)
  private long input = -1;
  private long outputReported = -1;
  private long cached;
  private long reasoning;
  // Anthropic's parts of the input
  private long anthropicInput = -1;
  private long cacheRead;
  private long cacheCreation;

  // Made for the first event the fast path leaves to the parser (or a non-streamed body): a chat
  // stream read from its bytes needs it only for its usage chunk, so a held stream keeps none.
  private UsageScan scan;
  private ChunkReader reader; // the thread's, for the event being read
  private SseFields fields; // the thread's, for the event being read
  private EventTemplate template; // the stream's last ordinary event, once there is one
  private int blockLength; // of the event being read
  int templateMatches; // events read by their template (for tests)
  int usageChunksRead; // chat chunks whose usage was read from the bytes (for tests)
  private boolean fastPath = true;
  private boolean endReached; // the stream's usage chunk or terminal event went by

  /** {@code "usage"} with its quotes: whether an event's data names a usage object at all. */
  static final byte[] QUOTED_USAGE = ChunkReader.ascii("\"usage\"");

  private JsonBody body; // a non-streamed body, once one arrives

  /**
   * @param api the route's api; for {@link Api#PASSTHROUGH} the tracker does nothing and
   *     {@link #usage()} is null
   * @param streamed the response is {@code text/event-stream}; the drop flag applies only then
   * @param dropUsageChunk {@link RequestInfo#dropUsageChunk()}: the gateway added
   *     {@code include_usage} and the client did not ask for the usage-only chunk
   * @param requestModel the request's model, used when the response names none (may be null)
   * @param promptEstimate the request's prompt estimate ({@link PromptEstimate}, counted when first
   *     asked for), used as input when the upstream reports none
   */
  public UsageTracker(Api api, boolean streamed, boolean dropUsageChunk, String requestModel,
      LongSupplier promptEstimate) {
    this.api = api;
    this.dropUsageChunk = streamed && dropUsageChunk && api == Api.OPENAI_CHAT;
    this.events = EventReader.of(api);
    this.requestModel = requestModel;
    this.promptEstimate = promptEstimate;
  }

  /** For tests: every event goes to the parser, as a reference for what the bytes fast path reads. */
  UsageTracker parseEveryEvent() {
    fastPath = false;
    return this;
  }

  /** The tracker for a request inspected by {@link RequestRewriter}. */
  public static UsageTracker forRequest(Api api, RequestInfo request, boolean streamedResponse) {
    return new UsageTracker(api, streamedResponse, request.dropUsageChunk(), request.model(), request.prompt());
  }

  // ---------------------------------------------------------------- streamed responses

  /**
   * One whole SSE event block of a streamed response, in order, as {@link io.sluice.sse.SseFramer}
   * emits it (not consumed: indexes and reference count unchanged). Never throws.
   *
   * <p>The relay's per-event call: the event is read from its bytes ({@link SseFields},
   * {@link ChunkReader}); only the events that carry usage or that the fast path does not recognise
   * are parsed, with Jackson's byte parser over the event's data.
   *
   * @return {@link Verdict#DROP} only for the usage-only chunk ({@code "choices":[]} with a
   *     {@code usage} object) of an openai-chat stream whose client did not ask for it;
   *     {@link Verdict#CONTENT} for events carrying generated content; else {@link Verdict#PASS}
   */
  public Verdict onEvent(ByteBuf event) {
    return onEvent(event, event.readerIndex(), event.readableBytes());
  }

  /**
   * The same as {@link #onEvent(ByteBuf)} for the event block {@code [index, index + length)} of
   * {@code buffer} (the framer's buffer, read in place). An event of the same shape as the stream's
   * last ordinary one is read by comparing it with that one ({@link EventTemplate}); any other is
   * read field by field.
   */
  public Verdict onEvent(ByteBuf buffer, int index, int length) {
    if (api == Api.PASSTHROUGH) {
      return Verdict.PASS;
    }
    SseFields fields = this.fields = SseFields.forThread(); // the loop's, not the stream's
    try {
      return read(fields, fields.load(buffer, index, length), length);
    } catch (RuntimeException e) {
      return Verdict.PASS; // never let accounting break the stream
    }
  }

  /**
   * The same as {@link #onEvent(ByteBuf, int, int)} for the event block {@code bytes[offset, offset
   * + length)}: the framer's array the event was scanned in ({@link io.sluice.sse.SseFramer.Sink}).
   */
  public Verdict onEvent(byte[] bytes, int offset, int length) {
    if (api == Api.PASSTHROUGH) {
      return Verdict.PASS;
    }
    SseFields fields = this.fields = SseFields.forThread();
    try {
      return read(fields, fields.load(bytes, offset, length), length);
    } catch (RuntimeException e) {
      return Verdict.PASS; // never let accounting break the stream
    }
  }

  /** One event block, {@code block[0, length)} (the thread's copy in {@code fields}). */
  private Verdict read(SseFields fields, byte[] block, int length) {
    try {
      if (template != null && template.match(block, length)) {
        templateMatches++;
        if (template.modelStart >= 0) {
          model(block, template.modelStart, template.modelEnd);
        }
        appendPieces(block, template.pieces, EventTemplate.piecesOffset(), template.pieceCount);
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

  /**
   * One event already parsed into its fields; the same as {@link #onEvent(ByteBuf)} on the block
   * {@code event:} + {@code data:} lines would be. For callers that hold the fields, not the bytes.
   */
  public Verdict onEvent(SseEvent event) {
    if (event.data() == null || api == Api.PASSTHROUGH) {
      return Verdict.PASS;
    }
    StringBuilder block = new StringBuilder(event.data().length() + 32);
    if (event.event() != null) {
      block.append("event: ").append(event.event()).append('\n');
    }
    for (String line : event.data().split("\n", -1)) {
      block.append("data: ").append(line).append('\n');
    }
    block.append('\n');
    return onEvent(Unpooled.wrappedBuffer(block.toString().getBytes(StandardCharsets.UTF_8)));
  }

  // ---------------------------------------------------------------- for the API's event reader

  /** The stream's fields, for the event being read. */
  SseFields fields() {
    return fields;
  }

  /** The thread's chunk reader, for the event being read. */
  ChunkReader chunkReader() {
    return reader;
  }

  /** The scanner the parsed events are read with ({@link #commit} takes its figures). */
  UsageScan scan() {
    if (scan == null) {
      scan = new UsageScan(output);
    }
    return scan;
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

  /** Whether the response named its model already. */
  boolean hasResponseModel() {
    return responseModel != null;
  }

  /** The text of a content delta event (Responses or Anthropic) for the estimate: from the bytes, else parsed. */
  void deltaText(byte[] b, int from, int to, UsageShape shape) {
    boolean read = fastPath && (shape == UsageShape.ANTHROPIC_DELTA
        ? reader.anthropicDelta(b, from, to) : reader.responsesDelta(b, from, to));
    if (read) {
      appendPieces(b, reader.pieces, 0, reader.pieceCount);
      learn(b, from, to, true);
    } else {
      scan().parse(shape, b, from, to);
    }
  }

  void appendPieces(byte[] b, int[] pieces, int offset, int count) {
    for (int k = 0; k < count; k++) {
      output.appendEscaped(b, pieces[offset + 2 * k], pieces[offset + 2 * k + 1]);
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

  /**
   * A non-empty model name, read from the bytes: decoded only when it differs from the one held.
   * Most upstreams answer with the model asked for: that is compared with the request's string in
   * place and the request's string kept — no copy of the bytes, no new string, per stream.
   */
  void model(byte[] b, int from, int to) {
    byte[] held = responseModelBytes;
    if (held != null ? Arrays.equals(held, 0, held.length, b, from, to)
        : responseModel != null && JsonBytes.spellsAscii(b, from, to, responseModel)) {
      return;
    }
    if (requestModel != null && JsonBytes.spellsAscii(b, from, to, requestModel)) {
      responseModel = requestModel;
      responseModelBytes = null;
      return;
    }
    responseModelBytes = Arrays.copyOfRange(b, from, to);
    String named = new String(responseModelBytes, StandardCharsets.UTF_8);
    responseModel = named.equals(requestModel) ? requestModel : named;
  }

  // ---------------------------------------------------------------- non-streamed responses

  /** A whole non-streamed JSON response body; same as {@link #onBodyChunk(byte[], int, int)} + {@link #onBodyEnd()}. */
  public void onBody(byte[] json) {
    onBodyChunk(json, 0, json.length);
    onBodyEnd();
  }

  /** The next bytes of a non-streamed JSON body (not kept: parsed before this returns). */
  public void onBodyChunk(byte[] bytes, int offset, int length) {
    feed(ByteBuffer.wrap(bytes, offset, length));
  }

  /**
   * The next bytes of a non-streamed JSON body, read in place (no copy); the buffer's indexes and
   * reference count are not changed and it is not kept after this returns.
   */
  public void onBodyChunk(ByteBuf chunk) {
    if (!chunk.isReadable() || api == Api.PASSTHROUGH) {
      return;
    }
    if (chunk.nioBufferCount() == 1) {
      feed(chunk.nioBuffer());
    } else {
      for (ByteBuffer part : chunk.nioBuffers()) {
        feed(part);
      }
    }
  }

  /** The body ended; usage is read from it if it was complete JSON. */
  public void onBodyEnd() {
    if (api == Api.PASSTHROUGH) {
      return;
    }
    if (body().end()) {
      commit(bodyTable());
    }
  }

  private void feed(ByteBuffer bytes) {
    if (api != Api.PASSTHROUGH && bytes.hasRemaining()) {
      body().feed(bytes);
    }
  }

  private JsonBody body() {
    if (body == null) {
      body = new JsonBody(scan(), bodyTable());
    }
    return body;
  }

  private UsageShape bodyTable() {
    return switch (api) {
      case OPENAI_CHAT -> UsageShape.CHAT;
      case OPENAI_RESPONSES -> UsageShape.RESPONSES_BODY;
      case ANTHROPIC_MESSAGES -> UsageShape.ANTHROPIC_BODY;
      case PASSTHROUGH, MODELS -> throw new IllegalStateException();
    };
  }

  // ---------------------------------------------------------------- result

  /**
   * True once a stream reached its end as far as usage goes: the usage-only chunk or
   * {@code data: [DONE]} (OpenAI chat), {@code message_delta} / {@code message_stop} (Anthropic),
   * {@code response.completed} / {@code .incomplete} / {@code .failed} (Responses). The relay holds
   * what follows until the final usage is settled.
   */
  public boolean endReached() {
    return endReached;
  }

  public String model() {
    return responseModel != null ? responseModel : requestModel;
  }

  /** True when the upstream reported usage (rather than it being estimated). */
  public boolean usageReported() {
    return currentInput() >= 0 && outputReported >= 0;
  }

  /**
   * Whether {@link #usage()} can be taken now without waiting for the tokenizer's vocabulary: the
   * upstream reported both figures, or the vocabulary is there. When not, its load starts in the
   * background ({@link TokenEstimator}); a caller on the event loop then goes on with
   * {@link #whenUsageReady}.
   */
  public boolean usageReady() {
    return api == Api.PASSTHROUGH || (currentInput() >= 0 && outputReported >= 0) || TokenEstimator.ready();
  }

  /**
   * Runs {@code task} once {@link #usage()} can be taken: now, or on {@code loop} once the
   * vocabulary has loaded. The prompt's text is read out of the request's body first, which may
   * be freed meanwhile.
   */
  public void whenUsageReady(Executor loop, Runnable task) {
    if (usageReady()) {
      task.run();
      return;
    }
    if (promptEstimate instanceof PromptEstimate prompt) {
      prompt.settle();
    }
    TokenEstimator.whenReady(loop, task);
  }

  /**
   * The usage so far (call when the exchange ends; cheap to call again). Null for
   * {@link Api#PASSTHROUGH}. Reported figures are exact; missing ones are estimated and then
   * {@link Usage#estimated()} is true.
   */
  public Usage usage() {
    if (api == Api.PASSTHROUGH) {
      return null;
    }
    long in = currentInput();
    boolean estimated = in < 0 || outputReported < 0;
    long inTokens = in >= 0 ? in : Math.max(0, promptEstimate.getAsLong());
    long outTokens = outputReported >= 0 ? outputReported
        : output.tokens() + TokenEstimator.bytesRule(body == null ? 0 : body.overflowBytes());
    String model = responseModel != null ? responseModel : requestModel;
    return new Usage(inTokens, outTokens, Math.min(cached, inTokens), Math.min(reasoning, outTokens), model, estimated);
  }

  private long currentInput() {
    if (api == Api.ANTHROPIC_MESSAGES) {
      return anthropicInput < 0 ? -1 : anthropicInput + cacheRead + cacheCreation;
    }
    return input;
  }

  /**
   * A usage object's figures (OpenAI chat or Responses; -1 for a figure it lacks): when it reports
   * input or output, it replaces the earlier report.
   */
  void reported(long in, long out, long cached, long reasoning) {
    if (in >= 0 || out >= 0) {
      input = in;
      outputReported = out;
      this.cached = Math.max(0, cached);
      this.reasoning = Math.max(0, reasoning);
    }
  }

  /** The figures of the event or body {@link #scan} just parsed with {@code table}: the latest replace earlier ones. */
  void commit(UsageShape table) {
    UsageScan s = scan;
    if (s.model != null && !s.model.isEmpty()) {
      if (!s.model.equals(responseModel)) {
        responseModel = s.model;
        responseModelBytes = null; // compared with the string (model) until a non-ASCII name is read from bytes
      }
    }
    switch (table) {
      case CHAT, RESPONSES_EVENT, RESPONSES_BODY -> {
        if (s.usageObject) {
          reported(s.in, s.out, s.cached, s.reasoning);
        }
      }
      case ANTHROPIC_START, ANTHROPIC_DELTA_USAGE, ANTHROPIC_BODY -> {
        if (s.in >= 0) {
          anthropicInput = s.in;
        }
        if (s.cacheRead >= 0) {
          cacheRead = s.cacheRead;
          cached = s.cacheRead;
        }
        if (s.cacheCreation >= 0) {
          cacheCreation = s.cacheCreation;
        }
        // message_start's output_tokens is a placeholder (1); output counts from message_delta
        if (table != UsageShape.ANTHROPIC_START && s.out >= 0) {
          outputReported = s.out;
        }
      }
      default -> { }
    }
  }

}
