package io.sluice.usage;

import io.netty.util.concurrent.FastThreadLocal;
import java.util.Arrays;

/**
 * The last ordinary event of a stream, kept as a template for the next ones. A model streams the
 * same chunk over and over with only its text changed — and sometimes a counter
 * ({@code sequence_number}) or a padding string ({@code obfuscation}) — so an event that equals
 * the template everywhere but in those values is read by comparing bytes, not by walking its JSON:
 * the template's constant runs are compared with {@link Arrays#equals} (vectorized), and only the
 * values that vary are scanned.
 *
 * <p>Why that is the same reading as {@link ChunkReader}'s: the template is an event the reader
 * read completely. A matching event has the same bytes except inside the scalar values that
 * vary — a string replaced by a string without raw control characters (so no line breaks: the SSE
 * fields are the same too), a number by a number. Keys, nesting and every literal are the same, so
 * the reader would take the same path through it and find its text at the same slots; the model
 * is a slot of its own, compared like the rest unless it varies. A slot whose key is
 * {@code type} never varies: it names what the event is.
 *
 * <p>What varies is learnt: at first only the text slots; when an event fails to match, is read by
 * the reader and has the template's shape with other values in some slots, those slots vary from
 * then on. An event of another shape becomes the template.
 *
 * <p>Memory: a stream keeps the template's bytes (one event; in the thread's lease until another
 * stream's template needs it) and its slots' positions; the scratch of a match is the thread's.
 * Threading: not thread-safe; one per tracker, allocated with the stream's first ordinary event,
 * always used on the tracker's thread (the lease is that thread's).
 */
final class EventTemplate {
  /** Scalar values per event a template keeps track of; an event with more makes no template. */
  static final int MAX_SLOTS = 24;
  /** An event this long or longer makes no template (positions are kept as {@code short}s). */
  static final int MAX_LENGTH = Short.MAX_VALUE;

  /**
   * The thread's scratch for a match: the varying values' positions, then the text pieces. Per
   * thread, not per template: a held stream keeps only its template's bytes and slots.
   */
  private static final FastThreadLocal<int[]> SCRATCH = new FastThreadLocal<>() {
    @Override
    protected int[] initialValue() {
      return new int[2 * MAX_SLOTS + 2 * ChunkReader.MAX_PIECES];
    }
  };
  private static final int PIECES = 2 * MAX_SLOTS; // where the pieces start in the scratch

  /**
   * The thread's array for the bytes of one template at a time. Why: at burst load a response's
   * events arrive in one read and the stream ends before the next one starts, so the template that
   * was copied into an array of the stream's own (its opening, content and finish chunks) was
   * garbage right after — ~6 % of the gateway's allocation at 2-token responses. Now a template is
   * copied into the lease; a template that wants the lease while another holds it first moves the
   * holder's bytes into an array of the holder's own ({@link #evict}) — what every template used
   * to cost — and a stream whose usage ended gives the lease back ({@link #release}). Same thread
   * only: a tracker runs on its exchange's event loop.
   */
  private static final class Lease {
    byte[] bytes = new byte[1024];
    EventTemplate holder;
  }

  private static final FastThreadLocal<Lease> LEASES = new FastThreadLocal<>() {
    @Override
    protected Lease initialValue() {
      return new Lease();
    }
  };

  // The template event block is bytes[0, length). Where it lives: first in the thread's lease (see
  // Lease), so a stream that ends before another stream's template needs the lease allocates no
  // array at all; once evicted from the lease, in an array of its own, kept while the next
  // template fits in it (a stream's first event, with its role, is usually its longest).
  // Invariant: lease != null => lease.holder == this && bytes == lease.bytes.
  private byte[] bytes;
  private int length;
  private Lease lease;
  private short[] slots; // scalar values [start, end): strings without their quotes; slotCount pairs used
  private int slotCount;
  private int strings; // bit k: slot k is a string (else a number)
  private int texts; // bit k: slot k is a text the reader reads
  private int pinned; // bit k: slot k never varies (the value of a "type" key)
  private int varying; // bit k: slot k is scanned, not compared
  private int model = -1; // the slot of the chunk's model, or -1
  private boolean alwaysContent; // the event is content even when its text is empty
  private boolean valid;

