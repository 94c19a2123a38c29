package io.sluice.usage;

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
 * <p>Threading: not thread-safe; one per tracker, allocated with the stream's first ordinary event.
 */
final class EventTemplate {
  /** Scalar values per event a template keeps track of; an event with more makes no template. */
  static final int MAX_SLOTS = 24;

  private byte[] bytes = new byte[0]; // the template event block
  private int length;
  private final int[] slots = new int[2 * MAX_SLOTS]; // scalar values [start, end): strings without their quotes
  private int slotCount;
  private int strings; // bit k: slot k is a string (else a number)
  private int texts; // bit k: slot k is a text the reader reads
  private int pinned; // bit k: slot k never varies (the value of a "type" key)
  private int varying; // bit k: slot k is scanned, not compared
  private int model = -1; // the slot of the chunk's model, or -1
  private boolean alwaysContent; // the event is content even when its text is empty
  private boolean valid;

  /** The values of the varying slots of the last matched event, in its coordinates. */
  private final int[] values = new int[2 * MAX_SLOTS];

  /** What a matched event carries: whether it is content, its text pieces and (when it varies) its model. */
  boolean content;
  final int[] pieces = new int[2 * ChunkReader.MAX_PIECES];
  int pieceCount;
  int modelStart = -1;
  int modelEnd = -1;

  /**
   * Whether the event block {@code b[0, n)} has the template's shape; if so {@link #content},
   * {@link #pieces} and the model's position are its.
   */
  boolean match(byte[] b, int n) {
    if (!valid) {
      return false;
    }
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
      int end = (strings & 1 << k) != 0 ? stringBody(b, bi, n) : number(b, bi, n);
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
    pieceCount = 0;
    content = alwaysContent;
    int t = texts;
    while (t != 0) {
      int k = Integer.numberOfTrailingZeros(t);
      t &= t - 1;
      pieces[2 * pieceCount] = values[2 * k];
      pieces[2 * pieceCount + 1] = values[2 * k + 1];
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
    int oldCount = slotCount;
    int oldVarying = varying;
    int[] old = valid ? Arrays.copyOf(slots, 2 * oldCount) : null;
    valid = scalars(b, dataFrom, dataTo);
    if (!valid) {
      return;
    }
    this.alwaysContent = alwaysContent;
    texts = 0;
    model = -1;
    for (int k = 0; k < slotCount; k++) {
      int start = slots[2 * k];
      for (int p = 0; p < reader.pieceCount; p++) {
        if (reader.pieces[2 * p] == start) {
          texts |= 1 << k;
        }
      }
      if (start == reader.modelStart) {
        model = k;
      }
    }
    if (Integer.bitCount(texts) != reader.pieceCount) {
      valid = false; // a text the scan did not see as a value: not a template
      return;
    }
    varying = texts;
    if (old != null && oldCount == slotCount && sameConstants(old, b, n)) {
      for (int k = 0; k < slotCount; k++) {
        boolean same = Arrays.equals(bytes, old[2 * k], old[2 * k + 1], b, slots[2 * k], slots[2 * k + 1]);
        if (((oldVarying & 1 << k) != 0 || !same) && (pinned & 1 << k) == 0) {
          varying |= 1 << k;
        }
      }
    }
    if (bytes.length < n) {
      bytes = new byte[Math.max(n, 256)];
    }
    System.arraycopy(b, 0, bytes, 0, n);
    length = n;
  }

  /** Whether the template's bytes outside its slots {@code old} equal {@code b}'s outside the new slots. */
  private boolean sameConstants(int[] old, byte[] b, int n) {
    int ti = 0;
    int bi = 0;
    for (int k = 0; k <= slotCount; k++) {
      int tEnd = k < slotCount ? old[2 * k] : length;
      int bEnd = k < slotCount ? slots[2 * k] : n;
      if (!Arrays.equals(bytes, ti, tEnd, b, bi, bEnd)) {
        return false;
      }
      if (k < slotCount) {
        ti = old[2 * k + 1];
        bi = slots[2 * k + 1];
      }
    }
    return true;
  }

  /**
   * Finds the scalar values of the JSON {@code b[from, to)} into {@link #slots}; false when it has
   * more than {@link #MAX_SLOTS} or is not JSON this scan steps through.
   */
  private boolean scalars(byte[] b, int from, int to) {
    slotCount = 0;
    strings = 0;
    pinned = 0;
    boolean typeKey = false;
    int i = from;
    while (i < to) {
      byte c = b[i];
      switch (c) {
        case ' ', '\t', '\n', '\r', '{', '}', '[', ']', ',', ':' -> i++;
        case '"' -> {
          int close = JsonBytes.stringEnd(b, i, to);
          if (close < 0) {
            return false;
          }
          int next = JsonBytes.skipWs(b, close + 1, to);
          if (next < to && b[next] == ':') {
            typeKey = close - i == 5 && b[i + 1] == 't' && b[i + 2] == 'y' && b[i + 3] == 'p' && b[i + 4] == 'e';
          } else {
            if (!slot(i + 1, close)) {
              return false;
            }
            strings |= 1 << (slotCount - 1);
            if (typeKey) {
              pinned |= 1 << (slotCount - 1);
            }
          }
          i = close + 1;
        }
        case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9' -> {
          int end = number(b, i, to);
          if (!slot(i, end)) {
            return false;
          }
          i = end;
        }
        case 't', 'f', 'n' -> {
          while (i < to && b[i] >= 'a' && b[i] <= 'z') {
            i++;
          }
        }
        default -> {
          return false;
        }
      }
    }
    return true;
  }

  private boolean slot(int start, int end) {
    if (slotCount == MAX_SLOTS) {
      return false;
    }
    slots[2 * slotCount] = start;
    slots[2 * slotCount + 1] = end;
    slotCount++;
    return true;
  }

  /** A string body from {@code i}: the index of its closing quote, or -1 (no end, or a raw control character). */
  private static int stringBody(byte[] b, int i, int n) {
    while (i < n) {
      byte c = b[i];
      if (c == '"') {
        return i;
      }
      if (c == '\\') {
        i += 2;
        continue;
      }
      if (c >= 0 && c < 0x20) {
        return -1;
      }
      i++;
    }
    return -1;
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
