package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The text of streams whose bytes share the thread's stage: however their pieces interleave, each
 * stream counts the tokens of its own text, as when it is the only stream.
 */
class GeneratedTextTest {
  /** JSON string bodies as they appear in events: escapes, non-ASCII, a surrogate pair. */
  private static final String[] PIECES = {"Hello", " world", "\\n", " caf\\u00e9", " déjà", " \\\"quoted\\\"",
      " 😀", " \\ud83d\\ude00", " and", " so", " on", "."};

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void append(GeneratedText text, String piece) {
    // the piece inside a larger array, as it lies in an event
    byte[] event = bytes("{\"content\":\"" + piece + "\"}");
    int from = "{\"content\":\"".length();
    text.appendEscaped(event, from, event.length - 2);
  }

  @Test
  void interleavedStreamsCountTheirOwnTextExactly() {
    GeneratedText a = new GeneratedText();
    GeneratedText b = new GeneratedText();
    StringBuilder textA = new StringBuilder();
    StringBuilder textB = new StringBuilder();
    Random random = new Random(15);
    for (int i = 0; i < 200; i++) {
      String piece = PIECES[random.nextInt(PIECES.length)];
      boolean toA = random.nextInt(3) != 0;
      append(toA ? a : b, piece);
      (toA ? textA : textB).append(piece);
    }
    assertThat(a.tokens()).isEqualTo(TokenEstimator.count(unescape(textA)));
    assertThat(b.tokens()).isEqualTo(TokenEstimator.count(unescape(textB)));
    append(a, " more");
    textA.append(" more");
    assertThat(a.tokens()).as("appending after a read").isEqualTo(TokenEstimator.count(unescape(textA)));
    assertThat(b.tokens()).as("reading again").isEqualTo(TokenEstimator.count(unescape(textB)));
  }

  /** Past the decode threshold and with pieces too large for the stage: the same count as each stream alone. */
  @Test
  void longAndHugePiecesInterleavedCountAsEachStreamAlone() {
    Random random = new Random(7);
    List<String> piecesA = new ArrayList<>();
    List<String> piecesB = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      String piece = random.nextInt(200) == 0 ? " long".repeat(1000) : PIECES[random.nextInt(PIECES.length)];
      (random.nextBoolean() ? piecesA : piecesB).add(piece);
    }
    GeneratedText a = new GeneratedText();
    GeneratedText b = new GeneratedText();
    int ia = 0;
    int ib = 0;
    while (ia < piecesA.size() || ib < piecesB.size()) {
      if (ib >= piecesB.size() || (ia < piecesA.size() && random.nextBoolean())) {
        append(a, piecesA.get(ia++));
      } else {
        append(b, piecesB.get(ib++));
      }
    }
    GeneratedText aloneA = new GeneratedText();
    piecesA.forEach(p -> append(aloneA, p));
    long tokensA = aloneA.tokens();
    GeneratedText aloneB = new GeneratedText();
    piecesB.forEach(p -> append(aloneB, p));
    long tokensB = aloneB.tokens();
    assertThat(tokensA).isGreaterThan(1000);
    assertThat(a.tokens()).isEqualTo(tokensA);
    assertThat(b.tokens()).isEqualTo(tokensB);
  }

  private static String unescape(CharSequence body) {
    try {
      return new ObjectMapper().readValue("\"" + body + "\"", String.class);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
