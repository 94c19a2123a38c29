package io.sluice.config;

import static io.sluice.testing.RandomInputs.anyString;
import static io.sluice.testing.RandomInputs.list;
import static io.sluice.testing.RandomInputs.pick;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.RandomInputs;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded randomized property test of the config loader: random YAML-ish text — real keys and
 * values in random shapes, broken indentation, stray characters — is either a config or a
 * {@link ConfigException} whose every error is one readable line. Never another exception, never
 * a Java-ism in a message, never a secret's value. One case per seed (see {@link RandomInputs}).
 */
class ConfigLoaderPropertiesTest {
  private static final int CASES = 500;
  private static final String SECRET = "secret-value-123";
  private static final ConfigLoader LOADER = new ConfigLoader(Map.of("KEY", SECRET)::get, PluginCatalog.NONE);

  /** Fragments a config is made of: real keys, values of every type, and broken syntax. */
  private static final List<String> TOKENS = List.of(
      "listeners:", "routes:", "upstreams:", "limits:", "admin:", "consumers:", "shutdown:", "io-threads:",
      "- name: a", "- name: b", "name:", "port:", "host:", "endpoints:", "url:", "match:", "path-prefix:",
      "path:", "methods:", "upstream:", "plugins:", "key-auth:", "jwt-auth:", "rate-limit:", "ip-restriction:",
      "tls:", "max-request-body:", "request-header-timeout:", "request-body-timeout:", "timeout:", "sse:",
      "heartbeat:", "weight:", "retries:", "health-check:", "api-keys:", "headers:", "token:",
      "0", "-1", "65536", "8080", "1.5", "10s", "0s", "5m", "-3s", "10MiB", "1KB", "true", "no", "null", "~",
      "\"${KEY}\"", "\"${MISSING}\"", "\"${file:/nonexistent}\"", "${", "http://127.0.0.1:9", "ftp://x",
      "/v1/chat", "[POST]", "[", "]", "{", "}", "{ url: http://x }", "[1, 2]", "&a", "*a", "!!binary", "|",
      ">", "'", "\"", "#", ",", ":", "- ", "?", "%", "@", "`", "\t", "é", "\u0000");
  /** Indentation, unindented twice as often, with an odd one-space indent among them. */
  private static final List<String> INDENTS = List.of("", "", "  ", "    ", "      ", " ");

  static LongStream seeds() {
    return RandomInputs.seeds(CASES);
  }

  /** Up to 25 lines, each an indent and up to 3 tokens; half the tokens real, half up to 6 random characters. */
  private static String yamlish(Random random) {
    List<String> lines = list(random, 0, 25, line -> pick(line, INDENTS)
        + String.join(" ", list(line, 0, 3, t -> t.nextBoolean() ? pick(t, TOKENS) : anyString(t, 6))));
    return String.join("\n", lines);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void randomTextIsAConfigOrReadableErrors(long seed) {
    String text = yamlish(RandomInputs.random(seed));
    try {
      LOADER.parse(text, Path.of("."));
    } catch (ConfigException e) {
      assertThat(e.errors()).as("seed %d: at least one error for %s", seed, text).isNotEmpty();
      for (String error : e.errors()) {
        assertThat(error).as("seed %d: an error of %s", seed, text).isNotBlank()
            .doesNotContain("Exception", "\tat ", "java.", "com.fasterxml", "null:");
        assertThat(error).as("seed %d: no secret value in an error", seed).doesNotContain(SECRET);
      }
    } catch (RuntimeException e) {
      throw new AssertionError("seed " + seed + ": not a ConfigException for " + text, e);
    }
  }
}
