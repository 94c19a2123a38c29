package io.sluice.usage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.UTF8StreamJsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.FastThreadLocal;
import io.sluice.config.RouteConfig.Api;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Reads what token accounting needs from a JSON request body and, for streamed OpenAI chat
 * completions, asks the upstream for usage (gateway-core/docs/usage.md, "The include_usage
 * rewrite").
 *
 * <p><b>The include_usage rewrite.</b> For {@code api: openai-chat} with {@code "stream": true}
 * and without {@code "stream_options":{"include_usage":true}}, the body is rewritten so that the
 * upstream ends the stream with a usage chunk ({@code "choices":[]} and {@code usage}); the result
 * then says {@link RequestInfo#dropUsageChunk()}, and {@link UsageTracker} tells the relay to drop
 * exactly that chunk, so the client sees the stream it asked for. The rewrite is a byte splice at
 * positions the JSON parser reports: every other byte of the body stays as the client sent it
 * (field order, number spelling, whitespace, escapes):
 * <ul>
 *   <li>no {@code stream_options}: {@code ,"stream_options":{"include_usage":true}} is inserted
 *       before the body's closing brace;</li>
 *   <li>{@code "stream_options":null}: the {@code null} becomes {@code {"include_usage":true}};</li>
 *   <li>a {@code stream_options} object without {@code include_usage: true}: that object alone is
 *       re-serialized with {@code include_usage} set to true (its other fields kept, in order).</li>
 * </ul>
 * Bodies that already ask, non-streamed bodies, other APIs, and bodies that are not a JSON object
 * (or whose {@code stream_options} is neither an object nor null) are never rewritten, and no copy
 * of them is made. <b>{@code api: passthrough} routes are never modified</b>: the relay must not
 * call this class for them (if it does, the body is left alone and only inspected).
 *
 * <p>Cost: one streaming parse of the body (capped by {@code max-request-body}); prompt text is
 * tokenized with cl100k_base ({@link TokenEstimator}). Stateless and thread-safe.
 */
public final class RequestRewriter {
  private static final JsonFactory JSON = new JsonFactory();
  private static final ObjectMapper MAPPER = new ObjectMapper(JSON);
  private static final byte[] ADD_STREAM_OPTIONS =
      ",\"stream_options\":{\"include_usage\":true}".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] INCLUDE_USAGE_OBJECT =
      "{\"include_usage\":true}".getBytes(StandardCharsets.US_ASCII);

  /** Root fields whose text is prompt. */
  private static final Set<String> PROMPT_ROOTS =
      Set.of("messages", "input", "system", "instructions", "prompt", "tools", "functions");
  private static final String[] PROMPT_ROOT_NAMES = PROMPT_ROOTS.toArray(new String[0]);
  /** Field names whose string values are prompt text (anything else — ids, roles, URLs, base64 data — is not). */
  private static final Set<String> TEXT_FIELDS = Set.of("messages", "input", "system", "instructions",
      "prompt", "content", "text", "thinking", "arguments", "output", "description", "name", "refusal");
  static final int TOKENS_PER_MESSAGE = 4;
  static final int TOKENS_FOR_REPLY = 3;

  private RequestRewriter() {}

  /**
   * Inspects (and for a streamed openai-chat request, rewrites) a request body.
   *
   * @param api the route's api
   * @param body the client's request body as received; never modified
   * @return never null; for a body that is not JSON, {@code stream=false}, nothing rewritten
   */
  public static RequestInfo inspect(Api api, byte[] body) {
    return inspect(api, body, 0, body.length, () -> Unpooled.wrappedBuffer(body));
  }

  /**
   * As {@link #inspect(Api, byte[])} for a body held in a buffer; reads it without copying (the
   * buffer's indexes and reference count are untouched). When {@link RequestInfo#rewritten()}, send
   * {@code Unpooled.wrappedBuffer(info.rewrittenBody())} instead of the buffer. The prompt estimate
   * reads the buffer when it is first asked for ({@link PromptEstimate}): point it at wherever the
   * body lives by then ({@link PromptEstimate#readFrom}), or ask while this buffer is alive.
   */
  public static RequestInfo inspect(Api api, ByteBuf body) {
    int length = body.readableBytes();
    Supplier<ByteBuf> source = () -> body;
    if (body.hasArray()) {
      return inspect(api, body.array(), body.arrayOffset() + body.readerIndex(), length, source);
    } else if (length <= BodyScratch.MAX) {
      // The request's body is a direct (usually composite) buffer: one copy into the thread's array
      // lets Jackson parse a byte[] — no input stream, duplicate or stream bootstrap per request —
      // and a rewrite splice from it without copying the body out again.
      byte[] scratch = BodyScratch.of(length);
      body.getBytes(body.readerIndex(), scratch, 0, length);
      return inspect(api, scratch, 0, length, source);
    }
    Scan scan = new Scan(false);
    try (JsonParser p = JSON.createParser((InputStream) new ByteBufInputStream(body.duplicate()))) {
      scan.runTopLevel(p);
    } catch (IOException | RuntimeException e) {
      return scan.result(false, null, null);
    }
    byte[] rewritten = needsRewrite(api, scan) ? splice(ByteBufUtil.getBytes(body), 0, length, scan) : null;
    return scan.result(true, rewritten, new PromptEstimate(api, source));
  }

  /** Inspects {@code body[from, from + length)}; the prompt estimate reads {@code source} when asked. */
  private static RequestInfo inspect(Api api, byte[] body, int from, int length, Supplier<ByteBuf> source) {
    return inspect(api, body, from, length, source, false);
  }

  /**
   * As {@link #inspect(Api, byte[])}, reading the body with the general walk of every value rather
   * than the top-level scan (what the scan must always agree with; tests compare the two).
   */
  static RequestInfo inspectByWalk(Api api, byte[] body) {
    return inspect(api, body, 0, body.length, () -> Unpooled.wrappedBuffer(body), true);
  }

  private static RequestInfo inspect(Api api, byte[] body, int from, int length, Supplier<ByteBuf> source,
      boolean walk) {
    Scan scan = new Scan(false);
    try (JsonParser p = JSON.createParser(body, from, length)) {
      if (walk) {
        scan.run(p);
      } else {
        scan.runTopLevel(p);
      }
    } catch (IOException | RuntimeException e) {
      return scan.result(false, null, null);
    }
    byte[] rewritten = needsRewrite(api, scan) ? splice(body, from, length, scan) : null;
    return scan.result(true, rewritten, new PromptEstimate(api, source));
  }

  /**
   * The thread's copy of a request body being inspected (up to {@link #MAX} bytes; larger bodies
   * are streamed to the parser). Used only within one {@code inspect} call.
   */
  private static final class BodyScratch {
    static final int MAX = 64 * 1024;
    private static final FastThreadLocal<byte[][]> ARRAY = new FastThreadLocal<>() {
      @Override
      protected byte[][] initialValue() {
        return new byte[1][];
      }
    };

    static byte[] of(int length) {
      byte[][] holder = ARRAY.get();
      byte[] a = holder[0];
      if (a == null || a.length < length) {
        a = holder[0] = new byte[Math.max(length, 4096)];
      }
      return a;
    }
  }

  /**
   * The prompt's size in tokens: the text of messages / input / system / instructions / tools
   * (cl100k_base), plus 4 per message and 3 for the reply; 0 for a body that is not JSON. Reads
   * the buffer without moving its indexes.
   */
  static long promptTokens(Api api, ByteBuf body) {
    return promptText(api, body).getAsLong();
  }

  /**
   * The prompt read from the body now and counted when asked ({@link #promptTokens}): the text is
   * kept meanwhile (bounded, {@link TextTokenCounter}), the buffer is not.
   */
  static LongSupplier promptText(Api api, ByteBuf body) {
    Scan scan = new Scan(true);
    try (JsonParser p = JSON.createParser((InputStream) new ByteBufInputStream(body.duplicate()))) {
      scan.run(p);
    } catch (IOException | RuntimeException e) {
      return () -> 0;
    }
    scan.parser = null;
    return scan::promptTokens;
  }

  /**
   * The body with its top-level {@code "model"} string replaced by {@code model} (an alias's
   * target), as a byte splice like the include_usage rewrite: every other byte as the client sent
   * it. Returns null when the body has no top-level string {@code model} (or is not JSON).
   */
  public static byte[] withModel(ByteBuf body, String model) {
    byte[] bytes = ByteBufUtil.getBytes(body);
    try (JsonParser p = JSON.createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
        boolean isModel = p.currentName().equals("model");
        JsonToken value = p.nextToken();
        if (isModel && value == JsonToken.VALUE_STRING) {
          int start = (int) p.currentTokenLocation().getByteOffset();
          p.getText(); // the token is read to its end: the current location is after its closing quote
          int end = (int) p.currentLocation().getByteOffset();
          return replace(bytes, start, end, MAPPER.writeValueAsBytes(model));
        }
        p.skipChildren();
      }
      return null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static boolean needsRewrite(Api api, Scan scan) {
    return api == Api.OPENAI_CHAT && scan.stream && !scan.includeUsage && scan.rootEnd >= 0
        && scan.optionsKind != OptionsKind.OTHER;
  }

  /** The body {@code body[from, from + length)} with include_usage asked for; the scan's offsets are from {@code from}. */
  private static byte[] splice(byte[] body, int from, int length, Scan scan) {
    try {
      return switch (scan.optionsKind) {
        case ABSENT -> replace(body, from, length, (int) scan.rootEnd, (int) scan.rootEnd, ADD_STREAM_OPTIONS);
        case NULL -> replace(body, from, length, (int) scan.optionsStart, (int) scan.optionsStart + 4, INCLUDE_USAGE_OBJECT);
        case OBJECT -> {
          int start = (int) scan.optionsStart;
          int end = (int) scan.optionsEnd + 1;
          ObjectNode options = (ObjectNode) MAPPER.readTree(body, from + start, end - start);
          options.put("include_usage", true);
          yield replace(body, from, length, start, end, MAPPER.writeValueAsBytes(options));
        }
        case OTHER -> null;
      };
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static byte[] replace(byte[] body, int start, int to, byte[] insert) {
    return replace(body, 0, body.length, start, to, insert);
  }

  /** {@code body[base, base + length)} with its bytes {@code [from, to)} (from {@code base}) replaced by {@code insert}. */
  private static byte[] replace(byte[] body, int base, int length, int from, int to, byte[] insert) {
    byte[] out = new byte[length - (to - from) + insert.length];
    System.arraycopy(body, base, out, 0, from);
    System.arraycopy(insert, 0, out, from, insert.length);
    System.arraycopy(body, base + to, out, from + insert.length, length - to);
    return out;
  }

  private enum OptionsKind { ABSENT, NULL, OBJECT, OTHER }

  private static final class Scan implements JsonWalker.Visitor {
    boolean stream;
    String model;
    long maxTokens = -1;
    long maxCompletionTokens = -1;
    long maxOutputTokens = -1;
    boolean includeUsage;
    OptionsKind optionsKind = OptionsKind.ABSENT;
    long optionsStart = -1;
    long optionsEnd = -1;
    long rootEnd = -1;
    int messages;
    final TextTokenCounter text;
    private JsonParser parser;
    private boolean rootIsObject;

    /** @param countPrompt collect the prompt's text to count its tokens (a second pass, when asked) */
    Scan(boolean countPrompt) {
      text = countPrompt ? new TextTokenCounter() : null;
    }

    void run(JsonParser p) throws IOException {
      parser = p;
      if (!JsonWalker.walk(p, this)) {
        throw new IOException("truncated JSON");
      }
    }

    /**
     * What {@link #run} reads when no prompt text is collected, read from the top level only:
     * every field the result needs is a root field or {@code stream_options.include_usage}, so
     * the root's other values are skipped by the parser (no path per value, no string decoded) —
     * the general walk built and compared a path for every value of every message. The same
     * answers as {@link #run} for every body, malformed ones included (RequestRewriterTest).
     */
    void runTopLevel(JsonParser p) throws IOException {
      parser = p;
      JsonToken t = p.nextToken();
      if (t == null) {
        throw new IOException("truncated JSON");
      }
      if (t == JsonToken.START_OBJECT) {
        rootIsObject = true;
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          t = p.nextToken();
          if (t == null) {
            throw new IOException("truncated JSON");
          }
          if (!t.isStructStart()) {
            value(name, t, p); // at the root a field's path is its name
          } else if (name.equals("stream_options") && t == JsonToken.START_OBJECT) {
            streamOptions(p);
          } else {
            if (name.equals("stream_options")) {
              optionsKind = OptionsKind.OTHER; // an array
            }
            p.skipChildren();
          }
        }
        if (t != JsonToken.END_OBJECT) {
          throw new IOException("truncated JSON");
        }
        rootEnd = tokenStart();
      } else if (t.isStructStart()) {
        p.skipChildren(); // an array: nothing is read from it
      }
      if (p.nextToken() != null) {
        throw new IOException("trailing content after the JSON value");
      }
    }

    /** A {@code stream_options} object: its own {@code include_usage}, nothing nested. */
    private void streamOptions(JsonParser p) throws IOException {
      optionsKind = OptionsKind.OBJECT;
      optionsStart = tokenStart();
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        boolean includeUsageField = p.currentName().equals("include_usage");
        t = p.nextToken();
        if (t == null) {
          throw new IOException("truncated JSON");
        }
        if (t.isStructStart()) {
          p.skipChildren();
        } else if (includeUsageField) {
          includeUsage = t == JsonToken.VALUE_TRUE;
        }
      }
      if (t != JsonToken.END_OBJECT) {
        throw new IOException("truncated JSON");
      }
      optionsEnd = tokenStart();
    }

    RequestInfo result(boolean parsed, byte[] rewritten, PromptEstimate prompt) {
      if (!parsed) {
        return new RequestInfo(false, null, -1, false, false, new PromptEstimate(Api.PASSTHROUGH, () -> null), null);
      }
      long cap = maxCompletionTokens >= 0 ? maxCompletionTokens
          : maxOutputTokens >= 0 ? maxOutputTokens : maxTokens;
      return new RequestInfo(stream, model, cap, includeUsage, rewritten != null, prompt, rewritten);
    }

    long promptTokens() {
      return text.tokens() + (long) messages * TOKENS_PER_MESSAGE + (messages > 0 ? TOKENS_FOR_REPLY : 0);
    }

    @Override
    public boolean enter(String path, boolean array) {
      if (path.isEmpty()) {
        rootIsObject = !array;
        return !array;
      }
      if (path.equals("stream_options")) {
        if (array) {
          optionsKind = OptionsKind.OTHER;
          return false;
        }
        optionsKind = OptionsKind.OBJECT;
        optionsStart = tokenStart();
        return true;
      }
      if (path.equals("messages[]") || path.equals("input[]") && !array) {
        messages++;
      }
      return path.startsWith("stream_options.") ? false : isPromptPath(path);
    }

    @Override
    public void exit(String path, boolean array) {
      if (path.isEmpty() && rootIsObject) {
        rootEnd = tokenStart();
      } else if (path.equals("stream_options")) {
        optionsEnd = tokenStart();
      }
    }

    @Override
    public void value(String path, JsonToken t, JsonParser p) throws IOException {
      switch (path) {
        case "stream" -> stream = t == JsonToken.VALUE_TRUE;
        case "model" -> model = t == JsonToken.VALUE_STRING ? p.getText() : null;
        case "max_tokens" -> maxTokens = longValue(t, p);
        case "max_completion_tokens" -> maxCompletionTokens = longValue(t, p);
        case "max_output_tokens" -> maxOutputTokens = longValue(t, p);
        case "stream_options" -> {
          optionsKind = t == JsonToken.VALUE_NULL ? OptionsKind.NULL : OptionsKind.OTHER;
          optionsStart = tokenStart();
        }
        case "stream_options.include_usage" -> includeUsage = t == JsonToken.VALUE_TRUE;
        default -> {
          if (text != null && t == JsonToken.VALUE_STRING && isPromptPath(path) && TEXT_FIELDS.contains(lastField(path))) {
            text.append(p.getText());
            text.append("\n");
          }
        }
      }
    }

    /**
     * The byte offset of the current token (never a field name here): what
     * {@code currentTokenLocation().getByteOffset()} says, without the location object it builds
     * per call (one per request, for the root's end). Jackson's byte parser records the offset
     * just past the token's first byte.
     */
    private long tokenStart() {
      return parser instanceof UTF8StreamJsonParser bytes
          ? bytes.getTokenCharacterOffset() - 1 : parser.currentTokenLocation().getByteOffset();
    }

    private static long longValue(JsonToken t, JsonParser p) throws IOException {
      return t == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER
          ? Math.max(-1, p.getLongValue()) : -1;
    }

    private static boolean isPromptPath(String path) {
      int end = 0;
      while (end < path.length() && path.charAt(end) != '.' && path.charAt(end) != '[') {
        end++;
      }
      for (String root : PROMPT_ROOT_NAMES) { // compared in place: no substring per container entered
        if (root.length() == end && path.startsWith(root)) {
          return true;
        }
      }
      return false;
    }

    private static String lastField(String path) {
      int end = path.length();
      while (end >= 2 && path.charAt(end - 1) == ']' && path.charAt(end - 2) == '[') {
        end -= 2;
      }
      int dot = path.lastIndexOf('.', end - 1);
      return path.substring(dot + 1, end);
    }
  }
}
