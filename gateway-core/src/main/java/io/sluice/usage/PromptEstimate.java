package io.sluice.usage;

import io.netty.buffer.ByteBuf;
import io.sluice.config.RouteConfig.Api;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A request's prompt size in tokens ({@link RequestRewriter#promptTokens}), counted the first time
 * it is asked for — not on every request.
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
      text = b == null ? () -> 0 : RequestRewriter.promptText(api, b);
      body = null;
    }
  }
}
