package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code logging.level}: levels by logger, validated like every other key (exact messages, full paths). */
class LoggingConfigTest {
  private static final String BASE = """
      listeners: [ { name: public, port: 8080 } ]
      upstreams: [ { name: chat-pool, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]
      """;

  private static GatewayConfig parse(String yaml) throws ConfigException {
    return new ConfigLoader(name -> null, PluginCatalog.NONE).parse(BASE + yaml, null);
  }

  @Test
  void readsLevelsByLoggerInTheOrderWritten() throws Exception {
    GatewayConfig config = parse("""
        logging:
          level:
            root: WARN
            io.sluice.upstream: debug
            io.sluice.relay.ProxyCall: trace
            sluice.access: off
        """);
    assertThat(config.logging().levels()).containsExactly(
        Map.entry("root", "warn"),
        Map.entry("io.sluice.upstream", "debug"),
        Map.entry("io.sluice.relay.ProxyCall", "trace"),
        Map.entry("sluice.access", "off"));
  }

  @Test
  void noLoggingKeyMeansNoLevels() throws Exception {
    assertThat(parse("").logging()).isEqualTo(LoggingConfig.DEFAULTS);
    assertThat(parse("logging: {}\n").logging().levels()).isEmpty();
    assertThat(parse("logging: { level: {} }\n").logging().levels()).isEmpty();
  }

  @Test
  void aQuotedOffIsOffToo() throws Exception {
    // Bare `off` is YAML 1.1's boolean false; quoted, it is the string. Both mean the level.
    assertThat(parse("logging: { level: { io.netty: 'off' } }\n").logging().levels()).containsEntry("io.netty", "off");
  }

  static Stream<Arguments> badLogging() {
    return Stream.of(
        arguments("logging: [ debug ]\n", List.of("logging: expected a map")),
        arguments("logging: { levels: { root: info } }\n", List.of("logging.levels: unknown key (expected one of: level)")),
        arguments("logging: { level: debug }\n", List.of("logging.level: expected a map")),
        arguments("logging: { level: { root: verbose } }\n",
            List.of("logging.level.root: expected one of: trace, debug, info, warn, error, off (got 'verbose')")),
        arguments("logging: { level: { io.sluice: 3 } }\n", List.of("logging.level.io.sluice: expected a string")),
        arguments("logging: { level: { io.sluice: } }\n",
            List.of("logging.level.io.sluice: expected a level: trace, debug, info, warn, error, off")),
        arguments("logging: { level: { 'io..sluice': debug, 'a b': info } }\n", List.of(
            "logging.level.io..sluice: not a logger name (expected root, or a package or class such as io.sluice.upstream)",
            "logging.level.a b: not a logger name (expected root, or a package or class such as io.sluice.upstream)")));
  }

  @ParameterizedTest
  @MethodSource("badLogging")
  void refusesWhatIsNotALevelOrALoggerNamingThePath(String yaml, List<String> expected) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
    assertThat(e).as("config should be refused:%n%s", yaml).isNotNull();
    assertThat(e.errors()).containsExactlyElementsOf(expected);
  }
}
