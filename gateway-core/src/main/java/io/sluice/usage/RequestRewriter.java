package io.sluice.usage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
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
 * <p>Where it sits: {@code UpstreamRequests} inspects every request of a route with an api before
 * it goes upstream; the body's top level is read by a {@link RequestScan}, the rewrite spliced
 * here; the prompt estimate ({@link PromptEstimate}) reads the body later, only if asked.
 *
 * <p>Cost: one streaming parse of the body's top level (capped by {@code max-request-body}).
 * Stateless and thread-safe.
 */
public final class RequestRewriter {
  private static final JsonFactory JSON = new JsonFactory();
  private static final ObjectMapper MAPPER = new ObjectMapper(JSON);
  private static final byte[] ADD_STREAM_OPTIONS =
      ",\"stream_options\":{\"include_usage\":true}".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] INCLUDE_USAGE_OBJECT =
      "{\"include_usage\":true}".getBytes(StandardCharsets.US_ASCII);

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
   * {@link RequestInfo#rewrittenBuffer info.rewrittenBuffer(alloc)} instead of the buffer (kept
   * off the heap: the estimate may read it at the exchange's end). The prompt estimate
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
    RequestScan scan = new RequestScan();
    try (JsonParser p = JSON.createParser((InputStream) new ByteBufInputStream(body.duplicate()))) {
      scan.runTopLevel(p);
    } catch (IOException | RuntimeException e) {
      return scan.info(false, null, null);
    }
    byte[] rewritten = needsRewrite(api, scan) ? splice(ByteBufUtil.getBytes(body), 0, length, scan) : null;
    return scan.info(true, rewritten, new PromptEstimate(api, source));
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
    RequestScan scan = new RequestScan();
    try (JsonParser p = JSON.createParser(body, from, length)) {
      if (walk) {
        scan.walk(p);
      } else {
        scan.runTopLevel(p);
      }
    } catch (IOException | RuntimeException e) {
      return scan.info(false, null, null);
    }
    byte[] rewritten = needsRewrite(api, scan) ? splice(body, from, length, scan) : null;
    return scan.info(true, rewritten, new PromptEstimate(api, source));
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

  private static boolean needsRewrite(Api api, RequestScan scan) {
    return api == Api.OPENAI_CHAT && scan.stream && !scan.includeUsage && scan.rootEnd >= 0
        && scan.optionsKind != RequestScan.OptionsKind.OTHER;
  }

  /** The body {@code body[from, from + length)} with include_usage asked for; the scan's offsets are from {@code from}. */
  private static byte[] splice(byte[] body, int from, int length, RequestScan scan) {
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
}
