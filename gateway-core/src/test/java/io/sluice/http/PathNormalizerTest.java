package io.sluice.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.http.PathNormalizer.BadPathException;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PathNormalizerTest {

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', textBlock = """
      /                       | /
      //                      | /
      /v1/chat/completions    | /v1/chat/completions
      /a//b                   | /a/b
      /a///b//                | /a/b/
      /a/./b/../c             | /a/c
      /a/b/                   | /a/b/
      /a/b/.                  | /a/b/
      /a/b/..                 | /a/
      /a/..                   | /
      /./a                    | /a
      /a/b/../../c            | /c
      /v1/models/gpt-4o%3Amini | /v1/models/gpt-4o%3Amini
      /a/..b/.c               | /a/..b/.c
      """)
  void normalisesDotSegmentsAndRepeatedSlashes(String raw, String expected) throws BadPathException {
    assertThat(PathNormalizer.normalize(raw)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/v1/chat/completions", "/a/b/", "/v1/models/gpt-4o%3Amini"}) // "/" is a constant
  void returnsAnAlreadyNormalPathAsTheStringReceived(String raw) throws BadPathException {
    String received = new String(raw); // not the interned literal: a request's own string
    assertThat(PathNormalizer.normalize(received)).isSameAs(received);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"//", "/a//b", "/a/./b"})
  void returnsANewStringForAPathItChanged(String raw) throws BadPathException {
    assertThat(PathNormalizer.normalize(raw)).isNotEqualTo(raw);
  }

  @ParameterizedTest(name = "[{index}] \"{0}\"")
  @ValueSource(strings = {
      "/v1%2Fchat", "/v1%2fchat", "/v1/%2E%2E/admin", "/v1/%2e%2e/admin", "/v1/%2E/x",
      "/v1%5Cadmin", "/v1%5cadmin", "/v1\\admin", "/..", "/../x", "/a/../../x", "/a/./../..",
      "", "v1/chat", "*", "/v1/chat completions", "/v1/\tx", "/v1/\u0000x", "/v1/\u007fx",
      "/v1/chat\r\nx", "/v1#frag"})
  void refusesPathsThatCouldReachAnotherRoute(String raw) {
    assertThatThrownBy(() -> PathNormalizer.normalize(raw)).isInstanceOf(BadPathException.class);
  }

  /**
   * The shortcut for an already normal path against the general resolution, over every path of up
   * to six characters from the alphabet that matters ({@code /}, {@code .}, a letter) and random
   * longer ones: it may only say "normal" where resolving returns the path unchanged.
   */
  @Test
  void theAlreadyNormalShortcutAgreesWithTheGeneralResolution() {
    char[] alphabet = {'/', '.', 'a'};
    int checked = 0;
    for (int length = 0; length <= 6; length++) {
      int combinations = (int) Math.pow(alphabet.length, length);
      for (int c = 0; c < combinations; c++) {
        StringBuilder path = new StringBuilder("/");
        for (int i = 0, rest = c; i < length; i++, rest /= alphabet.length) {
          path.append(alphabet[rest % alphabet.length]);
        }
        checkShortcut(path.toString());
        checked++;
      }
    }
    Random random = new Random(7);
    char[] wider = {'/', '/', '.', '.', 'a', 'b', '-', '%', '3', 'A'};
    for (int n = 0; n < 20_000; n++) {
      StringBuilder path = new StringBuilder("/");
      for (int i = random.nextInt(24); i > 0; i--) {
        path.append(wider[random.nextInt(wider.length)]);
      }
      checkShortcut(path.toString());
      checked++;
    }
    assertThat(checked).isGreaterThan(20_000);
  }

  private static void checkShortcut(String path) {
    String resolved;
    try {
      resolved = PathNormalizer.resolve(path);
    } catch (BadPathException e) {
      assertThat(PathNormalizer.alreadyNormal(path)).as(path).isFalse(); // climbs above the root
      return;
    }
    assertThat(PathNormalizer.alreadyNormal(path)).as(path).isEqualTo(resolved.equals(path));
  }
}
