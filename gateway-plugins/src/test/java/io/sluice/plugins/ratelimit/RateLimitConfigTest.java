package io.sluice.plugins.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.plugin.PluginRegistry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code rate-limit} settings: both forms, defaults, and the exact messages for bad ones. */
class RateLimitConfigTest {
  private static final Map<String, String> ENV = Map.of("RPS", "2.5");

  private static String config(String plugin) {
    return """
        listeners: [ { name: public, port: 8080 } ]
        upstreams: [ { name: models, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: models
            plugins:
              rate-limit: %s
        """.formatted(plugin);
  }

  private static GatewayConfig parse(String yaml) throws ConfigException {
    return new ConfigLoader(ENV::get, PluginRegistry.of(List.of(new RateLimitFactory()))).parse(yaml, Path.of("."));
  }

  private static List<RateLimitSettings.Rule> rules(String plugin) throws ConfigException {
    return ((RateLimitSettings) parse(config(plugin)).routes().get(0).plugins().get(0).settings()).rules();
  }

  @Test
  void readsTheDocumentedExample() throws Exception {
    assertThat(rules("{ limit-by: ip, requests-per-second: 50, burst: 100 }")).containsExactly(
        new RateLimitSettings.Rule(new LimitBy(LimitBy.Kind.IP, null), 50, 100));
  }

  @Test
  void defaultsTheBurstToTheRateRoundedUpAndAtLeastOne() throws Exception {
    assertThat(rules("{ limit-by: consumer, requests-per-second: 10 }").get(0).burst()).isEqualTo(10);
    assertThat(rules("{ limit-by: consumer, requests-per-second: 2.5 }").get(0).burst()).isEqualTo(3);
    assertThat(rules("{ limit-by: consumer, requests-per-second: 0.2 }").get(0).burst()).isEqualTo(1);
    assertThat(rules("{ limit-by: consumer, requests-per-second: '${RPS}' }").get(0).requestsPerSecond())
        .isEqualTo(2.5);
  }

  @Test
  void readsEveryKeyForm() throws Exception {
    assertThat(rules("""
        { rules: [ { limit-by: "header:X-User", requests-per-second: 1 },
                   { limit-by: "query:user", requests-per-second: 1 },
                   { limit-by: "cookie:session", requests-per-second: 1 } ] }""")
        .stream().map(r -> r.limitBy().toString()))
        .containsExactly("header:x-user", "query:user", "cookie:session");
  }

  static Stream<Arguments> badSettings() {
    String p = "routes[0].plugins.rate-limit";
    String form = "expected consumer, ip, header:NAME, query:NAME or cookie:NAME";
    return Stream.of(
        arguments("", List.of(p + ": expected a map with limit-by and requests-per-second (and optionally burst), or rules: [ … ]")),
        arguments("50", List.of(p + ": expected a map")),
        arguments("{}", List.of(p + ".limit-by: required", p + ".requests-per-second: required")),
        arguments("{ limit-by: user, requests-per-second: 1 }", List.of(p + ".limit-by: " + form + " (got 'user')")),
        arguments("{ limit-by: 'header:', requests-per-second: 1 }", List.of(p + ".limit-by: " + form + " (got 'header:')")),
        arguments("{ limit-by: 'header:x user', requests-per-second: 1 }",
            List.of(p + ".limit-by: " + form + " (got 'header:x user')")),
        arguments("{ limit-by: 'body:x', requests-per-second: 1 }", List.of(p + ".limit-by: " + form + " (got 'body:x')")),
        arguments("{ limit-by: ip, requests-per-second: 0 }", List.of(p + ".requests-per-second: expected a number > 0 (got 0)")),
        arguments("{ limit-by: ip, requests-per-second: -1.5 }",
            List.of(p + ".requests-per-second: expected a number > 0 (got -1.5)")),
        arguments("{ limit-by: ip, requests-per-second: fast }",
            List.of(p + ".requests-per-second: expected a number > 0 (got 'fast')")),
        arguments("{ limit-by: ip, requests-per-second: 1, burst: 0 }", List.of(p + ".burst: expected an integer >= 1 (got 0)")),
        arguments("{ limit-by: ip, requests-per-second: 1, burst: 1.5 }", List.of(p + ".burst: expected an integer")),
        arguments("{ limit-by: ip, requests-per-second: 1, window: 1s }",
            List.of(p + ".window: unknown key (expected one of: rules, limit-by, requests-per-second, burst)")),
        arguments("{ rules: [] }", List.of(p + ".rules: must not be empty")),
        arguments("{ rules: { limit-by: ip } }", List.of(p + ".rules: expected a list")),
        arguments("{ limit-by: ip, rules: [ { limit-by: ip, requests-per-second: 1 } ] }",
            List.of(p + ": 'rules' cannot be combined with 'limit-by' (put every rule in the list)")),
        arguments("{ rules: [ { limit-by: ip, requests-per-second: 1 }, { limit-by: nope, requests-per-second: 1, burst: -2 }, 7 ] }",
            List.of(p + ".rules[1].limit-by: " + form + " (got 'nope')",
                p + ".rules[1].burst: expected an integer >= 1 (got -2)",
                p + ".rules[2]: expected a map")));
  }

  @ParameterizedTest
  @MethodSource("badSettings")
  void reportsBadSettingsWithTheirPath(String plugin, List<String> errors) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(config(plugin)));
    assertThat(e).as("config should be refused").isNotNull();
    assertThat(e.errors()).containsExactlyElementsOf(errors);
  }
}
