package io.sluice.usage;

import java.io.IOException;
import java.io.InputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Counts the tokens of text in OpenAI's {@code cl100k_base} encoding, the same count jtokkit's
 * {@code countTokensOrdinary} gives (special-token strings count as ordinary text; TokenEstimatorTest
 * compares the two), from a compact encode-only table ({@link BpeVocabulary}).
 *
 * <p>Two steps, as tiktoken does them: the text is cut into pieces by cl100k's split pattern
 * (contractions, words with one leading non-letter, numbers of up to three digits, punctuation
 * runs, line breaks, whitespace), and each piece's UTF-8 bytes are merged pairwise, always the
 * adjacent pair whose joined bytes have the lowest rank (the leftmost of equals) first, until no
 * adjacent pair is a token; the count is the parts left.
 *
 * <p>The vocabulary is the {@code cl100k_base.tiktoken} file inside jtokkit's jar: jtokkit stays a
 * runtime dependency for that file only, its encoding (two hash maps of boxed keys) is never
 * built.
 *
 * <p>Thread-safe; each call allocates its own small scratch arrays.
 */
final class Cl100kTokenizer {
  /** Where jtokkit 1.1.0 keeps the vocabulary, on the class path. */
  static final String VOCABULARY = "com/knuddels/jtokkit/cl100k_base.tiktoken";

  /**
   * cl100k_base's split pattern, character for character as tiktoken (and jtokkit) write it.
   * jtokkit splits with a hand-written equivalent that is package-private, so this is the pattern
   * in {@code java.util.regex}. UNICODE_CHARACTER_CLASS makes {@code \s} Unicode's White_Space
   * (Java's own is ASCII only: U+00A0 or U+3000 would not be whitespace) and makes {@code (?i)}
   * fold case by Unicode, so {@code 'ſ} is a contraction as it is for tiktoken's Rust regex.
   */
  static final Pattern SPLIT = Pattern.compile(
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
          + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      Pattern.UNICODE_CHARACTER_CLASS);

  /**
   * Pieces longer than this are merged with a heap (n log n) instead of a scan for the lowest rank
   * per merge (n²): a long run of letters without a break (a base64 blob, a repeated character) is
   * one piece.
   */
  static final int SCAN_LIMIT = 256;

  private static final int NONE = Integer.MAX_VALUE;

  private final BpeVocabulary vocabulary;

  Cl100kTokenizer(BpeVocabulary vocabulary) {
    this.vocabulary = vocabulary;
  }

  /** Loads the vocabulary from the class path ({@link #VOCABULARY}). */
  static Cl100kTokenizer load() throws IOException {
    ClassLoader loader = Cl100kTokenizer.class.getClassLoader();
    try (InputStream in = loader.getResourceAsStream(VOCABULARY)) {
      if (in == null) {
        throw new IOException(VOCABULARY + " is not on the class path");
      }
      return new Cl100kTokenizer(BpeVocabulary.read(in));
    }
  }

  BpeVocabulary vocabulary() {
    return vocabulary;
  }

  /** Tokens of {@code text}. */
  int count(String text) {
    Matcher pieces = SPLIT.matcher(text);
    byte[] utf8 = new byte[64];
    int tokens = 0;
    while (pieces.find()) {
      int start = pieces.start();
      int end = pieces.end();
      if (utf8.length < (end - start) * 3) {
        utf8 = new byte[(end - start) * 3];
      }
      tokens += countPiece(utf8, encode(text, start, end, utf8));
    }
    return tokens;
  }

  /** Tokens of the piece {@code utf8[0, length)}. */
  int countPiece(byte[] utf8, int length) {
    if (length <= 1) {
      return length; // every byte is a token (BpeVocabulary.read checks)
    }
    if (vocabulary.rank(utf8, 0, length) >= 0) {
      return 1;
    }
    return length <= SCAN_LIMIT ? mergeByScan(utf8, length) : mergeByHeap(utf8, length);
  }

  /**
   * Byte-pair merging as tiktoken's {@code _byte_pair_merge} does it: part boundaries in an array,
   * the rank of each adjacent pair beside them; find the lowest, merge, re-rank its two neighbours.
   */
  int mergeByScan(byte[] b, int n) {
    int[] starts = new int[n + 1]; // starts[k]: where part k begins; starts[parts] == n
    int[] pairRanks = new int[n]; // pairRanks[k]: rank of parts k and k+1 joined, NONE if no token
    for (int k = 0; k <= n; k++) {
      starts[k] = k;
    }
    int parts = n;
    for (int k = 0; k < parts - 1; k++) {
      pairRanks[k] = rankOrNone(b, k, k + 2);
    }
    while (parts > 1) {
      int best = NONE;
      int at = -1;
      for (int k = 0; k < parts - 1; k++) {
        if (pairRanks[k] < best) { // strictly lower: the leftmost of equal ranks wins
          best = pairRanks[k];
          at = k;
        }
      }
      if (at < 0) {
        break;
      }
      // Part at+1 joins part at: drop its start and the rank of the pair it began.
      System.arraycopy(starts, at + 2, starts, at + 1, parts - at - 1);
      System.arraycopy(pairRanks, at + 2, pairRanks, at + 1, Math.max(0, parts - at - 3));
      parts--;
      pairRanks[at] = at + 1 < parts ? rankOrNone(b, starts[at], starts[at + 2]) : NONE;
      if (at > 0) {
        pairRanks[at - 1] = rankOrNone(b, starts[at - 1], starts[at + 1]);
      }
    }
    return parts;
  }

