package io.sluice.usage;

import java.util.ArrayList;
import java.util.List;

/**
 * Counts the tokens of text that arrives in pieces (stream deltas, prompt strings) without keeping
 * it all: pieces are gathered up to {@value #FLUSH_AT} chars, then everything up to the last
 * whitespace is tokenized and dropped, so token boundaries are respected almost everywhere and
 * memory stays bounded whatever the text's length. Tokenizing is lazy: when the upstream reports
 * usage, the held tail is never tokenized at all.
 *
 * <p>CPU is bounded too (tokenizing runs on the event loop at roughly 12 MB/s): the first
 * {@value #SAMPLE_CHARS} chars are tokenized exactly; text beyond them is counted in chars and
 * converted at the tokens-per-char ratio of that sample.
 *
 * <p>Before the vocabulary is loaded ({@link TokenEstimator#ready()}), the pieces cut for
 * tokenizing are kept as they are and tokenized once it is there (at the next piece, or when the
 * count is asked for, which only happens once it is ready): the same pieces, so the same count.
 * A first cut starts the load, so that what is kept stays a piece or two (and never more than
 * the sample).
 *
 * <p>Not thread-safe (one per exchange, used on its event loop).
 */
final class TextTokenCounter {
  static final int FLUSH_AT = 8192;
  static final int SAMPLE_CHARS = 32 * 1024;

  private StringBuilder pending; // made with the first piece: a counter may never get one
  private List<String> cuts; // cut while the vocabulary was loading, not tokenized yet
  private long counted;
  private long sampledChars;
  private long extraChars;

  void append(String piece) {
    if (piece == null || piece.isEmpty()) {
      return;
    }
    if (pending == null) {
      pending = new StringBuilder();
    }
    if (pending.length() + piece.length() < FLUSH_AT) {
      pending.append(piece);
      return;
    }
    String text = pending.length() == 0 ? piece : pending.append(piece).toString();
    pending.setLength(0);
    int start = 0;
    while (text.length() - start >= FLUSH_AT) {
      if (sampledChars >= SAMPLE_CHARS) {
        extraChars += text.length() - start;
        return;
      }
      int cut = start + FLUSH_AT;
      for (int i = cut - 1; i > start + FLUSH_AT / 2; i--) {
        if (Character.isWhitespace(text.charAt(i))) {
          cut = i;
          break;
        }
      }
      if (Character.isHighSurrogate(text.charAt(cut - 1))) {
        cut--;
      }
      count(text.substring(start, cut));
      sampledChars += cut - start;
      start = cut;
    }
    pending.append(text, start, text.length());
  }

  /** Tokenizes a cut now, or keeps it until the vocabulary is there (starting its load). */
  private void count(String cut) {
    if (!TokenEstimator.ready()) {
      if (cuts == null) {
        cuts = new ArrayList<>(4);
      }
      cuts.add(cut);
      return;
    }
    countKept();
    counted += TokenEstimator.count(cut);
  }

  private void countKept() {
    if (cuts != null) {
      for (String cut : cuts) {
        counted += TokenEstimator.count(cut);
      }
      cuts = null;
    }
  }

  /** The count; on an event loop only once {@link TokenEstimator#ready()}. */
  long tokens() {
    countKept();
    int held = pending == null ? 0 : pending.length();
    if (sampledChars < SAMPLE_CHARS) {
      return held == 0 ? counted : counted + TokenEstimator.count(pending.toString());
    }
    long extra = extraChars + held;
    return counted + (extra * counted + sampledChars - 1) / sampledChars;
  }
}
