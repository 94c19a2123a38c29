package io.sluice.demo;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.demo.MockModelServer.Tokens;
import java.util.List;

/**
 * The SSE events of one streamed answer in one API's shape (OpenAI Chat chunks, Anthropic Messages
 * events). {@link MockConnection} decides when each is written — pacing, backpressure, the
 * response head and end — so every API the mock speaks streams alike; this says only what is
 * written. Each {@code byte[]} or buffer is one whole SSE event, blank line included.
 */
interface MockEvents {

  /** The events before the first token, each flushed on its own. */
  List<byte[]> opening();

  /** The event carrying content token {@code i} (0-based), in a buffer from {@code alloc}. */
  ByteBuf token(ByteBufAllocator alloc, int i);

  /** The events after the last token; the server flushes the last one with the response's end. */
  List<byte[]> closing();

  /**
   * A token's event is the same bytes but for its text: an SSE event built once per stream around
   * a marker string, cut there, and the reply's words JSON-quoted once. Writing a token is then three
   * copies into one buffer — unpaced streams cost the mock little CPU (it shares a core with the
   * benchmark's load client).
   */
  final class TokenTemplate {
    /** The JSON string value {@link #of} expects in the event where the token's text goes. */
    static final String MARKER = "@@sluice-token@@";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final byte[] prefix;
    private final byte[] suffix;
    private final byte[][] quotedTokens;
    private final byte[] quotedWrappedFirst;

    private TokenTemplate(byte[] prefix, byte[] suffix, byte[][] quotedTokens, byte[] quotedWrappedFirst) {
      this.prefix = prefix;
      this.suffix = suffix;
      this.quotedTokens = quotedTokens;
      this.quotedWrappedFirst = quotedWrappedFirst;
    }

    /**
     * {@code event}: a whole SSE event whose JSON holds the string {@value #MARKER} (quoted) exactly
     * once, where each token's text goes.
     */
    static TokenTemplate of(String event, Tokens tokens) {
      String quotedMarker = "\"" + MARKER + "\"";
      int at = event.indexOf(quotedMarker);
      if (at < 0 || event.indexOf(quotedMarker, at + 1) >= 0) {
        throw new IllegalArgumentException("the event must hold the marker once: " + event);
      }
      List<String> reply = tokens.reply();
      byte[][] quoted = new byte[reply.size()][];
      for (int t = 0; t < reply.size(); t++) {
        quoted[t] = quote(reply.get(t));
      }
      return new TokenTemplate(event.substring(0, at).getBytes(UTF_8),
          event.substring(at + quotedMarker.length()).getBytes(UTF_8), quoted, quote(tokens.wrappedFirst()));
    }

    /** Token {@code i}'s event: the same choice of word as {@link Tokens#get(int)}. */
    ByteBuf event(ByteBufAllocator alloc, int i) {
      int n = quotedTokens.length;
      byte[] quoted = i >= n && i % n == 0 ? quotedWrappedFirst : quotedTokens[i % n];
      ByteBuf buf = alloc.buffer(prefix.length + quoted.length + suffix.length);
      return buf.writeBytes(prefix).writeBytes(quoted).writeBytes(suffix);
    }

    private static byte[] quote(String text) {
      try {
        return JSON.writeValueAsBytes(text);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("cannot quote a string", e);
      }
    }
  }
}