  /**
   * The same merging, with the pairs in a binary heap ordered by (rank, position) so that each
   * merge costs log n: a part is named by the byte it starts at, parts are a doubly linked list,
   * and an entry is stale when its part is gone or its pair has since grown (the pair starting at
   * a part only ever grows, so its rank never returns to an old value).
   */
  int mergeByHeap(byte[] b, int n) {
    int[] next = new int[n]; // next[i]: start of the part after the one at i (n for the last)
    int[] prev = new int[n];
    int[] pairRank = new int[n]; // rank of the pair starting at i, NONE if none, GONE if merged away
    final int gone = -1;
    long[] heap = new long[3 * n]; // n - 1 first pairs, then at most two per merge
    int size = 0;
    for (int i = 0; i < n; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
      pairRank[i] = i + 2 <= n ? rankOrNone(b, i, i + 2) : NONE;
      if (pairRank[i] != NONE) {
        size = push(heap, size, pairRank[i], i);
      }
    }
    int parts = n;
    while (size > 0) {
      long top = heap[0];
      size = pop(heap, size);
      int rank = (int) (top >>> 32);
      int i = (int) top;
      if (pairRank[i] != rank) {
        continue; // stale
      }
      int j = next[i];
      next[i] = next[j];
      if (next[i] < n) {
        prev[next[i]] = i;
      }
      pairRank[j] = gone;
      parts--;
      pairRank[i] = next[i] < n ? rankOrNone(b, i, end(next, next[i], n)) : NONE;
      if (pairRank[i] != NONE) {
        size = push(heap, size, pairRank[i], i);
      }
      int p = prev[i];
      if (p >= 0) {
        pairRank[p] = rankOrNone(b, p, next[i]);
        if (pairRank[p] != NONE) {
          size = push(heap, size, pairRank[p], p);
        }
      }
    }
    return parts;
  }

  private static int end(int[] next, int part, int n) {
    return part < n ? next[part] : n;
  }

  private int rankOrNone(byte[] b, int from, int to) {
    int rank = vocabulary.rank(b, from, to);
    return rank < 0 ? NONE : rank;
  }

  private static int push(long[] heap, int size, int rank, int position) {
    long key = ((long) rank << 32) | position;
    int i = size;
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (heap[parent] <= key) {
        break;
      }
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = key;
    return size + 1;
  }

  private static int pop(long[] heap, int size) {
    long last = heap[--size];
    int i = 0;
    while (true) {
      int child = 2 * i + 1;
      if (child >= size) {
        break;
      }
      if (child + 1 < size && heap[child + 1] < heap[child]) {
        child++;
      }
      if (heap[child] >= last) {
        break;
      }
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
    return size;
  }

  /**
   * UTF-8 of {@code text[start, end)} into {@code out}, code point by code point; a lone surrogate
   * becomes its three-byte form, as jtokkit encodes it (String.getBytes would write '?').
   */
  static int encode(String text, int start, int end, byte[] out) {
    int n = 0;
    for (int i = start; i < end; i++) {
      char c = text.charAt(i);
      if (c < 0x80) {
        out[n++] = (byte) c;
      } else if (c < 0x800) {
        out[n++] = (byte) (0xc0 | (c >> 6));
        out[n++] = (byte) (0x80 | (c & 0x3f));
      } else if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(text.charAt(i + 1))) {
        int cp = Character.toCodePoint(c, text.charAt(++i));
        out[n++] = (byte) (0xf0 | (cp >> 18));
        out[n++] = (byte) (0x80 | ((cp >> 12) & 0x3f));
        out[n++] = (byte) (0x80 | ((cp >> 6) & 0x3f));
        out[n++] = (byte) (0x80 | (cp & 0x3f));
      } else {
        out[n++] = (byte) (0xe0 | (c >> 12));
        out[n++] = (byte) (0x80 | ((c >> 6) & 0x3f));
        out[n++] = (byte) (0x80 | (c & 0x3f));
      }
    }
    return n;
  }
}
