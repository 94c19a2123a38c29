package io.sluice.usage;

import static io.sluice.usage.JsonBytes.is;
import static io.sluice.usage.JsonBytes.skipWs;
import static io.sluice.usage.JsonBytes.stringEnd;
import static io.sluice.usage.JsonBytes.valueEnd;

import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;

/**
 * The per-event fast path of usage tracking: reads what an ordinary streamed event tells — an
 * OpenAI chat chunk's content deltas and model, an Anthropic {@code content_block_delta}'s text, a
 * Responses {@code *.delta}'s text — from the event's bytes, without a parser, a string or a tree.
 * What it does not recognise (the usage chunk, a tool call, a {@code message} in a chunk, escapes
 * in the model name, anything malformed) it leaves to Jackson: {@code false} from a read means
 * "parse this one", never "this event is nothing". So the fast path can only be faster than the
 * parser, not different from it, on well-formed JSON.
 *
 * <p>The results of a read are valid until the next one: {@link #content}, the model's position,
 * and the positions of the text pieces (JSON string bodies, still escaped) for the estimate.
 *
 * <p>Threading: not thread-safe; one per thread ({@link #forThread}), its results read right after
 * each read.
 */
final class ChunkReader {
  private static final byte[] USAGE = ascii("usage");
  private static final byte[] MODEL = ascii("model");
  private static final byte[] CHOICES = ascii("choices");
  private static final byte[] DELTA = ascii("delta");
  private static final byte[] MESSAGE = ascii("message");
  private static final byte[] CONTENT = ascii("content");
  private static final byte[] REASONING_CONTENT = ascii("reasoning_content");
  private static final byte[] REASONING = ascii("reasoning");
  private static final byte[] REFUSAL = ascii("refusal");
  private static final byte[] TOOL_CALLS = ascii("tool_calls");
  private static final byte[] FUNCTION_CALL = ascii("function_call");
  private static final byte[] TEXT = ascii("text");
  private static final byte[] THINKING = ascii("thinking");
  private static final byte[] PARTIAL_JSON = ascii("partial_json");
  private static final byte[] PROMPT_TOKENS = ascii("prompt_tokens");
  private static final byte[] COMPLETION_TOKENS = ascii("completion_tokens");
  private static final byte[] PROMPT_TOKENS_DETAILS = ascii("prompt_tokens_details");
  private static final byte[] COMPLETION_TOKENS_DETAILS = ascii("completion_tokens_details");
  private static final byte[] CACHED_TOKENS = ascii("cached_tokens");
  private static final byte[] REASONING_TOKENS = ascii("reasoning_tokens");

  /** What the object being walked is: which of its keys matter. */
  private static final int CHAT_CHUNK = 0;
  private static final int CHAT_CHOICE = 1;
  private static final int CHAT_DELTA = 2;
  private static final int ANTHROPIC_EVENT = 3;
  private static final int ANTHROPIC_DELTA = 4;
  private static final int RESPONSES_EVENT = 5;
  private static final int CHAT_USAGE = 6;
  private static final int CHAT_PROMPT_DETAILS = 7;
  private static final int CHAT_COMPLETION_DETAILS = 8;

  /** Which usage figure a value is. */
  private static final int IN = 0;
  private static final int OUT = 1;
  private static final int CACHED = 2;
  private static final int REASONING_FIGURE = 3;

  /** A figure longer than this many digits is left to the parser (it may not fit a long). */
  private static final int MAX_FIGURE_DIGITS = 18;

  /** Text pieces per event the fast path keeps track of; an event with more is parsed. */
  static final int MAX_PIECES = 8;

  /** True when the last chat chunk read carries generated content (a non-empty text delta). */
  boolean content;
  /** The last chunk's top-level {@code model} string body, or -1 ({@link #modelEnd} exclusive). */
  int modelStart;
  int modelEnd;
  /** The text pieces of the last read: string bodies {@code [pieces[2k], pieces[2k+1])}, in order (empty ones too). */
  final int[] pieces = new int[2 * MAX_PIECES];
  int pieceCount;

  /**
   * The last chat chunk's usage, read the way {@link UsageScan} reads {@link UsageShape#CHAT}: a
   * {@code usage} object was there, its figures (-1 when absent; a {@code null} or non-number
   * figure is ignored, as the parser ignores it), and the shape of its {@code choices}.
   */
  boolean usageObject;
  long in;
  long out;
  long cached;
  long reasoning;
  boolean choicesArray;
  int choices;

