package io.sluice.usage;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.FastThreadLocal;
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
 * <p>Where the bytes are kept: in the stream's own buffer, made with its first settled piece. Given
 * an allocator ({@link #offHeap}), that is a pooled direct buffer: it lives as long as the stream
 * (the text may be needed at its end), so on the heap every young collection during the stream
 * would copy it (~2.3 ms per MB at the paced load, gateway-server/docs/memory.md), while a pooled
 * buffer costs the collector its small wrapper only. It is then released by {@link #release}
 * (the tracker's, at the exchange's end); text that comes after is not kept. Without an
 * allocator, a heap buffer the collector frees (a text used outside an exchange, as in tests).
 *
 * <p>Threading: not thread-safe; one per tracker, used on its thread only (the thread's stage
 * holds its latest bytes).
 */
final class GeneratedText {
  private static final JsonFactory JSON = new JsonFactory();

  /** Made at the first decode: a stream whose usage arrives before 8 KiB of text never needs it. */
  private TextTokenCounter counter;
  /** Where the stream's own buffer comes from: direct when set ({@link #offHeap}), else the heap. */
  private ByteBufAllocator alloc;
  /**
   * {@code "} then escaped string bodies (its writer index is their end); made with the first
   * settled piece, with one byte of room kept for the closing quote.
   */
  private ByteBuf escaped;
  private boolean hasEscapes;
  private boolean released; // release() ran: nothing more is kept

  /**
   * The thread's array for the text of one stream at a time. Why: a stream's text was appended to
   * an array of its own, grown by doubling from 64 bytes — at 100 tokens five arrays, the largest
   * allocation site of the gateway at burst load (~2 KB per request), and a write to the stream's
   * cold memory per event. Now the bytes go to the thread's stage; they move to the stream's own
   * array, in one piece, only when another stream's text needs the stage ({@link #settle}) or the
   * text is read ({@link #decode}). At burst load a response's events come in a read or two, so a
   * stream's text moves once, into one array of its size, when the next stream's text takes the
   * stage. Same thread only: a tracker runs on its exchange's
   * event loop.
   */
  private static final class Stage {
    byte[] bytes = new byte[1024];
    int length;
    boolean hasEscapes;
    GeneratedText owner;
  }

  private static final FastThreadLocal<Stage> STAGES = new FastThreadLocal<>() {
    @Override
    protected Stage initialValue() {
      return new Stage();
    }
  };

  /** A piece this long or longer goes straight to the text's own array: the stage stays small. */
  private static final int MAX_STAGED_PIECE = 4096;

  /** The thread's stage while it holds this text's latest bytes (then {@code stage.owner == this}), else null. */
  private Stage stage;

  /** The stream's own bytes go to a direct buffer from {@code alloc}, which {@link #release} frees. */
  void offHeap(ByteBufAllocator alloc) {
    this.alloc = alloc;
  }

  /**
   * Frees the stream's own buffer and gives up the thread's stage; what is appended after is not
   * kept (the exchange has ended: its usage was taken). Idempotent.
   */
  void release() {
    released = true;
    Stage s = stage;
    if (s != null) {
      stage = null;
      s.owner = null;
      s.length = 0;
      s.hasEscapes = false;
    }
    ByteBuf b = escaped;
    if (b != null) {
      escaped = null;
      b.release();
    }
  }

  /** A JSON string body {@code b[from, to)} as it appeared in the event (escapes not decoded). */
  void appendEscaped(byte[] b, int from, int to) {
    int n = to - from;
    if (n <= 0 || released) {
      return;
    }
    if (n >= MAX_STAGED_PIECE) {
      settle();
      appendOwn(b, from, to, JsonBytes.hasEscape(b, from, to));
    } else {
      Stage s = stage;
      if (s == null) {
        s = STAGES.get();
        if (s.owner != null) {
          s.owner.settle(); // the stage held another stream's text: it moves to that text's own array
        }
        s.owner = this;
        stage = s;
      }
      if (s.bytes.length < s.length + n) {
        s.bytes = Arrays.copyOf(s.bytes, Math.max(s.length + n, 2 * s.bytes.length));
      }
      System.arraycopy(b, from, s.bytes, s.length, n);
      s.length += n;
      s.hasEscapes |= JsonBytes.hasEscape(b, from, to);
    }
    // decoded past FLUSH_AT bytes, counting the opening quote, as when every byte went to its own array
    int held = (escaped == null ? 1 : escaped.writerIndex()) + (stage == null ? 0 : stage.length);
    if (held > TextTokenCounter.FLUSH_AT) {
      decode();
    }
  }

  /** Moves this text's bytes out of the thread's stage into its own array; the stage is free again. */
  private void settle() {
    Stage s = stage;
    if (s == null) {
      return;
    }
    stage = null;
    s.owner = null;
    if (s.length > 0 && !released) {
      appendOwn(s.bytes, 0, s.length, s.hasEscapes);
    }
    s.length = 0;
    s.hasEscapes = false;
  }

  /** Appends to the text's own buffer: {@code "} then the bodies, one byte of room kept for the closing quote. */
  private void appendOwn(byte[] b, int from, int to, boolean escapes) {
    int n = to - from;
    ByteBuf own = escaped;
    if (own == null) {
      // Sized for what comes in: a stream's text usually arrives here in one piece (see Stage).
      int size = Math.max(64, n + 2);
      own = escaped = alloc != null ? alloc.directBuffer(size) : Unpooled.buffer(size);
      own.writeByte('"');
    }
    own.ensureWritable(n + 1); // grows by doubling (pooled: within the pool, no heap object)
    own.writeBytes(b, from, n);
    hasEscapes |= escapes;
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

  /** Moves the escaped bytes held (its own and staged) into the counter as text. */
  private void decode() {
    settle();
    ByteBuf own = escaped;
    if (own == null || own.writerIndex() <= 1) {
      return;
    }
    int length = own.writerIndex();
    String text;
    if (!hasEscapes) {
      text = own.toString(1, length - 1, StandardCharsets.UTF_8);
    } else {
      own.writeByte('"'); // room kept by appendOwn
      text = unescape(ByteBufUtil.getBytes(own, 0, length + 1), length + 1);
    }
    own.writerIndex(1);
    hasEscapes = false;
    if (own.capacity() > 4 * TextTokenCounter.FLUSH_AT) {
      escaped = null; // one huge delta grew it: not kept for the rest of the stream
      own.release();
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
