package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BpeVocabularyTest {
  @Test
  void decodesBase64AsTheJdkDoes() {
    Random random = new Random(3L);
    byte[] dst = new byte[200];
    for (int i = 0; i < 2000; i++) {
      byte[] raw = new byte[random.nextInt(130)];
      random.nextBytes(raw);
      byte[] text = Base64.getEncoder().encode(raw);
      int length = BpeVocabulary.decodeBase64(text, 0, text.length, dst, 7);
      assertThat(Arrays.copyOfRange(dst, 7, 7 + length)).isEqualTo(raw);
    }
    byte[] bad = "ab$=".getBytes(StandardCharsets.US_ASCII);
    assertThat(BpeVocabulary.decodeBase64(bad, 0, bad.length, dst, 0)).isEqualTo(-1);
    byte[] unpadded = "abc".getBytes(StandardCharsets.US_ASCII);
    assertThat(BpeVocabulary.decodeBase64(unpadded, 0, unpadded.length, dst, 0)).isEqualTo(-1);
  }

  @Test
  void readsRanksByByteString() throws IOException {
    BpeVocabulary v = BpeVocabulary.read(vocabulary(256, "YWI= 256", "YWJj 257"));
    assertThat(v.size()).isEqualTo(258);
    assertThat(v.rank(bytes("xabcx"), 1, 3)).isEqualTo(256);
    assertThat(v.rank(bytes("xabcx"), 1, 4)).isEqualTo(257);
    assertThat(v.rank(bytes("xabcx"), 1, 5)).isEqualTo(-1);
    assertThat(v.rank(bytes("a"), 0, 1)).isEqualTo('a');
  }

  @Test
  void rejectsAVocabularyItCannotUse() {
    assertThatThrownBy(() -> BpeVocabulary.read(vocabulary(256, "YWI= 300")))
        .isInstanceOf(IOException.class).hasMessage("vocabulary line 257 is not \"<base64> 256\"");
    assertThatThrownBy(() -> BpeVocabulary.read(vocabulary(256, "Y$I= 256")))
        .isInstanceOf(IOException.class).hasMessage("vocabulary line 257 is not base64");
    assertThatThrownBy(() -> BpeVocabulary.read(vocabulary(255)))
        .isInstanceOf(IOException.class).hasMessage("vocabulary has no token for the byte 255");
    assertThatThrownBy(() -> BpeVocabulary.read(vocabulary(256, "YQ== 256")))
        .isInstanceOf(IllegalStateException.class).hasMessage("token 256 repeats token 97");
  }

  /** The first {@code singleBytes} bytes as ranks 0…, then the given lines. */
  private static ByteArrayInputStream vocabulary(int singleBytes, String... more) {
    StringBuilder text = new StringBuilder();
    for (int b = 0; b < singleBytes; b++) {
      text.append(Base64.getEncoder().encodeToString(new byte[] {(byte) b})).append(' ').append(b).append('\n');
    }
    for (String line : more) {
      text.append(line).append('\n');
    }
    return new ByteArrayInputStream(text.toString().getBytes(StandardCharsets.US_ASCII));
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
