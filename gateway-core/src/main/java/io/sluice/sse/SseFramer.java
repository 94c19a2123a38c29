package io.sluice.sse;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.concurrent.FastThreadLocal;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Splits a {@code text/event-stream} byte stream into whole events, whatever the network reads'
 * boundaries are (gateways that assumed one read = one event have corrupted tokens).
 *
 * <p>An event ends with an empty line; lines end with CRLF, LF or CR (WHATWG HTML §9.2.5), and a
 * CRLF may be split across two reads. Each event is emitted with its terminating blank line, as
 * the exact bytes received, so relaying events is byte-for-byte transparent. A lone LF that
 * completes a CRLF after an event was already emitted at its CR starts the next event's bytes.
 *
 * <p>One exception: a UTF-8 byte order mark at the very start of the stream is dropped. A client
 * skips it only there (the stream's UTF-8 decode strips one leading BOM), and the gateway may have
 * written before it — a {@code : ping} while the upstream was silent after its headers, the
 * {@code id:} line it stamps on a session's events — which would glue it to the first field's
 * name (U+FEFF then {@code data}) and make the client drop that event, and the gateway's own parsing
 * (usage, session numbering) take the event for a comment.
 *
 * <p>Memory: what is held is bounded by {@code maxEventSize} plus one read: when more than
 * {@code maxEventSize} of an event is waiting for its end after a read, it is passed on in
 * fragments (nothing is lost, nothing grows), and {@link Sink#fragment} tells the caller it is not
 * a whole event; an event that size whose end comes in the same read is passed on whole. The held
 * buffer is never grown in place ({@code cumulate}), and between reads a stream keeps its
 * unfinished event's bytes, not the read buffer they came in ({@code compactHeld}).
 *
 * <p>Threading: not thread-safe; one framer per stream, used on that stream's event loop.
 */
public final class SseFramer {
  /**
   * Receives the framer's output. Two ways to take a whole event: as a buffer of its own
   * ({@link #event(ByteBuf)}, which the sink owns and must release), or in place
   * ({@link #event(ByteBuf, int, int)}: the framer's buffer, valid only during the call) — the
   * relay's way, which looks at an event without a buffer per event and writes the events it
   * passes on unchanged as one slice per read.
   */
  public interface Sink {
    void event(ByteBuf event);

    /**
     * One whole event: bytes {@code [index, index + length)} of {@code buffer}, which the framer
     * owns; a sink that keeps them takes a retained slice before {@link #endOfRead}. Consecutive
     * calls within one read are contiguous in the same buffer. By default, a slice of its own.
     */
    default void event(ByteBuf buffer, int index, int length) {
      event(buffer.retainedSlice(index, length));
    }

    /**
     * The same event as {@link #event(ByteBuf, int, int)}, its bytes also {@code bytes[offset,
     * offset + length)} of an array the framer scanned them in (valid only during the call): a sink
     * that reads the event's bytes copies them from there, not through the buffer (one bounds-checked
     * call chain per event less). By default, the event in the buffer.
     */
    default void event(ByteBuf buffer, int index, int length, byte[] bytes, int offset) {
      event(buffer, index, length);
    }

    /** The framer is done with this read's whole events: bytes looked at in place may be freed after this returns. */
    default void endOfRead() {
    }

    /**
     * Part of an event longer than {@code maxEventSize}, in order; {@code first} for the first
     * part of each such event (the next one may follow right behind it, in fragments too).
     */
    default void fragment(ByteBuf part, boolean first) {
      event(part);
    }
  }

  private final ByteBufAllocator alloc;
  private final int maxEventSize;
  private ByteBuf pending;
  private int scanned; // bytes of pending already scanned (relative to readerIndex)
  private boolean atLineStart = true;
  private boolean lastWasCr;
  private boolean inOversizedEvent;
  private boolean atStreamStart = true; // a byte order mark may still come (see the class comment)

  /** Bytes of a direct buffer scanned per copy into the thread's array (one read is usually less). */
  static final int WINDOW = 16 * 1024;

  /**
   * The bytes of the read being framed, as an array: buffer index {@code j} is
   * {@code bytes[j + base]} for {@code j} in {@code [from, to)}. A heap buffer is its own window;
   * a direct one's bytes are copied, {@link #WINDOW} at a time, into {@code scratch}. One per
   * event loop (its streams are framed one read at a time), so a held stream keeps none.
   */
  private static final class Window {
    private byte[] scratch;
    byte[] bytes;
    int base;
    int from;
    int to;
    boolean busy; // a read is being framed with it

    void open(ByteBuf buf) {
      busy = true;
      if (buf.hasArray()) {
        bytes = buf.array();
        base = buf.arrayOffset();
        from = buf.readerIndex();
        to = buf.writerIndex();
      } else {
        bytes = null;
        from = to = 0;
      }
    }

    /** Copies {@code buf[i, min(end, i + WINDOW))}: one bulk copy, no access per byte. */
    void copy(ByteBuf buf, int i, int end) {
      if (scratch == null) {
        scratch = new byte[WINDOW];
      }
      int n = Math.min(end - i, scratch.length);
      buf.getBytes(i, scratch, 0, n);
      bytes = scratch;
      base = -i;
      from = i;
      to = i + n;
    }

    void close() {
      bytes = null; // not a heap buffer's array past its read
      busy = false;
    }
  }

  private static final FastThreadLocal<Window> WINDOWS = new FastThreadLocal<>() {
    @Override
    protected Window initialValue() {
      return new Window();
    }
  };

  /** Eight bytes of an array at once, in the order SWAR below assumes (the first byte lowest). */
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final long ONES = 0x0101010101010101L;
  private static final long HIGHS = 0x8080808080808080L;
  private static final long LFS = ONES * '\n';
  private static final long CRS = ONES * '\r';

  public SseFramer(ByteBufAllocator alloc, int maxEventSize) {
    this.alloc = alloc;
    this.maxEventSize = maxEventSize;
  }

  /** Feeds the next bytes of the stream (ownership passes to the framer) and emits whole events. */
  public void feed(ByteBuf in, Sink sink) {
    if (!in.isReadable()) {
      in.release();
      return;
    }
    pending = pending == null ? in : cumulate(pending, in);
    if (atStreamStart && !skipByteOrderMark()) {
      return; // one or two bytes that may be the start of a BOM: held until the next read tells
    }
    Window w = WINDOWS.get();
    if (w.busy) {
      w = new Window(); // a sink that frames another stream within this read's events: not the relay's
    }
    w.open(pending);
    try {
      int end = pending.writerIndex();
      int i = pending.readerIndex() + scanned;
      while (i < end) {
        // Bulk scans, not a getByte per byte: under the paranoid leak detector every getByte of a
        // leak-aware buffer records a stack trace, which made framing ~100x slower in tests (a 64 KiB
        // read held the event loop for ~300 ms, delaying every other stream).
        int blank = findBlank(w, i, end);
        if (blank < 0) {
          break;
        }
        // An empty line: the event is complete. Take a CRLF's LF along when it is already here.
        int last = blank;
        if (lastWasCr && blank + 1 < end && byteAt(w, blank + 1) == '\n') {
          last = blank + 1;
          lastWasCr = false;
        }
        int start = pending.readerIndex();
        if (inOversizedEvent) {
          inOversizedEvent = false;
          sink.fragment(pending.readRetainedSlice(last + 1 - start), false);
        } else {
          pending.readerIndex(last + 1);
          if (start >= w.from && last < w.to) {
            sink.event(pending, start, last + 1 - start, w.bytes, start + w.base);
          } else {
            sink.event(pending, start, last + 1 - start); // it began before this read's window
          }
        }
        i = last + 1;
      }
    } finally {
      w.close();
    }
    sink.endOfRead();
    scanned = pending.readableBytes();
    if (scanned >= maxEventSize) {
      boolean first = !inOversizedEvent;
      inOversizedEvent = true;
      sink.fragment(pending.readRetainedSlice(scanned), first);
      scanned = 0;
    }
    if (!pending.isReadable()) {
      pending.release();
      pending = null;
      scanned = 0;
    } else {
      compactHeld();
    }
  }

  /** The buffer whose memory {@code buf} is a view of (through slices and leak-detection wrappers). */
  private static ByteBuf underlying(ByteBuf buf) {
    for (ByteBuf inner = buf.unwrap(); inner != null; inner = buf.unwrap()) {
      buf = inner;
    }
    return buf;
  }

  /**
   * An unfinished event held in a slice of a much larger read buffer (an upstream read of up to
   * 64 KiB that ended inside an event) is copied out, so that a stream waiting for the rest of its
   * event keeps that event's bytes, not the whole read, until the next read.
   */
  private void compactHeld() {
    ByteBuf whole = underlying(pending);
    int held = pending.readableBytes();
    if (whole.capacity() > 4096 && whole.capacity() > 4 * held) {
      ByteBuf copy = alloc.buffer(held);
      copy.writeBytes(pending, pending.readerIndex(), held);
      pending.release();
      pending = copy;
    }
  }

  /**
   * The bytes held (an unfinished event, read in place up to its start) followed by the next read.
   * Appended in place only when they fit the held buffer as it is; otherwise both are copied into
   * a buffer of their size. Not Netty's {@code MERGE_CUMULATOR}: it appends whenever the buffer
   * may grow, and a held buffer that is never read to its end (there is always the start of an
   * event left) then grows by doubling with every byte already relayed still in it — a buffer of
   * one read each, as the upstream reader hands over, grew to 32 MiB within a 1 GiB stream. Here
   * what is held is bounded by one unfinished event and one read. Appending never moves bytes, so
   * the slices of earlier events still waiting in the client's outbound buffer stay intact.
   */
  private ByteBuf cumulate(ByteBuf held, ByteBuf in) {
    int more = in.readableBytes();
    if (more <= held.writableBytes() && !held.isReadOnly()) {
      held.writeBytes(in, in.readerIndex(), more);
      in.release();
      return held;
    }
    ByteBuf merged = alloc.buffer(held.readableBytes() + more);
    merged.writeBytes(held, held.readerIndex(), held.readableBytes()).writeBytes(in, in.readerIndex(), more);
    held.release();
    in.release();
    return merged;
  }

  /**
   * The index of the line end that completes an empty line (the end of an event) in
   * {@code pending[i, end)}, or -1; the line state ({@code atLineStart}, {@code lastWasCr}) advances
   * as a byte-by-byte reading of those bytes would advance it (WHATWG: a line ends at CRLF, LF or
   * CR). Only line-end bytes are looked at one by one: the bytes between them are stepped over eight
   * at a time ({@link #nextLineEnd}), over the read's bytes as an array — not Netty's
   * {@code indexOf}, which is one pass per byte value (LF, then CR over the whole read) with a
   * virtual call per word through the slice, and under the paranoid leak detector a recorded
   * stack trace per access (which made framing ~100x slower in tests).
   */
  private int findBlank(Window w, int i, int end) {
    while (i < end) {
      if (i < w.from || i >= w.to) {
        w.copy(pending, i, end);
      }
      int base = w.base;
      int at = nextLineEnd(w.bytes, i + base, w.to + base);
      int p = at < 0 ? w.to : at - base;
      if (p > i) {
        atLineStart = false; // ordinary bytes before the line end (or the end of what is here)
        lastWasCr = false;
      }
      if (at < 0) {
        i = p;
        continue;
      }
      boolean lineEnd;
      if (w.bytes[at] == '\n') {
        lineEnd = !lastWasCr; // the LF of a CRLF ends no second line
        lastWasCr = false;
      } else {
        lineEnd = true;
        lastWasCr = true;
      }
      if (lineEnd) {
        if (atLineStart) {
          return p; // an empty line; the next event starts at a line start too
        }
        atLineStart = true;
      }
      i = p + 1;
    }
    return -1;
  }

  /**
   * The index of the first LF or CR in {@code a[from, to)}, or -1. Eight bytes per step: a byte
   * equal to {@code c} is a zero byte of {@code word ^ c*ONES}, and {@code (x - ONES) & ~x & HIGHS}
   * sets the high bit of the lowest zero byte of {@code x} (above it a borrow may mark more, never
   * below), so the lowest bit set is the first match.
   */
  static int nextLineEnd(byte[] a, int from, int to) {
    int k = from;
    for (int last = to - Long.BYTES; k <= last; k += Long.BYTES) {
      long w = (long) LONGS.get(a, k);
      long lf = w ^ LFS;
      long cr = w ^ CRS;
      long found = ((lf - ONES) & ~lf | (cr - ONES) & ~cr) & HIGHS;
      if (found != 0) {
        return k + (Long.numberOfTrailingZeros(found) >>> 3);
      }
    }
    for (; k < to; k++) {
      byte b = a[k];
      if (b == '\n' || b == '\r') {
        return k;
      }
    }
    return -1;
  }

  /** The byte at buffer index {@code j}: from the window when it holds it. */
  private byte byteAt(Window w, int j) {
    return j >= w.from && j < w.to ? w.bytes[j + w.base] : pending.getByte(j);
  }

  /**
   * At the stream's start: drops a whole BOM, or decides there is none. False while the bytes
   * held are a BOM's first ones (nothing was scanned yet, so {@code scanned} stays 0).
   */
  private boolean skipByteOrderMark() {
    int n = Math.min(pending.readableBytes(), BOM.length);
    for (int i = 0; i < n; i++) {
      if (pending.getByte(pending.readerIndex() + i) != BOM[i]) {
        atStreamStart = false;
        return true;
      }
    }
    if (n < BOM.length) {
      return false;
    }
    pending.skipBytes(BOM.length);
    atStreamStart = false;
    return true;
  }

  private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

  /** At the end of the stream: the bytes of an unterminated last event, or null. */
  public ByteBuf drainRemainder() {
    ByteBuf rest = pending;
    pending = null;
    scanned = 0;
    if (rest != null && !rest.isReadable()) {
      rest.release();
      return null;
    }
    return rest;
  }

  /** The capacity of the buffer held (for tests: it must stay bounded whatever the stream's length). */
  int heldCapacity() {
    return pending == null ? 0 : underlying(pending).capacity();
  }

  /** Bytes held waiting for the end of an event. */
  public int pendingBytes() {
    return pending == null ? 0 : pending.readableBytes();
  }

  /** Frees what is held; the framer must not be used afterwards. */
  public void release() {
    if (pending != null) {
      pending.release();
      pending = null;
    }
  }
}
