package io.sluice.usage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The generated text of a response, for the output estimate when the upstream reports no usage,
 * kept as cheaply as it arrives: the stream's text deltas as their JSON string bodies, still
 * escaped, appended byte for byte ({@link #appendEscaped}), and decoded only every
 * {@value TextTokenCounter#FLUSH_AT} bytes into the {@link TextTokenCounter} — or never, for a
 * stream that ends with usage before that. The token count is the counter's: the same text in the
 * same order, so the same estimate as decoding every delta on its own.
 *
 * <p>Why string bodies can be concatenated: an escape never spans two strings, so the bodies of
 * several JSON strings laid end to end are one valid body, which one decode turns into their text.
 *
 * <p>Threading: not thread-safe; one per tracker.
 */
final class GeneratedText {
  private static final JsonFactory JSON = new JsonFactory();

  /** Made at the first decode: a stream whose usage arrives before 8 KiB of text never needs it. */
  private TextTokenCounter counter;
  /** {@code "} then escaped string bodies; allocated with the first piece. */
  private byte[] escaped;
  private int length;
  private boolean hasEscapes;

  /** A JSON string body {@code b[from, to)} as it appeared in the event (escapes not decoded). */
  void appendEscaped(byte[] b, int from, int to) {
    int n = to - from;
    if (n <= 0) {
      return;
    }
    if (escaped == null) {
      // Small at first: a held stream that has had a token or two keeps this array, and a long
      // stream doubles it a few times (64, 128, 256 ...) for a few hundred bytes copied once.
      escaped = new byte[Math.max(64, n + 2)];
      escaped[0] = '"';
      length = 1;
    } else if (escaped.length < length + n + 1) {
      escaped = Arrays.copyOf(escaped, Math.max(length + n + 1, escaped.length * 2));
    }
    System.arraycopy(b, from, escaped, length, n);
    length += n;
    hasEscapes |= JsonBytes.hasEscape(b, from, to);
    if (length > TextTokenCounter.FLUSH_AT) {
      decode();
    }
  }

  /** Text already decoded (by the parser), after what came before it. */
  void append(String text) {
    if (text == null || text.isEmpty()) {
      return;
    }
    decode();
    counter().append(text);
  }

  long tokens() {
    decode();
    return counter == null ? 0 : counter.tokens();
  }

  private TextTokenCounter counter() {
    if (counter == null) {
      counter = new TextTokenCounter();
    }
    return counter;
  }

  /** Moves the escaped bytes held into the counter as text. */
  private void decode() {
    if (escaped == null || length <= 1) {
      return;
    }
    String text;
    if (!hasEscapes) {
      text = new String(escaped, 1, length - 1, StandardCharsets.UTF_8);
    } else {
      escaped[length] = '"'; // room kept by appendEscaped
      text = unescape(escaped, length + 1);
    }
    length = 1;
    hasEscapes = false;
    if (escaped.length > 4 * TextTokenCounter.FLUSH_AT) {
      escaped = null; // one huge delta grew it: not kept for the rest of the stream
    }
    counter().append(text);
  }

  private static String unescape(byte[] quoted, int n) {
    try (JsonParser p = JSON.createParser(quoted, 0, n)) {
      if (p.nextToken() == JsonToken.VALUE_STRING) {
        return p.getText();
      }
    } catch (IOException | RuntimeException e) {
      // cannot happen for bodies JsonBytes stepped over; counted as the bytes are
    }
    return new String(quoted, 1, n - 2, StandardCharsets.UTF_8);
  }
}
