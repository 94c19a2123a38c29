package io.sluice.translate;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.util.ByteProcessor;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Reads the {@code data} of one SSE event block straight from its bytes, and writes SSE events
 * whose data a Jackson generator fills in: the stream translators' byte-level I/O, so no event is
 * turned into a String on the way through.
 *
 * <p>Threading: not thread-safe; one instance per stream (it keeps a scratch array).
 */
final class SseBlocks {
  static final JsonFactory JSON = JsonFactory.builder()
      .disable(StreamWriteFeature.AUTO_CLOSE_TARGET)
      .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
      .build();

  private static final JsonStringEncoder STRINGS = JsonStringEncoder.getInstance();
  private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);

  private byte[] scratch = new byte[1024];
  private int length;

  /**
   * Collects the event's {@code data} lines (joined by LF, as EventSource does) into the scratch
   * array; returns false when the block has no data line (a comment such as {@code : ping}).
   */
  boolean readData(ByteBuf block) {
    length = 0;
    boolean any = false;
    int i = block.readerIndex();
    int end = block.writerIndex();
    while (i < end) {
      int lineEnd = block.forEachByte(i, end - i, ByteProcessor.FIND_CRLF);
      if (lineEnd < 0) {
        lineEnd = end;
      }
      if (lineEnd - i >= 5 && block.getByte(i) == 'd' && block.getByte(i + 1) == 'a'
          && block.getByte(i + 2) == 't' && block.getByte(i + 3) == 'a' && block.getByte(i + 4) == ':') {
        int from = i + 5;
        if (from < lineEnd && block.getByte(from) == ' ') {
          from++;
        }
        if (any) {
          append((byte) '\n');
        }
        any = true;
        int n = lineEnd - from;
        ensure(n);
        block.getBytes(from, scratch, length, n);
        length += n;
      }
      i = lineEnd;
      if (i < end && block.getByte(i) == '\r') {
        i++;
      }
      if (i < end && block.getByte(i) == '\n') {
        i++;
      }
    }
    return any;
  }

  /** True when the data just read is exactly {@code [DONE]} (OpenAI's end marker). */
  boolean dataIsDone() {
    return length == 6 && scratch[0] == '[' && scratch[1] == 'D' && scratch[2] == 'O' && scratch[3] == 'N'
        && scratch[4] == 'E' && scratch[5] == ']';
  }

  /** A parser over the data just read. */
  JsonParser parser() throws IOException {
    return JSON.createParser(scratch, 0, length);
  }

  private void append(byte b) {
    ensure(1);
    scratch[length++] = b;
  }

  private void ensure(int more) {
    if (length + more > scratch.length) {
      byte[] bigger = new byte[Math.max(scratch.length * 2, length + more)];
      System.arraycopy(scratch, 0, bigger, 0, length);
      scratch = bigger;
    }
  }

  /** Writes the data JSON of one event. */
  @FunctionalInterface
  interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  /**
   * One whole event: {@code event: NAME} (when {@code name} is not null), {@code data: JSON}, blank line.
   * {@code prefix} is the pre-encoded {@code event: NAME\n} line, or null.
   */
  static ByteBuf event(ByteBufAllocator alloc, byte[] prefix, Body body) {
    ByteBuf buf = alloc.buffer(256);
    try {
      if (prefix != null) {
        buf.writeBytes(prefix);
      }
      buf.writeBytes(DATA);
      try (JsonGenerator g = JSON.createGenerator((OutputStream) new ByteBufOutputStream(buf),
          JsonEncoding.UTF8)) {
        body.write(g);
      }
      buf.writeBytes(END);
      return buf;
    } catch (IOException e) {
      buf.release();
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      buf.release();
      throw e;
    }
  }

  /**
   * {@code before}, {@code value} as a JSON string (quoted and escaped by Jackson's encoder), then
   * {@code after}: the hot events (a text or argument delta) are pre-encoded templates around one
   * string, which costs a fraction of a generator per event.
   */
  static ByteBuf template(ByteBufAllocator alloc, byte[] before, String value, byte[] after) {
    ByteBuf buf = alloc.buffer(before.length + value.length() * 3 + 2 + after.length);
    buf.writeBytes(before);
    writeString(buf, value);
    buf.writeBytes(after);
    return buf;
  }

  /** The same with a number between two pre-encoded parts before the string. */
  static ByteBuf template(ByteBufAllocator alloc, byte[] before, int number, byte[] middle, String value,
      byte[] after) {
    ByteBuf buf = alloc.buffer(before.length + 11 + middle.length + value.length() * 3 + 2 + after.length);
    buf.writeBytes(before);
    ByteBufUtil.writeAscii(buf, Integer.toString(number));
    buf.writeBytes(middle);
    writeString(buf, value);
    buf.writeBytes(after);
    return buf;
  }

  /**
   * {@code s} as a JSON string literal. A token rarely holds a character JSON must escape (a
   * control character, a quote, a backslash): then Jackson's encoder does it; otherwise the UTF-8
   * bytes go straight into the buffer, without the encoder's intermediate arrays.
   */
  private static void writeString(ByteBuf buf, String s) {
    buf.writeByte('"');
    if (needsEscaping(s)) {
      buf.writeBytes(STRINGS.quoteAsUTF8(s));
    } else {
      ByteBufUtil.writeUtf8(buf, s);
    }
    buf.writeByte('"');
  }

  private static boolean needsEscaping(String s) {
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == '"' || c == '\\') {
        return true;
      }
    }
    return false;
  }

  /** Bytes of an ASCII/UTF-8 template part. */
  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** {@code s} as a JSON string literal's UTF-8 bytes, quotes included. */
  static String quoted(String s) {
    return "\"" + new String(STRINGS.quoteAsString(s)) + "\"";
  }

  /** A fixed event such as {@code data: [DONE]}. */
  static ByteBuf fixed(ByteBufAllocator alloc, byte[] bytes) {
    return alloc.buffer(bytes.length).writeBytes(bytes);
  }

  /** The pre-encoded {@code event: NAME\n} line. */
  static byte[] eventLine(String name) {
    return ("event: " + name + "\n").getBytes(StandardCharsets.US_ASCII);
  }
}