  /**
   * What a matched event carries: whether it is content, its text pieces ({@link #pieces}, valid
   * until the thread's next match) and (when it varies) its model.
   */
  boolean content;
  int[] pieces; // string bodies [pieces[PIECES + 2k], pieces[PIECES + 2k + 1])
  int pieceCount;
  int modelStart = -1;
  int modelEnd = -1;

  /** Where the text pieces of {@link #pieces} start. */
  static int piecesOffset() {
    return PIECES;
  }

  /**
   * Whether the event block {@code b[0, n)} has the template's shape; if so {@link #content},
   * {@link #pieces} and the model's position are its.
   */
  boolean match(byte[] b, int n) {
    if (!valid) {
      return false;
    }
    int length = this.length;
    int[] values = SCRATCH.get();
    int ti = 0;
    int bi = 0;
    int slotsLeft = varying;
    while (slotsLeft != 0) {
      int k = Integer.numberOfTrailingZeros(slotsLeft);
      slotsLeft &= slotsLeft - 1;
      int start = slots[2 * k];
      int constant = start - ti;
      if (bi + constant > n || !Arrays.equals(bytes, ti, start, b, bi, bi + constant)) {
        return false;
      }
      bi += constant;
      // a string's body from here to its closing quote (stringEnd steps from the opening one)
      int end = (strings & 1 << k) != 0 ? JsonBytes.stringEnd(b, bi - 1, n) : number(b, bi, n);
      if (end < 0) {
        return false;
      }
      values[2 * k] = bi;
      values[2 * k + 1] = end;
      bi = end;
      ti = slots[2 * k + 1];
    }
    if (n - bi != length - ti || !Arrays.equals(bytes, ti, length, b, bi, n)) {
      return false;
    }
    pieces = values;
    pieceCount = 0;
    content = alwaysContent;
    int t = texts;
    while (t != 0) {
      int k = Integer.numberOfTrailingZeros(t);
      t &= t - 1;
      values[PIECES + 2 * pieceCount] = values[2 * k];
      values[PIECES + 2 * pieceCount + 1] = values[2 * k + 1];
      pieceCount++;
      content |= values[2 * k + 1] > values[2 * k];
    }
    modelStart = modelEnd = -1;
    if (model >= 0 && (varying & 1 << model) != 0) {
      modelStart = values[2 * model];
      modelEnd = values[2 * model + 1];
      if (JsonBytes.hasEscape(b, modelStart, modelEnd)) {
        return false; // the reader leaves an escaped model to the parser
      }
    }
    return true;
  }

  /**
   * The event block {@code b[0, n)} was read by the {@link ChunkReader} ({@code reader}'s pieces and
   * model are its, in the block's coordinates; its JSON is {@code b[dataFrom, dataTo)}): it becomes
   * the template, learning which slots vary when it has the old template's shape.
   *
   * @param alwaysContent the event counts as content even with empty text (Anthropic, Responses)
   */
  void learn(byte[] b, int n, int dataFrom, int dataTo, ChunkReader reader, boolean alwaysContent) {
    boolean hadOne = valid;
    valid = false;
    int[] found = SCRATCH.get();
    int count = n < MAX_LENGTH ? scalars(b, dataFrom, dataTo, found) : -1;
    if (count < 0) {
      return;
    }
    int textSlots = 0;
    int modelSlot = -1;
    for (int k = 0; k < count; k++) {
      int start = found[2 * k];
      for (int p = 0; p < reader.pieceCount; p++) {
        if (reader.pieces[2 * p] == start) {
          textSlots |= 1 << k;
        }
      }
      if (start == reader.modelStart) {
        modelSlot = k;
      }
    }
    if (Integer.bitCount(textSlots) != reader.pieceCount) {
      return; // a text the scan did not see as a value: not a template
    }
    int vary = textSlots;
    if (hadOne && count == slotCount && sameConstants(found, b, n)) {
      for (int k = 0; k < count; k++) {
        boolean same = Arrays.equals(bytes, slots[2 * k], slots[2 * k + 1], b, found[2 * k], found[2 * k + 1]);
        if (((varying & 1 << k) != 0 || !same) && (pinned & 1 << k) == 0) {
          vary |= 1 << k;
        }
      }
    }
    if (slots == null || slots.length < 2 * count) {
      slots = new short[2 * count];
    }
    for (int i = 0; i < 2 * count; i++) {
      slots[i] = (short) found[i];
    }
    slotCount = count;
    System.arraycopy(b, 0, room(n), 0, n);
    length = n;
    texts = textSlots;
    model = modelSlot;
    varying = vary;
    strings = foundStrings;
    pinned = foundPinned;
    this.alwaysContent = alwaysContent;
    valid = true;
  }

