package io.sluice.usage;

/**
 * Steps over JSON in UTF-8 bytes without decoding it: whitespace, a string, a whole value. Enough to
 * walk an object's keys and find where a value lies, for the per-event fast path of
 * {@link ChunkReader}; anything it cannot step over returns -1 and the caller parses the event with
 * Jackson instead. It checks structure (quotes, escapes, nesting), not the spelling of every
 * scalar: a malformed number inside a skipped value is stepped over, not rejected.
 *
 * <p>Why a string cannot be mistaken for structure: inside a JSON string every {@code "} is
 * escaped, so a scan that skips strings from their opening quote to the first unescaped quote
 * always lands on structure again.
 */
final class JsonBytes {
  /** Nesting deeper than this is not stepped over (the caller falls back to Jackson, which limits it too). */
  static final int MAX_DEPTH = 64;

  private JsonBytes() {}

  /** The first index at or after {@code i} that is not JSON whitespace ({@code end} if none). */
  static int skipWs(byte[] b, int i, int end) {
    while (i < end) {
      byte c = b[i];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        return i;
      }
      i++;
    }
    return end;
  }

  /**
   * {@code i} is at an opening quote: the index of the closing quote, or -1 when the string does
   * not end before {@code end} (or has a raw control character, which JSON does not allow).
   */
  static int stringEnd(byte[] b, int i, int end) {
    i++;
    while (i < end) {
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

  /** Whether the string body {@code b[from, to)} contains an escape. */
  static boolean hasEscape(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] == '\\') {
        return true;
      }
    }
    return false;
  }

  /** The index just after the value that starts at {@code i}, or -1 when it is not a whole value before {@code end}. */
  static int valueEnd(byte[] b, int i, int end) {
    if (i >= end) {
      return -1;
    }
    byte c = b[i];
    if (c == '"') {
      int close = stringEnd(b, i, end);
      return close < 0 ? -1 : close + 1;
    }
    if (c == '{' || c == '[') {
      return containerEnd(b, i, end);
    }
    // a number, true, false or null: up to the next delimiter
    int j = i;
    while (j < end) {
      byte d = b[j];
      if (d == ',' || d == '}' || d == ']' || d == ' ' || d == '\n' || d == '\r' || d == '\t') {
        break;
      }
      if (d == '"' || d == '{' || d == '[' || d == ':') {
        return -1;
      }
      j++;
    }
    return j == i ? -1 : j;
  }

  private static int containerEnd(byte[] b, int i, int end) {
    int depth = 0;
    while (i < end) {
      byte c = b[i];
      if (c == '"') {
        int close = stringEnd(b, i, end);
        if (close < 0) {
          return -1;
        }
        i = close + 1;
        continue;
      }
      if (c == '{' || c == '[') {
        if (++depth > MAX_DEPTH) {
          return -1;
        }
      } else if (c == '}' || c == ']') {
        if (--depth == 0) {
          return i + 1;
        }
      }
      i++;
    }
    return -1;
  }

  /** Whether the string body {@code b[from, to)} is exactly {@code key} (ASCII, unescaped). */
  static boolean is(byte[] b, int from, int to, byte[] key) {
    if (to - from != key.length) {
      return false;
    }
    for (int k = 0; k < key.length; k++) {
      if (b[from + k] != key[k]) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether {@code b[from, to)} is ASCII and spells {@code s} (then its UTF-8 decodes to {@code s}):
   * a name compared with a string held, without decoding the bytes.
   */
  static boolean spellsAscii(byte[] b, int from, int to, String s) {
    if (s.length() != to - from) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      byte c = b[from + i];
      if (c < 0 || c != s.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** Whether the bytes {@code b[from, to)} contain {@code needle}. */
  static boolean contains(byte[] b, int from, int to, byte[] needle) {
    int last = to - needle.length;
    byte first = needle[0];
    outer:
    for (int i = from; i <= last; i++) {
      if (b[i] != first) {
        continue;
      }
      for (int k = 1; k < needle.length; k++) {
        if (b[i + k] != needle[k]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  /** Whether the value at {@code i} is the literal {@code null}. */
  static boolean isNull(byte[] b, int i, int end) {
    return i + 4 <= end && b[i] == 'n' && b[i + 1] == 'u' && b[i + 2] == 'l' && b[i + 3] == 'l';
  }
}
