package io.sluice.usage;

/**
 * Counts the tokens of text that arrives in pieces (stream deltas) without keeping it all: pieces
 * are gathered up to {@value #FLUSH_AT} chars, then everything up to the last whitespace is
 * tokenized and dropped, so token boundaries are respected almost everywhere and memory stays
 * bounded whatever the stream's length. Tokenizing is lazy: when the upstream reports usage, the
 * held tail is never tokenized at all.
 *
 * <p>Not thread-safe (one per exchange, used on its event loop).
 */
final class TextTokenCounter {
  static final int FLUSH_AT = 8192;

  private final StringBuilder pending = new StringBuilder();
  private long counted;
  private boolean any;

  void append(String piece) {
    if (piece == null || piece.isEmpty()) {
      return;
    }
    any = true;
    pending.append(piece);
    if (pending.length() >= FLUSH_AT) {
      int cut = pending.length();
      for (int i = pending.length() - 1; i > FLUSH_AT / 2; i--) {
        if (Character.isWhitespace(pending.charAt(i))) {
          cut = i;
          break;
        }
      }
      if (Character.isHighSurrogate(pending.charAt(cut - 1))) {
        cut--;
      }
      counted += TokenEstimator.count(pending.substring(0, cut));
      pending.delete(0, cut);
    }
  }

  /** Adds a number of tokens counted elsewhere (e.g. for bytes that were not parsed). */
  void addTokens(long tokens) {
    counted += tokens;
    any |= tokens > 0;
  }

  /** True when any text was appended. */
  boolean hasText() {
    return any;
  }

  long tokens() {
    return counted + TokenEstimator.count(pending.toString());
  }
}
