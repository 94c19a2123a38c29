package io.sluice.usage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Estimates token counts of text when an upstream reports none, and the prompt size used for
 * rate-limit reservations.
 *
 * <p>Uses OpenAI's {@code cl100k_base} byte-pair encoding ({@link Cl100kTokenizer}: jtokkit's
 * vocabulary in a compact table of our own, ~2 MB of heap). Special-token strings such as
 * {@code <|endoftext|>} are counted as ordinary text. Other providers' tokenizers differ by some
 * ten per cent either way; figures from this class are always marked estimated. Should the
 * vocabulary fail to load, the documented fallback rule is used: one token per 4 bytes of UTF-8,
 * rounded up ({@link #bytesRule}).
 *
 * <p>Thread-safe; the vocabulary is loaded once, on first use.
 */
public final class TokenEstimator {
  private static final Logger LOG = LoggerFactory.getLogger(TokenEstimator.class);

  /** Bytes of UTF-8 per token in the fallback rule. */
  public static final int BYTES_PER_TOKEN = 4;

  private TokenEstimator() {}

  private static final class Holder {
    static final Cl100kTokenizer TOKENIZER = load();

    private static Cl100kTokenizer load() {
      try {
        return Cl100kTokenizer.load();
      } catch (IOException | RuntimeException | LinkageError e) {
        LOG.warn("cl100k_base tokenizer unavailable; estimating 1 token per {} bytes", BYTES_PER_TOKEN, e);
        return null;
      }
    }
  }

  /** Loads the vocabulary now (tens of ms), e.g. at start-up rather than on the first request. */
  public static boolean warmUp() {
    return Holder.TOKENIZER != null;
  }

  /** Tokens of {@code text} (0 for null or empty). */
  public static long count(String text) {
    if (text == null || text.isEmpty()) {
      return 0;
    }
    Cl100kTokenizer tokenizer = Holder.TOKENIZER;
    if (tokenizer != null) {
      try {
        return tokenizer.count(text);
      } catch (RuntimeException e) {
        // fall through to the byte rule
      }
    }
    return bytesRule(text.getBytes(StandardCharsets.UTF_8).length);
  }

  /** The fallback rule: {@code ceil(utf8Bytes / 4)}. */
  public static long bytesRule(long utf8Bytes) {
    return utf8Bytes <= 0 ? 0 : (utf8Bytes + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN;
  }
}
