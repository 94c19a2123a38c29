package io.sluice.usage;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.UTF8StreamJsonParser;
import io.sluice.config.RouteConfig.Api;
import java.io.IOException;

/**
 * What one request body's top level says for token accounting, read by {@link RequestRewriter#inspect}:
 * {@code stream}, {@code model}, the output caps, {@code stream_options.include_usage}, and where
 * {@code stream_options} and the root object lie in the bytes (the include_usage splice cuts there).
 *
 * <p>Where it sits: {@code UpstreamRequests} → {@link RequestRewriter#inspect} → {@link #runTopLevel}
 * over the body → {@link #info} → {@link RequestInfo}; the rewriter splices the body at the
 * positions found here. The prompt's text is not read here: {@link PromptEstimate} walks the body
 * for it, later and only when it is asked for.
 *
 * <p>Two readings with the same answers: {@link #runTopLevel}, which skips every root value that is
 * a container (the gateway's), and {@link #walk}, the general walk of every value with its path
 * (the reference {@code RequestRewriterTest} compares it with, on bodies of every shape).
 *
 * <p>Threading: one per {@code inspect} call, on its thread; not kept after it.
 */
final class RequestScan implements JsonWalker.Visitor {
  /** What {@code stream_options} is: it decides how the include_usage rewrite splices it. */
  enum OptionsKind { ABSENT, NULL, OBJECT, OTHER }

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
  private JsonParser parser;
  private boolean rootIsObject;

  /**
   * Reads the body from the top level only: every field the result needs is a root field or
   * {@code stream_options.include_usage}, so the root's other values are skipped by the parser (no
   * path per value, no string decoded) — the general walk built and compared a path for every
   * value of every message. The same answers as {@link #walk} for every body, malformed ones
   * included (RequestRewriterTest).
   *
   * @throws IOException when the body is not one complete JSON value
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

  /**
   * Reads the body with the general walk of every value ({@link JsonWalker}): the reference the
   * top-level scan must always agree with.
   *
   * @throws IOException when the body is not one complete JSON value
   */
  void walk(JsonParser p) throws IOException {
    parser = p;
    if (!JsonWalker.walk(p, this)) {
      throw new IOException("truncated JSON");
    }
  }

  /**
   * The result: for a body that parsed, what it says, with the body to send instead ({@code
   * rewritten}, or null) and its prompt estimate; for one that did not, nothing but that.
   */
  RequestInfo info(boolean parsed, byte[] rewritten, PromptEstimate prompt) {
    if (!parsed) {
      return new RequestInfo(false, null, -1, false, false, new PromptEstimate(Api.PASSTHROUGH, () -> null), null);
    }
    long cap = maxCompletionTokens >= 0 ? maxCompletionTokens
        : maxOutputTokens >= 0 ? maxOutputTokens : maxTokens;
    return new RequestInfo(stream, model, cap, includeUsage, rewritten != null, prompt, rewritten);
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
    }
    return true; // every value is visited; only the paths of value() are read
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
      default -> { }
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
}
