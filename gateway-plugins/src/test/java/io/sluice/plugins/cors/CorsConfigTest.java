package io.sluice.plugins.cors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.plugin.PluginRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code cors} settings: defaults, normalisation and every bad case with its exact message. */
class CorsConfigTest {
  private static final Map<String, String> ENV = Map.of("APP_ORIGIN", "https://app.example");
  private static final String P = "routes[0].plugins.cors";
  private static final String ORIGIN_FORM =
      "expected an origin such as https://app.example (scheme://host[:port], no path) or \"*\"";

  private static String config(String plugin) {
    return """
        listeners: [ { name: public, port: 8080 } ]
        upstreams: [ { name: models, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: models
            plugins:
              cors: %s
        """.formatted(plugin);
  }

  private static CorsSettings parse(String plugin) throws ConfigException {
    GatewayConfig c = new ConfigLoader(ENV::get, PluginRegistry.of(List.of(new CorsFactory())))
        .parse(config(plugin), Path.of("."));
    return (CorsSettings) c.routes().get(0).plugins().get(0).settings();
  }

  static Stream<Arguments> badSettings() {
    return Stream.of(
        arguments("", List.of(P + ": expected a map with allow-origins")),
        arguments("{}", List.of(P + ".allow-origins: required")),
        arguments("{ allow-origins: [] }", List.of(P + ".allow-origins: must not be empty (list the origins, or \"*\")")),
        arguments("{ allow-origins: https://app.example }", List.of(P + ".allow-origins: expected a list")),
        arguments("{ allow-origins: [ 'https://app.example/', app.example, 'https://a.example/x?y', '' ] }", List.of(
            P + ".allow-origins[0]: " + ORIGIN_FORM + " (got 'https://app.example/')",
            P + ".allow-origins[1]: " + ORIGIN_FORM + " (got 'app.example')",
            P + ".allow-origins[2]: " + ORIGIN_FORM + " (got 'https://a.example/x?y')",
            P + ".allow-origins[3]: must not be empty")),
        arguments("{ allow-origins: [ '*', 'https://app.example' ] }",
            List.of(P + ".allow-origins: \"*\" allows every origin and cannot be combined with other origins")),
        arguments("{ allow-origins: [ '*' ], allow-credentials: true }", List.of(P + ".allow-credentials: cannot be"
            + " true when allow-origins is \"*\" (browsers refuse credentials with a wildcard origin; list the origins instead)")),
        arguments("{ allow-origins: [ 'https://app.example' ], allow-credentials: yes please }",
            List.of(P + ".allow-credentials: expected true or false")),
        arguments("{ allow-origins: [ 'https://app.example' ], allow-methods: [], max-age: 10 }", List.of(
            P + ".allow-methods: must not be empty",
            P + ".max-age: expected a duration such as 250ms, 30s, 5m, 1h (got 10)")),
        arguments("{ allow-origins: [ 'https://app.example' ], allow-methods: [ 'GET POST' ], allow-headers: [ 'X:Y' ], expose-headers: [ 'a b' ] }", List.of(
            P + ".allow-methods[0]: expected an HTTP method such as POST (got 'GET POST')",
            P + ".allow-headers[0]: expected a header name (got 'X:Y')",
            P + ".expose-headers[0]: expected a header name (got 'a b')")),
        arguments("{ allow-origins: [ 'https://app.example' ], allow-origin: [ x ] }", List.of(P + ".allow-origin:"
            + " unknown key (expected one of: allow-origins, allow-methods, allow-headers, expose-headers, allow-credentials, max-age)")));
  }

  @ParameterizedTest(name = "cors: [{0}]")
  @MethodSource("badSettings")
  void reportsEveryProblemWithItsPath(String plugin, List<String> expected) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(plugin));
    assertThat(e).as("config error").isNotNull();
    assertThat(e.errors()).containsExactlyElementsOf(expected);
  }

  @Test
  void fillsTheDefaults() throws Exception {
    CorsSettings s = parse("{ allow-origins: [ 'https://app.example' ] }");
    assertThat(s).isEqualTo(new CorsSettings(List.of("https://app.example"), List.of("GET", "POST", "OPTIONS"),
        List.of("Authorization", "Content-Type", "Last-Event-ID", "X-Request-Id"),
        CorsFactory.DEFAULT_EXPOSE_HEADERS, false, Duration.ofMinutes(10)));
  }

  @Test
  void addsExtraAllowHeadersToTheDefaultsAndNormalisesOrigins() throws Exception {
    CorsSettings s = parse("{ allow-origins: [ 'HTTPS://App.Example:443', '${APP_ORIGIN}', 'http://localhost:3000',"
        + " 'http://[::1]:8080' ], allow-headers: [ x-tenant, authorization ], expose-headers: [ x-request-id ],"
        + " allow-methods: [ POST ], allow-credentials: true, max-age: 1h }");
    assertThat(s.allowOrigins()).containsExactly("https://app.example", "http://localhost:3000", "http://[::1]:8080");
    assertThat(s.allowHeaders()).containsExactly("Authorization", "Content-Type", "Last-Event-ID", "X-Request-Id", "x-tenant");
    assertThat(s.exposeHeaders()).containsExactly("x-request-id");
    assertThat(s.allowMethods()).containsExactly("POST");
    assertThat(s.allowCredentials()).isTrue();
    assertThat(s.maxAge()).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void aWildcardAlone() throws Exception {
    assertThat(parse("{ allow-origins: [ '*' ] }").anyOrigin()).isTrue();
  }
}
