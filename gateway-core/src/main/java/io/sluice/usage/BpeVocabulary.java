package io.sluice.usage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A byte-pair encoding's vocabulary for encoding only: the rank of a byte string, or none.
 *
 * <p>Three arrays instead of maps of wrapper objects, so that cl100k_base's 100,256 tokens take
 * ~2.1 MB of heap rather than the ~17 MB a {@code HashMap<ByteArrayWrapper, Integer>} and its
 * reverse map took (gateway-server/docs/memory.md): every token's bytes one after the other in rank
 * order, the offsets where each starts, and an open-addressing table of ranks keyed by a hash of
 * the bytes (linear probing, at most ~40 % full so that a miss, the common case while merging,
 * ends after one or two probes).
 *
 * <p>Immutable once loaded; thread-safe.
 */
final class BpeVocabulary {
  private static final int EMPTY = 0; // a slot holds rank + 1

  private final byte[] bytes;
  private final int[] offsets;
  private final int[] slots;
  private final int mask;
  private final int longest;

  private BpeVocabulary(byte[] bytes, int[] offsets, int longest) {
    this.bytes = bytes;
    this.offsets = offsets;
    this.longest = longest;
    int tokens = offsets.length - 1;
    int capacity = Integer.highestOneBit(Math.max(tokens, 1) * 2 - 1) << 1; // ≥ 2× tokens, power of two
    this.slots = new int[capacity];
    this.mask = capacity - 1;
    for (int rank = 0; rank < tokens; rank++) {
      int from = offsets[rank];
      int to = offsets[rank + 1];
      int slot = hash(bytes, from, to) & mask;
      while (slots[slot] != EMPTY) {
        if (sameBytes(slots[slot] - 1, bytes, from, to)) {
          throw new IllegalStateException("token " + rank + " repeats token " + (slots[slot] - 1));
        }
        slot = (slot + 1) & mask;
      }
      slots[slot] = rank + 1;
    }
  }

  /**
   * Reads tiktoken's vocabulary format: one token per line, its bytes in base64, a space, its rank;
   * the ranks 0, 1, 2, … in order (as in the {@code .tiktoken} files OpenAI publishes and jtokkit
   * ships). Every single byte must be a token, as byte-pair encoding starts from single bytes.
   */
  static BpeVocabulary read(InputStream in) throws IOException {
    byte[] text = in.readAllBytes();
    int lines = 0;
    for (byte b : text) {
      if (b == '\n') {
        lines++;
      }
    }
    if (text.length > 0 && text[text.length - 1] != '\n') {
      lines++;
    }
    int[] offsets = new int[lines + 1];
    byte[] bytes = new byte[text.length / 4 * 3 + 3]; // decoded base64 is at most 3/4 of its text; trimmed below
    int size = 0;
    int rank = 0;
    int longest = 0;
    for (int pos = 0; pos < text.length; ) {
      int space = pos;
      while (space < text.length && text[space] != ' ' && text[space] != '\n') {
        space++;
      }
      int declared = 0;
      int end = space + 1;
      for (; end < text.length && text[end] >= '0' && text[end] <= '9'; end++) {
        declared = declared * 10 + (text[end] - '0');
      }
      if (space == pos || space >= text.length || text[space] != ' ' || end == space + 1 || declared != rank) {
        throw new IOException("vocabulary line " + (rank + 1) + " is not \"<base64> " + rank + "\"");
      }
      int length = decodeBase64(text, pos, space, bytes, size);
      if (length < 0) {
        throw new IOException("vocabulary line " + (rank + 1) + " is not base64");
      }
      size += length;
      longest = Math.max(longest, length);
      offsets[++rank] = size;
      while (end < text.length && text[end] != '\n') {
        end++; // a '\r' of a CRLF file
      }
      pos = end + 1;
    }
    BpeVocabulary vocabulary = new BpeVocabulary(Arrays.copyOf(bytes, size), Arrays.copyOf(offsets, rank + 1), longest);
    byte[] one = new byte[1];
    for (int b = 0; b < 256; b++) {
      one[0] = (byte) b;
      if (vocabulary.rank(one, 0, 1) < 0) {
        throw new IOException("vocabulary has no token for the byte " + b);
      }
    }
    return vocabulary;
  }

  private static final byte[] BASE64 = new byte[128];

  static {
    Arrays.fill(BASE64, (byte) -1);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < alphabet.length(); i++) {
      BASE64[alphabet.charAt(i)] = (byte) i;
    }
  }

  /**
   * Decodes padded base64 {@code src[from, to)} into {@code dst} at {@code at}; the length, or -1 if
   * it is not base64. By hand rather than {@link java.util.Base64}: its decoder takes a whole array
   * or returns a new buffer, two objects per token, and those 100k × 2 objects (~7 MB) made the
   * load's young collection promote its scratch arrays into the old generation (resident for the
   * life of the process).
   */
  static int decodeBase64(byte[] src, int from, int to, byte[] dst, int at) {
    if ((to - from) % 4 != 0) {
      return -1;
    }
    int n = at;
    for (int i = from; i < to; i += 4) {
      int pad = i + 4 == to ? (src[i + 3] == '=' ? (src[i + 2] == '=' ? 2 : 1) : 0) : 0;
      int bits = 0;
      for (int k = 0; k < 4 - pad; k++) {
        byte c = src[i + k];
        int v = c >= 0 ? BASE64[c] : -1;
        if (v < 0) {
          return -1;
        }
        bits = bits << 6 | v;
      }
      bits <<= 6 * pad;
      dst[n++] = (byte) (bits >> 16);
      if (pad < 2) {
        dst[n++] = (byte) (bits >> 8);
      }
      if (pad < 1) {
        dst[n++] = (byte) bits;
      }
    }
    return n - at;
  }

  /** The rank of {@code b[from, to)}, or -1 when those bytes are not a token. */
  int rank(byte[] b, int from, int to) {
    if (to - from > longest) {
      return -1;
    }
    int slot = hash(b, from, to) & mask;
    int entry;
    while ((entry = slots[slot]) != EMPTY) {
      if (sameBytes(entry - 1, b, from, to)) {
        return entry - 1;
      }
      slot = (slot + 1) & mask;
    }
    return -1;
  }

  int size() {
    return offsets.length - 1;
  }

  /** Heap bytes held by the tables (arrays only), for the memory figures in the docs. */
  long tableBytes() {
    return (long) bytes.length + 4L * offsets.length + 4L * slots.length;
  }

  private boolean sameBytes(int rank, byte[] b, int from, int to) {
    int start = offsets[rank];
    int end = offsets[rank + 1];
    return end - start == to - from && Arrays.equals(bytes, start, end, b, from, to);
  }

  private static int hash(byte[] b, int from, int to) {
    int h = 0x9747b28c;
    for (int i = from; i < to; i++) {
      h = 31 * h + b[i];
    }
    // murmur3's finaliser: polynomial hashes of short strings differ mostly in their low bits'
    // neighbours; mixing spreads them over the table.
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return h;
  }
}