  /** An array for a template of {@code n} bytes: the template's own when it has one that fits, else the thread's lease. */
  private byte[] room(int n) {
    if (lease == null && bytes != null) {
      if (bytes.length < n) {
        bytes = new byte[n];
      }
      return bytes;
    }
    Lease l = LEASES.get();
    if (l.holder != this) {
      if (l.holder != null) {
        l.holder.evict();
      }
      l.holder = this;
      lease = l;
    }
    if (l.bytes.length < n) {
      l.bytes = new byte[Math.max(n, 2 * l.bytes.length)];
    }
    bytes = l.bytes;
    return bytes;
  }

  /** Another template needs the thread's lease: this one's bytes move to an array of its own. */
  private void evict() {
    bytes = valid ? Arrays.copyOf(lease.bytes, length) : null;
    lease = null;
  }

  /**
   * The stream's usage ended (its usage chunk or terminal event went by): no more ordinary events
   * are expected, so the template is dropped and the thread's lease given back. An event that
   * still comes is read by the reader, as without a template.
   */
  void release() {
    if (lease != null && lease.holder == this) {
      lease.holder = null;
    }
    lease = null;
    bytes = null;
    valid = false;
  }

  /** Whether the template's bytes outside its slots equal {@code b}'s outside the slots {@code found}. */
  private boolean sameConstants(int[] found, byte[] b, int n) {
    int ti = 0;
    int bi = 0;
    for (int k = 0; k <= slotCount; k++) {
      int tEnd = k < slotCount ? slots[2 * k] : length;
      int bEnd = k < slotCount ? found[2 * k] : n;
      if (!Arrays.equals(bytes, ti, tEnd, b, bi, bEnd)) {
        return false;
      }
      if (k < slotCount) {
        ti = slots[2 * k + 1];
        bi = found[2 * k + 1];
      }
    }
    return true;
  }

  // what the last scalars() found besides the positions
  private int foundStrings;
  private int foundPinned;

  /**
   * Finds the scalar values of the JSON {@code b[from, to)} into {@code found} (start, end pairs);
   * their number, or -1 when there are more than {@link #MAX_SLOTS} or it is not JSON this scan
   * steps through.
   */
  private int scalars(byte[] b, int from, int to, int[] found) {
    int count = 0;
    foundStrings = 0;
    foundPinned = 0;
    boolean typeKey = false;
    int i = from;
    while (i < to) {
      byte c = b[i];
      switch (c) {
        case ' ', '\t', '\n', '\r', '{', '}', '[', ']', ',', ':' -> i++;
        case '"' -> {
          int close = JsonBytes.stringEnd(b, i, to);
          if (close < 0) {
            return -1;
          }
          int next = JsonBytes.skipWs(b, close + 1, to);
          if (next < to && b[next] == ':') {
            typeKey = close - i == 5 && b[i + 1] == 't' && b[i + 2] == 'y' && b[i + 3] == 'p' && b[i + 4] == 'e';
          } else {
            if (count == MAX_SLOTS) {
              return -1;
            }
            foundStrings |= 1 << count;
            if (typeKey) {
              foundPinned |= 1 << count;
            }
            found[2 * count] = i + 1;
            found[2 * count + 1] = close;
            count++;
          }
          i = close + 1;
        }
        case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> {
          int end = number(b, i, to);
          if (count == MAX_SLOTS) {
            return -1;
          }
          found[2 * count] = i;
          found[2 * count + 1] = end;
          count++;
          i = end;
        }
        case 't', 'f', 'n' -> {
          while (i < to && b[i] >= 'a' && b[i] <= 'z') {
            i++;
          }
        }
        default -> {
          return -1;
        }
      }
    }
    return count;
  }

  /** A number from {@code i}: the index after it, or -1 when there is none. */
  private static int number(byte[] b, int i, int n) {
    int j = i;
    while (j < n) {
      byte c = b[j];
      if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
        j++;
      } else {
        break;
      }
    }
    return j == i ? -1 : j;
  }
}