  /** The thread's reader: its results live until the thread's next read, so trackers need none of their own. */
  private static final FastThreadLocal<ChunkReader> READERS = new FastThreadLocal<>() {
    @Override
    protected ChunkReader initialValue() {
      return new ChunkReader();
    }
  };

  static ChunkReader forThread() {
    return READERS.get();
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** An OpenAI chat chunk in {@code b[from, to)}; false when it must be parsed. */
  boolean chat(byte[] b, int from, int to) {
    return read(b, from, to, CHAT_CHUNK);
  }

  /** An Anthropic {@code content_block_delta}'s text ({@code delta.text / thinking / partial_json}); false when it must be parsed. */
  boolean anthropicDelta(byte[] b, int from, int to) {
    return read(b, from, to, ANTHROPIC_EVENT);
  }

  /** A Responses {@code *.delta} event's text (top-level {@code delta}); false when it must be parsed. */
  boolean responsesDelta(byte[] b, int from, int to) {
    return read(b, from, to, RESPONSES_EVENT);
  }

  private boolean read(byte[] b, int from, int to, int kind) {
    content = false;
    modelStart = modelEnd = -1;
    pieceCount = 0;
    usageObject = choicesArray = false;
    in = out = cached = reasoning = -1;
    choices = 0;
    int i = skipWs(b, from, to);
    if (i >= to || b[i] != '{') {
      return false;
    }
    i = object(b, i, to, kind);
    if (i < 0 || skipWs(b, i, to) != to) {
      return false;
    }
    // A chunk with usage and an escape anywhere goes to the parser: a key spelled with an escape
    // sequence is that key to the parser, and the figures and choices decide what is billed and
    // dropped. Checked once per stream (the usage chunk), whose data holds no text.
    return !usageObject || !JsonBytes.hasEscape(b, from, to);
  }

  /** The object at {@code b[i] == '{'}: the index after it, or -1 (parse the event instead). */
  private int object(byte[] b, int i, int end, int kind) {
    i = skipWs(b, i + 1, end);
    if (i < end && b[i] == '}') {
      return i + 1;
    }
    while (i < end) {
      if (b[i] != '"') {
        return -1;
      }
      int keyEnd = stringEnd(b, i, end);
      if (keyEnd < 0) {
        return -1;
      }
      int v = skipWs(b, keyEnd + 1, end);
      if (v >= end || b[v] != ':') {
        return -1;
      }
      v = skipWs(b, v + 1, end);
      i = member(b, i + 1, keyEnd, v, end, kind);
      if (i < 0) {
        return -1;
      }
      i = skipWs(b, i, end);
      if (i >= end) {
        return -1;
      }
      if (b[i] == '}') {
        return i + 1;
      }
      if (b[i] != ',') {
        return -1;
      }
      i = skipWs(b, i + 1, end);
    }
    return -1;
  }

  /** One member of an object of {@code kind}: key {@code b[k, ke)}, value at {@code v}; the index after the value, or -1. */
  private int member(byte[] b, int k, int ke, int v, int end, int kind) {
    if (v >= end) {
      return -1;
    }
    switch (kind) {
      case CHAT_CHUNK -> {
        if (is(b, k, ke, USAGE)) {
          if (b[v] == '{') {
            // The usage chunk, read here rather than by a parser per stream: its figures are plain
            // integers; anything else in them (a fraction, a sign, 19+ digits) is left to Jackson.
            usageObject = true;
            return object(b, v, end, CHAT_USAGE);
          }
          return b[v] == '[' ? -1 : valueEnd(b, v, end); // null or a scalar: no usage, as parsed
        }
        if (is(b, k, ke, MODEL) && b[v] == '"') {
          int close = stringEnd(b, v, end);
          if (close < 0 || JsonBytes.hasEscape(b, v + 1, close)) {
            return -1;
          }
          modelStart = v + 1;
          modelEnd = close;
          return close + 1;
        }
        if (is(b, k, ke, CHOICES)) {
          if (b[v] == '[') {
            choicesArray = true;
            return choices(b, v, end);
          }
          choicesArray &= b[v] != '{'; // as the parser does: an object says "not an array", null says nothing
        }
      }
      case CHAT_CHOICE -> {
        if (is(b, k, ke, DELTA) && b[v] == '{') {
          return object(b, v, end, CHAT_DELTA);
        }
        if (is(b, k, ke, MESSAGE)) {
          return -1;
        }
      }
      case CHAT_DELTA -> {
        if (is(b, k, ke, CONTENT) || is(b, k, ke, REASONING_CONTENT) || is(b, k, ke, REASONING)
            || is(b, k, ke, REFUSAL)) {
          return text(b, v, end, true);
        }
        if (is(b, k, ke, TOOL_CALLS) || is(b, k, ke, FUNCTION_CALL)) {
          return -1; // names and arguments, and whether the array is empty: parsed
        }
      }
      case ANTHROPIC_EVENT -> {
        if (is(b, k, ke, DELTA) && b[v] == '{') {
          return object(b, v, end, ANTHROPIC_DELTA);
        }
      }
      case ANTHROPIC_DELTA -> {
        if (is(b, k, ke, TEXT) || is(b, k, ke, THINKING) || is(b, k, ke, PARTIAL_JSON)) {
          return text(b, v, end, false);
        }
      }
      case RESPONSES_EVENT -> {
        if (is(b, k, ke, DELTA)) {
          return text(b, v, end, false);
        }
      }
      case CHAT_USAGE -> {
        if (is(b, k, ke, PROMPT_TOKENS)) {
          return figure(b, v, end, IN);
        }
        if (is(b, k, ke, COMPLETION_TOKENS)) {
          return figure(b, v, end, OUT);
        }
        if (is(b, k, ke, PROMPT_TOKENS_DETAILS) && b[v] == '{') {
          return object(b, v, end, CHAT_PROMPT_DETAILS);
        }
        if (is(b, k, ke, COMPLETION_TOKENS_DETAILS) && b[v] == '{') {
          return object(b, v, end, CHAT_COMPLETION_DETAILS);
        }
      }
      case CHAT_PROMPT_DETAILS -> {
        if (is(b, k, ke, CACHED_TOKENS)) {
          return figure(b, v, end, CACHED);
        }
      }
      case CHAT_COMPLETION_DETAILS -> {
        if (is(b, k, ke, REASONING_TOKENS)) {
          return figure(b, v, end, REASONING_FIGURE);
        }
      }
      default -> throw new IllegalArgumentException("kind " + kind);
    }
    return valueEnd(b, v, end);
  }

  private int choices(byte[] b, int i, int end) {
    i = skipWs(b, i + 1, end);
    if (i < end && b[i] == ']') {
      return i + 1;
    }
    while (i < end) {
      if (b[i] == '{' || b[i] == '[') {
        choices++; // every container element is a choice to the parser too
      }
      i = b[i] == '{' ? object(b, i, end, CHAT_CHOICE) : valueEnd(b, i, end);
      if (i < 0) {
        return -1;
      }
      i = skipWs(b, i, end);
      if (i >= end) {
        return -1;
      }
      if (b[i] == ']') {
        return i + 1;
      }
      if (b[i] != ',') {
        return -1;
      }
      i = skipWs(b, i + 1, end);
    }
    return -1;
  }

  /**
   * A usage figure at {@code v}: a plain non-negative integer is taken (a repeated key's last one,
   * as parsed); a value that is no number is stepped over (the parser ignores it too); any other
   * number — a sign, a fraction, an exponent, a leading zero, more than
   * {@value #MAX_FIGURE_DIGITS} digits — returns -1, so the parser decides.
   */
  private int figure(byte[] b, int v, int end, int which) {
    byte c = b[v];
    if (c < '0' || c > '9') {
      return c == '-' ? -1 : valueEnd(b, v, end);
    }
    long n = 0;
    int i = v;
    while (i < end && b[i] >= '0' && b[i] <= '9') {
      n = n * 10 + (b[i] - '0');
      i++;
    }
    if (i - v > MAX_FIGURE_DIGITS || (c == '0' && i - v > 1)) {
      return -1;
    }
    if (i < end && (b[i] == '.' || b[i] == 'e' || b[i] == 'E')) {
      return -1;
    }
    switch (which) {
      case IN -> in = n;
      case OUT -> out = n;
      case CACHED -> cached = n;
      default -> reasoning = n;
    }
    return i;
  }

  /**
   * A text value: a string is a piece (an empty one too: where the next event's text may be, see
   * {@link EventTemplate}), a non-empty one content when {@code isContent}; other values are
   * stepped over.
   */
  private int text(byte[] b, int v, int end, boolean isContent) {
    if (b[v] != '"') {
      return valueEnd(b, v, end);
    }
    int close = stringEnd(b, v, end);
    if (close < 0 || pieceCount == MAX_PIECES) {
      return -1;
    }
    pieces[2 * pieceCount] = v + 1;
    pieces[2 * pieceCount + 1] = close;
    pieceCount++;
    content |= isContent && close > v + 1;
    return close + 1;
  }
}
