package io.sluice.usage;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
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
 * <p><b>Cost.</b> Each streamed event is classified by the stream's {@link EventClassifier} (from
 * its bytes: the stream's {@link EventTemplate}, else {@link SseFields} and the API's
 * {@link EventReader}), which hands this tracker the event's text and figures; only what its fast
 * path does not recognise is parsed ({@link UsageScan}). Text for estimation is kept as the deltas'
 * escaped bytes and decoded and tokenized in 8 KiB pieces ({@link GeneratedText}), or never when
 * usage arrives first. A non-streamed body is parsed incrementally with Jackson's non-blocking
 * parser as it passes ({@link JsonBody}), up to {@value #MAX_BODY_BYTES} bytes; past that, parsing
 * stops and the rest of the body counts 1 token per 4 bytes. Malformed JSON never throws: the event
 * is passed on and usage stays unknown.
 *
 * <p><b>What it keeps.</b> The figures the upstream reported (each replaces an earlier one), the
 * response's model, the generated text, and the request's model and prompt estimate to fall back
 * on; {@link #usage()} settles them into a {@link Usage}. The generated text is kept for the
 * stream's whole life; a tracker told {@link #offHeap} keeps it in a pooled direct buffer (no copy
 * by each young collection) and must be {@link #release released} when the exchange ends.
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
  private final String requestModel;
  private final LongSupplier promptEstimate; // counted only when the upstream reports no input tokens
  private final GeneratedText output = new GeneratedText();
  // A streamed response's events (made with the tracker when the response streams, else at its
  // first event; null for passthrough).
  private EventClassifier events;

  private String responseModel;
  private byte[] responseModelBytes; // its UTF-8 when read from bytes and not the request's (else null: compared as ASCII)
  // The reported figures (-1: none yet). Anthropic reports its input in three parts: input holds
  // input_tokens, cached the cache reads, cacheCreation the cache writes (currentInput adds them up).
  private long input = -1;
  private long outputReported = -1;
  private long cached;
  private long reasoning;
  private long cacheCreation;

  // Made for the first event the fast path leaves to the parser (or a non-streamed body): a chat
  // stream read from its bytes needs it only for its usage chunk, so a held stream keeps none.
  private UsageScan scan;
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
    this.requestModel = requestModel;
    this.promptEstimate = promptEstimate;
    if (streamed && api != Api.PASSTHROUGH) {
      events = new EventClassifier(this, api, dropUsageChunk && api == Api.OPENAI_CHAT);
    }
  }

  /**
   * Keeps the generated text (for the output estimate) in pooled direct memory from {@code alloc}
   * rather than on the heap: the caller then calls {@link #release} when the exchange ends, on
   * every path. Before the first event.
   */
  public UsageTracker offHeap(ByteBufAllocator alloc) {
    output.offHeap(alloc);
    return this;
  }

  /**
   * The exchange has ended and its usage was taken: the text kept for the estimate is freed, and
   * text that still comes (events already read when the client left) is not kept. {@link #usage()}
   * still answers, from what was counted. Idempotent; for every tracker, on its event loop.
   */
  public void release() {
    output.release();
  }

  /** For tests: every event goes to the parser, as a reference for what the bytes fast path reads. */
  UsageTracker parseEveryEvent() {
    events().parseEveryEvent();
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
   * <p>The relay's per-event call: the event is read from its bytes ({@link EventClassifier}); only
   * the events that carry usage or that the fast path does not recognise are parsed, with Jackson's
   * byte parser over the event's data.
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
   * {@code buffer} (the framer's buffer, read in place).
   */
  public Verdict onEvent(ByteBuf buffer, int index, int length) {
    return api == Api.PASSTHROUGH ? Verdict.PASS : events().onEvent(buffer, index, length);
  }

  /**
   * The same as {@link #onEvent(ByteBuf, int, int)} for the event block {@code bytes[offset, offset
   * + length)}: the framer's array the event was scanned in ({@link io.sluice.sse.SseFramer.Sink}).
   */
  public Verdict onEvent(byte[] bytes, int offset, int length) {
    return api == Api.PASSTHROUGH ? Verdict.PASS : events().onEvent(bytes, offset, length);
  }

  /**
   * One event already parsed into its fields; the same as {@link #onEvent(ByteBuf)} on the block
   * {@code event:} + {@code data:} lines would be. For callers that hold the fields, not the bytes.
   */
  public Verdict onEvent(SseEvent event) {
    return event.data() == null || api == Api.PASSTHROUGH ? Verdict.PASS : events().onEvent(event);
  }

  /** The stream's classifier; made here when the tracker was not told that the response streams. */
  EventClassifier events() {
    EventClassifier e = events;
    if (e == null) {
      e = events = new EventClassifier(this, api, false); // the drop flag applies only to a known stream
    }
    return e;
  }

  // ---------------------------------------------------------------- what an event or body carries

  /** The scanner the parsed events and bodies are read with ({@link #commit} takes its figures). */
  UsageScan scan() {
    if (scan == null) {
      scan = new UsageScan(output);
    }
    return scan;
  }

  /** Whether the response named its model already. */
  boolean hasResponseModel() {
    return responseModel != null;
  }

  /** Text for the estimate: the escaped string bodies {@code b[pieces[offset + 2k], pieces[offset + 2k + 1])}. */
  void appendPieces(byte[] b, int[] pieces, int offset, int count) {
    for (int k = 0; k < count; k++) {
      output.appendEscaped(b, pieces[offset + 2 * k], pieces[offset + 2 * k + 1]);
    }
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
    if (length > 0 && api != Api.PASSTHROUGH) {
      body().feed(ByteBuffer.wrap(bytes, offset, length));
    }
  }

  /**
   * The next bytes of a non-streamed JSON body, read in place (no copy); the buffer's indexes and
   * reference count are not changed and it is not kept after this returns.
   */
  public void onBodyChunk(ByteBuf chunk) {
    if (chunk.isReadable() && api != Api.PASSTHROUGH) {
      body().feed(chunk);
    }
  }

  /** The body ended; usage is read from it if it was complete JSON. */
  public void onBodyEnd() {
    if (api != Api.PASSTHROUGH && body().end()) {
      commit(body.shape());
    }
  }

  private JsonBody body() {
    if (body == null) {
      body = new JsonBody(scan(), api);
    }
    return body;
  }

  // ---------------------------------------------------------------- result

  /**
   * True once a stream reached its end as far as usage goes: the usage-only chunk or
   * {@code data: [DONE]} (OpenAI chat), {@code message_delta} / {@code message_stop} (Anthropic),
   * {@code response.completed} / {@code .incomplete} / {@code .failed} (Responses). The relay holds
   * what follows until the final usage is settled.
   */
  public boolean endReached() {
    return events != null && events.endReached();
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
      return input < 0 ? -1 : input + cached + cacheCreation;
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
          input = s.in;
        }
        if (s.cacheRead >= 0) {
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
