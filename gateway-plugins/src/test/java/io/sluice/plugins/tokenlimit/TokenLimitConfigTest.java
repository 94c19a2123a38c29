package io.sluice.plugins.tokenlimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.sluice.config.ConfigException;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Bad {@code ai-token-ratelimit} configs, with the exact messages the user sees. */
class TokenLimitConfigTest {
  private static final String P = "routes[0].plugins.ai-token-ratelimit";

  static Stream<Arguments> badConfigs() {
    return Stream.of(
        arguments("{}", List.of(P + ".rules: required")),
        arguments("{ rules: [] }", List.of(P + ".rules: must not be empty")),
        arguments("{ rules: [ { tokens-per-minute: 10 } ] }", List.of(P + ".rules[0].limit-by: required")),
        arguments("{ rules: [ { limit-by: user, tokens-per-minute: 10 } ] }",
            List.of(P + ".rules[0].limit-by: expected consumer, ip, header:NAME, query:NAME or cookie:NAME (got 'user')")),
        arguments("{ rules: [ { limit-by: 'header:', tokens-per-minute: 10 } ] }",
            List.of(P + ".rules[0].limit-by: expected consumer, ip, header:NAME, query:NAME or cookie:NAME (got 'header:')")),
        arguments("{ rules: [ { limit-by: ip } ] }",
            List.of(P + ".rules[0]: one of tokens-per-second, tokens-per-minute, tokens-per-hour or tokens-per-day is required")),
        arguments("{ rules: [ { limit-by: ip, tokens-per-minute: 10, tokens-per-hour: 100 } ] }",
            List.of(P + ".rules[0]: tokens-per-minute cannot be combined with tokens-per-hour in one rule")),
        arguments("{ rules: [ { limit-by: ip, tokens-per-minute: 0 } ] }",
            List.of(P + ".rules[0].tokens-per-minute: expected an integer 1..1125899906842624 (got 0)")),
        arguments("{ rules: [ { limit-by: ip, tokens-per-day: 10, overrides: { 10.0.0.1: -1 } } ] }",
            List.of(P + ".rules[0].overrides.10.0.0.1: expected an integer 0..1125899906842624 (got -1)")),
        arguments("{ rules: [ { limit-by: ip, tokens-per-day: 10, burst: 5 } ] }",
            List.of(P + ".rules[0].burst: unknown key (expected one of: limit-by, tokens-per-second, tokens-per-minute, tokens-per-hour, tokens-per-day, overrides)")),
        arguments("{ rules: [ { limit-by: ip, tokens-per-day: 10 } ], enforce: always }",
            List.of(P + ".enforce: expected at-end or mid-stream (got 'always')")),
        arguments("{ rules: [ { limit-by: ip, tokens-per-day: 10 } ], default-max-tokens: 0 }",
            List.of(P + ".default-max-tokens: expected an integer 1..10000000 (got 0)")),
        arguments("{ rules: [ { limit-by: ip, tokens-per-day: 10 } ], store: 'memcached://x:1' }",
            List.of(P + ".store: expected local, redis://host:port or rediss://host:port (got 'memcached://x:1')")));
  }

  @ParameterizedTest
  @MethodSource("badConfigs")
  void reportsBadConfig(String yaml, List<String> errors) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> TokenLimits.parse(yaml));
    assertThat(e).as("config should be refused: " + yaml).isNotNull();
    assertThat(e.errors()).containsExactlyElementsOf(errors);
  }

  @Test
  void defaultsAreAtEndLocalAndNoOwnMaxTokens() throws Exception {
    var plugin = TokenLimits.parse("{ rules: [ { limit-by: consumer, tokens-per-minute: 10 } ] }")
        .routes().get(0).plugins().get(0);
    TokenLimitSettings s = (TokenLimitSettings) plugin.settings();
    assertThat(s.defaultMaxTokens()).as("none: the route's default-max-tokens, else 1024").isZero();
    assertThat(s.midStream()).isFalse();
    assertThat(s.store()).isNull();
  }

  @Test
  void midStreamIsAccepted() throws Exception {
    var plugin = TokenLimits.parse("{ rules: [ { limit-by: ip, tokens-per-minute: 10 } ], enforce: mid-stream }")
        .routes().get(0).plugins().get(0);
    assertThat(((TokenLimitSettings) plugin.settings()).midStream()).isTrue();
  }
}
