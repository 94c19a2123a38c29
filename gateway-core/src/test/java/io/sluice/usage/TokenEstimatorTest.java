package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The compact tokenizer counts exactly what jtokkit's {@code countTokensOrdinary} counts (jtokkit is
 * a runtime dependency anyway: its jar holds the vocabulary).
 */
class TokenEstimatorTest {
  private static Encoding jtokkit;
  private static Cl100kTokenizer tokenizer;

  @BeforeAll
  static void load() throws Exception {
    jtokkit = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);
    tokenizer = Cl100kTokenizer.load();
  }

  @Test
  void loadsTheWholeVocabulary() {
    assertThat(TokenEstimator.warmUp()).isTrue();
    assertThat(tokenizer.vocabulary().size()).isEqualTo(100_256);
    byte[] hello = "hello".getBytes(StandardCharsets.UTF_8);
    assertThat(tokenizer.vocabulary().rank(hello, 0, hello.length)).isEqualTo(jtokkit.encodeOrdinary("hello").get(0));
    byte[] none = "qzxqzxqzx".getBytes(StandardCharsets.UTF_8);
    assertThat(tokenizer.vocabulary().rank(none, 0, none.length)).isEqualTo(-1);
  }

  @Test
  void countsKnownTexts() {
    assertThat(TokenEstimator.count("Hello! How can I help you today?")).isEqualTo(9);
    assertThat(TokenEstimator.count("")).isZero();
    assertThat(TokenEstimator.count(null)).isZero();
  }

  @Test
  void countsWhatJtokkitCountsOnHandPickedTexts() {
    List<String> texts = List.of(
        "The quick brown fox jumps over the lazy dog. It's 5 o'clock somewhere, isn't it?",
        "public static void main(String[] args) {\n    System.out.println(\"hi\");\n}\n",
        "def f(x):\n\treturn {'a': x ** 2, \"b\": [1, 2, 3]}\r\n\r\n",
        "1234567890 3.14159 1,000,000 -42 0x7fffffff 1e-9 ½ ² ٣٤٥ 𝟘𝟙𝟚",
        "   \n\n    \t  x  \r\n  \u00a0\u3000 y\u2028z\u0085w   ",
        "I'm you'll they're we've she'd he's 'S 'T 'RE 'Ve 'LL 'ſ 'İ ’s don't",
        "日本語のテキストです。中文文本，한국어 텍스트",
        "👍🏽 👨‍👩‍👧 🎉🎉🎉 ❤️ text🙂text",
        "Mixed: Ελληνικά, русский, עברית, العربية, हिन्दी, ไทย",
        "<|endoftext|> <|fim_prefix|> <|endofprompt|>",
        "a".repeat(1000),
        "ab".repeat(700) + " " + "xyz".repeat(400),
        "Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
        "aGVsbG8gd29ybGQhIHRoaXMgaXMgYmFzZTY0IGVuY29kZWQgdGV4dA==".repeat(20),
        "....!!!???,,,;;;:::---___===+++***&&&^^^%%%$$$###@@@",
        "\n\n\n\n",
        " ",
        "\t");
    for (String text : texts) {
      assertThat(tokenizer.count(text)).as(text).isEqualTo(jtokkit.countTokensOrdinary(text));
    }
  }

  @Test
  void countsWhatJtokkitCountsOnSeededRandomText() {
    Random random = new Random(20261207L);
    for (int i = 0; i < 6000; i++) {
      String text = randomText(random, 1 + random.nextInt(i % 10 == 0 ? 600 : 80));
      assertThat(tokenizer.count(text)).as("case %d: %s", i, text).isEqualTo(jtokkit.countTokensOrdinary(text));
    }
  }

  @Test
  void countsWhatJtokkitCountsOnLongWords() {
    // One piece each, merged by the heap (longer than SCAN_LIMIT bytes) or by the scan.
    Random random = new Random(7L);
    String[] alphabets = {"ab", "abc", "etaoinshrdlu", "abcdefghijklmnopqrstuvwxyz", "éàüß", "日本語"};
    for (int i = 0; i < 400; i++) {
      String alphabet = alphabets[i % alphabets.length];
      int length = 2 + random.nextInt(i % 2 == 0 ? 120 : 1500);
      StringBuilder word = new StringBuilder(length);
      for (int k = 0; k < length; k++) {
        word.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      String text = word.toString();
      assertThat(tokenizer.count(text)).as(text).isEqualTo(jtokkit.countTokensOrdinary(text));
    }
  }

  @Test
  void scanAndHeapMergeAlike() {
    // Arbitrary bytes (not only UTF-8), so both merge loops meet every kind of pair.
    Random random = new Random(11L);
    for (int i = 0; i < 2000; i++) {
      int length = 2 + random.nextInt(300);
      byte[] piece = new byte[length];
      for (int k = 0; k < length; k++) {
        piece[k] = i % 2 == 0 ? (byte) random.nextInt(256) : (byte) "etaoin shrd".charAt(random.nextInt(11));
      }
      assertThat(tokenizer.mergeByHeap(piece, length)).isEqualTo(tokenizer.mergeByScan(piece, length));
    }
  }

  @Test
  void guardsTheMergeOrder() {
    // Words whose count depends on the order of the merges: merging the leftmost mergeable pair
    // first, or the highest rank first, or the rightmost of equal ranks, gives another count.
    for (String word : GUARD_WORDS) {
      byte[] b = word.getBytes(StandardCharsets.UTF_8);
      int expected = jtokkit.countTokensOrdinary(word);
      assertThat(tokenizer.count(word)).as(word).isEqualTo(expected);
      assertThat(tokenizer.mergeByScan(b, b.length)).as(word).isEqualTo(expected);
      assertThat(tokenizer.mergeByHeap(b, b.length)).as(word).isEqualTo(expected);
    }
    assertThat(GUARD_WORDS).as("each wrong order miscounts at least one guard word")
        .anyMatch(w -> wrongOrder(w, Order.LEFTMOST_FIRST) != jtokkit.countTokensOrdinary(w))
        .anyMatch(w -> wrongOrder(w, Order.HIGHEST_RANK_FIRST) != jtokkit.countTokensOrdinary(w))
        .anyMatch(w -> wrongOrder(w, Order.RIGHTMOST_OF_EQUALS) != jtokkit.countTokensOrdinary(w));
  }

  static final List<String> GUARD_WORDS = List.of(
      "unbelievably", "misunderstanding", "tokenization", "counterrevolutionaries", "strengths", "hahahahaha",
      "bbcbbb", "ollll", "eeseeees");

  enum Order { LEFTMOST_FIRST, HIGHEST_RANK_FIRST, RIGHTMOST_OF_EQUALS }

  /** Byte-pair merging in a wrong order, to show that the guard words tell the orders apart. */
  static int wrongOrder(String word, Order order) {
    byte[] b = word.getBytes(StandardCharsets.UTF_8);
    List<Integer> starts = new ArrayList<>();
    for (int i = 0; i <= b.length; i++) {
      starts.add(i);
    }
    BpeVocabulary v = tokenizer.vocabulary();
    while (true) {
      int at = -1;
      int chosen = -1;
      for (int k = 0; k + 2 < starts.size(); k++) {
        int rank = v.rank(b, starts.get(k), starts.get(k + 2));
        if (rank < 0) {
          continue;
        }
        boolean better = switch (order) {
          case LEFTMOST_FIRST -> at < 0;
          case HIGHEST_RANK_FIRST -> rank > chosen;
          case RIGHTMOST_OF_EQUALS -> at < 0 || rank <= chosen;
        };
        if (better) {
          at = k;
          chosen = rank;
        }
      }
      if (at < 0) {
        return starts.size() - 1;
      }
      starts.remove(at + 1);
    }
  }

  /** Random text from pools that exercise every branch of the split pattern. */
  static String randomText(Random random, int codePoints) {
    String[] pools = {
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " ",
        "  \t\n\r\u000b\u000c\u0085\u00a0\u1680\u2000\u2007\u200a\u2028\u2029\u202f\u205f\u3000\u200b\u180e\u001c",
        "'sdtmlvreSDTMLVREſİ’",
        ".,;:!?-_()[]{}<>\"/\\|@#$%^&*+=~`",
        "éèêëàâäçñößøåæœÉÀÇÑ",
        "αβγδεζηθλμπσωΑΒΓΔ",
        "абвгдежзийклмнопрстуфхцчшщыэюя",
        "日本語中文漢字かなカナ한국어",
        "½²³¼٠١٢٣٤ⅠⅡⅢ①②③",
        "\uD83D\uDE00\uD83D\uDC4D\uD83C\uDFFD\u200D\u2764\uFE0F\uD83C\uDF89\uD835\uDFCE\uD840\uDC00",
    };
    StringBuilder s = new StringBuilder();
    int pool = random.nextInt(pools.length);
    for (int i = 0; i < codePoints; i++) {
      if (random.nextInt(6) == 0) {
        pool = random.nextInt(pools.length + 1);
      }
      if (pool == pools.length) {
        // Any code point outside the surrogates.
        int cp;
        do {
          cp = random.nextInt(random.nextBoolean() ? 0x3000 : Character.MAX_CODE_POINT + 1);
        } while (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE);
        s.appendCodePoint(cp);
      } else {
        String p = pools[pool];
        int at = random.nextInt(p.length());
        if (Character.isHighSurrogate(p.charAt(at))) {
          s.append(p, at, at + 2);
        } else if (Character.isLowSurrogate(p.charAt(at))) {
          s.append(p, at - 1, at + 1);
        } else {
          s.append(p.charAt(at));
        }
      }
    }
    return s.toString();
  }
}
