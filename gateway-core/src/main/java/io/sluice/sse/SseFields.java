package io.sluice.sse;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Where the fields of one event block lie in its bytes: the {@code event:} type and the
 * {@code data:} value, found the way {@link SseEvent#parse} finds them (WHATWG HTML §9.2.6: lines
 * end with CRLF, LF or CR; one space after the colon is dropped; several {@code data:} lines are
 * joined by LF) but without building a {@code String} per event. For the gateway's own reading of
 * each relayed event (usage, content), where {@link SseEvent} would cost a decode and a few strings
 * per event.
 *
 * <p>One instance per event loop ({@link #forThread}), shared by its streams, which read their
 * events one at a time: {@link #read} copies the block into the instance's array, which grows to
 * the largest event seen there (at most the framer's held-event limit) and is kept — a held stream
 * keeps neither a buffer nor an instance of its own (an instance per stream was 48 B; the thread's
 * look-up replaces the one its scratch arrays needed, so an event costs no more). What it reports
 * is valid until the next {@code read} on the same thread: use it before the next event is read.
 * {@code new SseFields()} is a private instance, for tests and tools.
 *
 * <p>Threading: not thread-safe; used on the stream's event loop.
 */
public final class SseFields {
  /** The thread's instance: every stream of an event loop reads its events one at a time. */
  private static final FastThreadLocal<SseFields> THREAD = new FastThreadLocal<>() {
    @Override
    protected SseFields initialValue() {
      return new SseFields();
    }
  };

  private byte[] bytes = new byte[1024]; // the block
  private byte[] joined; // several data lines joined by LF
  private int typeStart;
  private int typeEnd;
  private int dataStart;
  private int dataEnd;
  private boolean dataJoined;

  /** The calling thread's instance (an event loop's). */
  public static SseFields forThread() {
    return THREAD.get();
  }

  /** Finds the fields of {@code block} (one whole event as {@link SseFramer} emits it); the buffer is not consumed. */
  public void read(ByteBuf block) {
    load(block, block.readerIndex(), block.readableBytes());
    read(block.readableBytes());
  }

  /**
   * Copies one whole event block, bytes {@code [index, index + length)} of {@code buffer}, into the
   * instance's array and returns it (the block is its first {@code length} bytes); its fields
   * are found by {@link #read(int)} when the caller needs them.
   */
  public byte[] load(ByteBuf buffer, int index, int length) {
    if (bytes.length < length) {
      bytes = new byte[Math.max(length, bytes.length * 2)];
    }
    buffer.getBytes(index, bytes, 0, length);
    return bytes;
  }

  /** The same as {@link #load(ByteBuf, int, int)} for the block {@code block[offset, offset + length)}. */
  public byte[] load(byte[] block, int offset, int length) {
    if (bytes.length < length) {
      bytes = new byte[Math.max(length, bytes.length * 2)];
    }
    System.arraycopy(block, offset, bytes, 0, length);
    return bytes;
  }

  /** Finds the fields of the block of {@code n} bytes that {@link #load} just copied. */
  public void read(int n) {
    typeStart = typeEnd = -1;
    dataStart = dataEnd = -1;
    dataJoined = false;
    byte[] b = bytes;
    int joinedLength = 0;
    int i = 0;
    while (i < n) {
      int start = i;
      int colon = -1;
      while (i < n) {
        byte c = b[i];
        if (c == '\n' || c == '\r') {
          break;
        }
        if (c == ':' && colon < 0) {
          colon = i;
        }
        i++;
      }
      int end = i;
      if (i < n && b[i] == '\r' && i + 1 < n && b[i + 1] == '\n') {
        i++;
      }
      i++;
      if (end == start || b[start] == ':') {
        continue; // an empty line, or a comment
      }
      int nameEnd = colon < 0 ? end : colon;
      int value = colon < 0 ? end : colon + 1;
      if (value < end && b[value] == ' ') {
        value++;
      }
      int nameLength = nameEnd - start;
      if (nameLength == 4 && b[start] == 'd' && b[start + 1] == 'a' && b[start + 2] == 't' && b[start + 3] == 'a') {
        if (dataStart < 0) {
          dataStart = value;
          dataEnd = end;
        } else {
          joinedLength = join(joinedLength, value, end);
        }
      } else if (nameLength == 5 && b[start] == 'e' && b[start + 1] == 'v' && b[start + 2] == 'e'
          && b[start + 3] == 'n' && b[start + 4] == 't') {
        typeStart = value;
        typeEnd = end;
      }
    }
    if (dataJoined) {
      dataStart = 0;
      dataEnd = joinedLength;
    }
  }

  /** The second and later data lines: the first one and every later one go to {@link #joined}, LF between. */
  private int join(int length, int from, int to) {
    if (!dataJoined) {
      dataJoined = true;
      length = 0;
      length = append(length, dataStart, dataEnd);
    }
    length = ensureJoined(length, 1);
    joined[length++] = '\n';
    return append(length, from, to);
  }

  private int append(int length, int from, int to) {
    int n = to - from;
    length = ensureJoined(length, n);
    System.arraycopy(bytes, from, joined, length, n);
    return length + n;
  }

  private int ensureJoined(int length, int more) {
    if (joined == null || joined.length < length + more) {
      int size = Math.max(length + more, joined == null ? 512 : joined.length * 2);
      joined = joined == null ? new byte[size] : Arrays.copyOf(joined, size);
    }
    return length;
  }

  /** True when the block has a {@code data:} field (possibly empty). */
  public boolean hasData() {
    return dataStart >= 0;
  }

  /** True when the data came in several lines: {@link #data()} is then not the block's array but their join. */
  public boolean dataJoined() {
    return dataJoined;
  }

  /** The array holding the data value: bytes {@link #dataStart()} to {@link #dataEnd()} (UTF-8). */
  public byte[] data() {
    return dataJoined ? joined : bytes;
  }

  public int dataStart() {
    return dataStart;
  }

  public int dataEnd() {
    return dataEnd;
  }

  /** True when the block has an {@code event:} field. */
  public boolean hasType() {
    return typeStart >= 0;
  }

  /** Whether the {@code event:} type is exactly {@code name} (ASCII). */
  public boolean typeIs(byte[] name) {
    return typeStart >= 0 && typeEnd - typeStart == name.length
        && Arrays.equals(bytes, typeStart, typeEnd, name, 0, name.length);
  }

  /** Whether the {@code event:} type ends with {@code suffix} (ASCII). */
  public boolean typeEndsWith(byte[] suffix) {
    return typeStart >= 0 && typeEnd - typeStart >= suffix.length
        && Arrays.equals(bytes, typeEnd - suffix.length, typeEnd, suffix, 0, suffix.length);
  }

  /** The {@code event:} type as a string (null without one); allocates, for the rare paths. */
  public String type() {
    return typeStart < 0 ? null : new String(bytes, typeStart, typeEnd - typeStart, StandardCharsets.UTF_8);
  }

  /** The data as a string (null without data); allocates, for the rare paths. */
  public String dataString() {
    return dataStart < 0 ? null : new String(data(), dataStart, dataEnd - dataStart, StandardCharsets.UTF_8);
  }
}
