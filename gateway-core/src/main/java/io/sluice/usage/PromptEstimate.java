package io.sluice.usage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.sluice.config.RouteConfig.Api;
import java.io.IOException;
import java.io.InputStream;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A request's prompt size in tokens, counted the first time it is asked for — not on every
 * request: the text of messages / input / system / instructions / prompt / tools (cl100k_base,
 * {@link TokenEstimator}), plus 4 per message and 3 for the reply; 0 for a body that is not JSON.
 * Made by {@link RequestRewriter#inspect} ({@link RequestInfo#prompt()}); read by the tracker when
 * the upstream reports no input ({@link UsageTracker#usage()}).
 *
 * <p>Why: the estimate stands in for the input tokens only when an upstream reports none (and for
 * a stream watch before the usage chunk); nearly every upstream reports them, while tokenizing
 * the prompt cost ~4 % of the gateway's CPU under load (cl100k over every message, on every
 * request). The body is read where it lives, the request's own buffer: whoever frees that buffer
 * while the estimate may still be needed calls {@link #settle} first, which reads the prompt's
 * text out of it (counted later: the vocabulary may not be loaded yet, {@link TokenEstimator}).
 *
 * <p>Threading: the exchange's event loop. {@link #getAsLong} only once {@link TokenEstimator#ready()}.
 */
public final class PromptEstimate implements LongSupplier {
  static final int TOKENS_PER_MESSAGE = 4;
  static final int TOKENS_FOR_REPLY = 3;
  private static final JsonFactory JSON = new JsonFactory();
  /** Root fields whose text is prompt. */
  private static final String[] PROMPT_ROOTS =
      {"messages", "input", "system", "instructions", "prompt", "tools", "functions"};
  /** Field names whose string values are prompt text (anything else — ids, roles, URLs, base64 data — is not). */
  private static final Set<String> TEXT_FIELDS = Set.of("messages", "input", "system", "instructions",
      "prompt", "content", "text", "thinking", "arguments", "output", "description", "name", "refusal");

  private final Api api;
  private Supplier<ByteBuf> body; // where the body is now (null once read); may return null once freed
  private LongSupplier text; // the prompt read from the body, not counted yet
  private long tokens = -1;

  PromptEstimate(Api api, Supplier<ByteBuf> body) {
    this.api = api;
    this.body = body;
  }

  /** The API whose prompt fields are read ({@code passthrough} for a body that was not JSON). */
  Api api() {
    return api;
  }

  /** Reads the body from {@code body} from now on (the request's buffer, which a rewrite may replace). */
  public void readFrom(Supplier<ByteBuf> body) {
    if (tokens < 0 && text == null) {
      this.body = body;
    }
  }

  /** The estimate; 0 when the body was freed before anyone asked (nobody needed it). */
  @Override
  public long getAsLong() {
    if (tokens < 0) {
      read();
      tokens = text.getAsLong();
      text = null;
    }
    return tokens;
  }

  /**
   * The body is about to be freed while the estimate may still be asked for: its text is read now,
   * and counted now too when the vocabulary is there.
   */
  public void settle() {
    if (tokens < 0) {
      read();
      if (TokenEstimator.loaded()) {
        getAsLong();
      }
    }
  }

  private void read() {
    if (text == null) {
      ByteBuf b = body == null ? null : body.get();
      text = b == null ? () -> 0 : promptText(api, b);
      body = null;
    }
  }

  /** The prompt's size in tokens, read and counted now; the buffer's indexes are not moved. */
  static long promptTokens(Api api, ByteBuf body) {
    return promptText(api, body).getAsLong();
  }

  /**
   * The prompt read from the body now and counted when asked: the text is kept meanwhile (bounded,
   * {@link TextTokenCounter}), the buffer is not. One walk of every value under the prompt's root
   * fields ({@link JsonWalker}); the rest of the body is skipped by the parser.
   */
  static LongSupplier promptText(Api api, ByteBuf body) {
    PromptText prompt = new PromptText();
    try (JsonParser p = JSON.createParser((InputStream) new ByteBufInputStream(body.duplicate()))) {
      if (!JsonWalker.walk(p, prompt)) {
        return () -> 0; // truncated
      }
    } catch (IOException | RuntimeException e) {
      return () -> 0;
    }
    return prompt::tokens;
  }

  /** The prompt's text and its messages, as the walk finds them. */
  private static final class PromptText implements JsonWalker.Visitor {
    private final TextTokenCounter text = new TextTokenCounter();
    private int messages;

    long tokens() {
      return text.tokens() + (long) messages * TOKENS_PER_MESSAGE + (messages > 0 ? TOKENS_FOR_REPLY : 0);
    }

    @Override
    public boolean enter(String path, boolean array) {
      if (path.isEmpty()) {
        return !array;
      }
      if (path.equals("messages[]") || path.equals("input[]") && !array) {
        messages++;
      }
      return isPromptPath(path);
    }

    @Override
    public void value(String path, JsonToken t, JsonParser p) throws IOException {
      if (t == JsonToken.VALUE_STRING && isPromptPath(path) && TEXT_FIELDS.contains(lastField(path))) {
        text.append(p.getText());
        text.append("\n");
      }
    }

    private static boolean isPromptPath(String path) {
      int end = 0;
      while (end < path.length() && path.charAt(end) != '.' && path.charAt(end) != '[') {
        end++;
      }
      for (String root : PROMPT_ROOTS) { // compared in place: no substring per container entered
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
