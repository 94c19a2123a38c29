package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TextTokenCounterTest {
  @Test
  void smallTextIsExact() {
    TextTokenCounter counter = new TextTokenCounter();
    for (String piece : new String[] {"Hello", "!", " How", " can", " I", " help", "?"}) {
      counter.append(piece);
    }
    assertThat(counter.tokens()).isEqualTo(TokenEstimator.count("Hello! How can I help?"));
    assertThat(counter.tokens()).as("reading does not consume").isEqualTo(TokenEstimator.count("Hello! How can I help?"));
  }

  @Test
  void longTextInSmallDeltas_closeToTheWholeCount_memoryBounded() {
    String sentence = "The quick brown fox jumps over the lazy dog, then naps in the warm afternoon sun. ";
    StringBuilder whole = new StringBuilder();
    TextTokenCounter counter = new TextTokenCounter();
    for (int i = 0; i < 3000; i++) { // ~250 KB, beyond the exact sample
      for (String word : sentence.split("(?= )")) {
        counter.append(word);
        whole.append(word);
      }
    }
    long exact = TokenEstimator.count(whole.toString());
    assertThat(counter.tokens()).isBetween(exact * 99 / 100, exact * 101 / 100);
  }

  @Test
  void oneHugePiece_andNonAsciiText() {
    String text = "Ünïcödé 文字 😀 text, ".repeat(5000);
    TextTokenCounter counter = new TextTokenCounter();
    counter.append(text);
    long exact = TokenEstimator.count(text);
    assertThat(counter.tokens()).isBetween(exact * 97 / 100, exact * 103 / 100);
  }

  @Test
  void bytesRule() {
    assertThat(TokenEstimator.bytesRule(0)).isZero();
    assertThat(TokenEstimator.bytesRule(1)).isEqualTo(1);
    assertThat(TokenEstimator.bytesRule(8)).isEqualTo(2);
    assertThat(TokenEstimator.bytesRule(9)).isEqualTo(3);
    assertThat(TokenEstimator.count(null)).isZero();
    assertThat(TokenEstimator.warmUp()).as("jtokkit resolves here").isTrue();
  }
}
