package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzing the config loader: random YAML-ish text — real keys and values in random shapes,
 * broken indentation, stray characters — is either a config or a {@link ConfigException} whose
 * every error is one readable line. Never another exception, never a Java-ism in a message.
 */
class ConfigLoaderProperties {
  private static final ConfigLoader LOADER = new ConfigLoader(Map.of("KEY", "secret-value-123")::get);

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

  @Provide
  Arbitrary<String> yamlish() {
    Arbitrary<String> token = Arbitraries.oneOf(Arbitraries.of(TOKENS),
        Arbitraries.strings().ofMaxLength(6));
    Arbitrary<String> indent = Arbitraries.of("", "", "  ", "    ", "      ", " ");
    Arbitrary<String> line = net.jqwik.api.Combinators.combine(indent, token.list().ofMaxSize(3))
        .as((i, parts) -> i + String.join(" ", parts));
    return line.list().ofMaxSize(25).map(lines -> String.join("\n", lines));
  }

  @Property(tries = 500)
  void randomTextIsAConfigOrReadableErrors(@ForAll("yamlish") String text) {
    try {
      LOADER.parse(text, Path.of("."));
    } catch (ConfigException e) {
      assertThat(e.errors()).as("at least one error for %s", text).isNotEmpty();
      for (String error : e.errors()) {
        assertThat(error).as("an error of %s", text).isNotBlank()
            .doesNotContain("Exception", "\tat ", "java.", "com.fasterxml", "null:");
        assertThat(error).as("no secret value in an error").doesNotContain("secret-value-123");
      }
    }
  }
}
