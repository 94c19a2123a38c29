package io.sluice.usage;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Estimates token counts of text when an upstream reports none, and the prompt size used for
 * rate-limit reservations.
 *
 * <p>Uses OpenAI's {@code cl100k_base} byte-pair encoding (jtokkit). Special-token strings such as
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
    static final Encoding ENCODING = load();

    private static Encoding load() {
      try {
        return Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
      } catch (RuntimeException | LinkageError e) {
        LOG.warn("cl100k_base tokenizer unavailable; estimating 1 token per {} bytes", BYTES_PER_TOKEN, e);
        return null;
      }
    }
  }

  /** Loads the vocabulary now (about 100 ms), e.g. at start-up rather than on the first request. */
  public static boolean warmUp() {
    return Holder.ENCODING != null;
  }

  /** Tokens of {@code text} (0 for null or empty). */
  public static long count(String text) {
    if (text == null || text.isEmpty()) {
      return 0;
    }
    Encoding encoding = Holder.ENCODING;
    if (encoding != null) {
      try {
        return encoding.countTokensOrdinary(text);
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
