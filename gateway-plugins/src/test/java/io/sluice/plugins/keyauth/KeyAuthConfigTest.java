package io.sluice.plugins.keyauth;

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
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code key-auth} settings: what is accepted, and the exact messages for what is not. */
class KeyAuthConfigTest {
  private static final Map<String, String> ENV = Map.of("ALICE_KEY", "sk-alice", "BOB_KEY", "sk-bob");

  private static String config(String plugin) {
    return """
        listeners: [ { name: public, port: 8080 } ]
        upstreams: [ { name: models, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]
        consumers:
          - { name: alice, api-keys: [ "${ALICE_KEY}" ] }
          - { name: bob, api-keys: [ "${BOB_KEY}" ] }
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: models
            plugins:
              key-auth: %s
        """.formatted(plugin);
  }

  private static GatewayConfig parse(String yaml) throws ConfigException {
    return new ConfigLoader(ENV::get, PluginRegistry.of(List.of(new KeyAuthFactory()))).parse(yaml, Path.of("."));
  }

  private static KeyAuthSettings settings(String plugin) throws ConfigException {
    return (KeyAuthSettings) parse(config(plugin)).routes().get(0).plugins().get(0).settings();
  }

  @Test
  void acceptsAnEmptyMapAsAnyConsumer() throws Exception {
    assertThat(settings("{}").allow()).isEmpty();
    assertThat(settings("").allow()).isEmpty();
  }

  @Test
  void readsTheAllowList() throws Exception {
    assertThat(settings("{ allow: [alice, bob] }").allow()).isEqualTo(Set.of("alice", "bob"));
  }

  static Stream<Arguments> badSettings() {
    String p = "routes[0].plugins.key-auth";
    return Stream.of(
        arguments("{ allow: [alice, carol] }",
            List.of(p + ".allow[1]: 'carol' is not a declared consumer (expected one of: alice, bob)")),
        arguments("{ allow: [dave, alice, '', erin] }", List.of(
            p + ".allow[0]: 'dave' is not a declared consumer (expected one of: alice, bob)",
            p + ".allow[2]: must not be empty",
            p + ".allow[3]: 'erin' is not a declared consumer (expected one of: alice, bob)")),
        arguments("{ allow: alice }", List.of(p + ".allow: expected a list")),
        arguments("{ allow: [] }", List.of(p + ".allow: must not be empty (omit allow to accept every consumer)")),
        arguments("{ allow: [alice], header: x-key }", List.of(p + ".header: unknown key (expected one of: allow)")),
        arguments("[alice]", List.of(p + ": expected a map")));
  }

  @ParameterizedTest
  @MethodSource("badSettings")
  void reportsBadSettingsWithTheirPath(String plugin, List<String> errors) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(config(plugin)));
    assertThat(e).as("config should be refused").isNotNull();
    assertThat(e.errors()).containsExactlyElementsOf(errors);
  }

  @Test
  void namesNoConsumersWhenNoneAreDeclared() {
    String yaml = config("{ allow: [alice] }").replaceAll("(?s)consumers:.*?routes:", "routes:");
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml));
    assertThat(e.errors()).containsExactly(
        "routes[0].plugins.key-auth.allow[0]: 'alice' is not a declared consumer (no consumers are declared)");
  }
}
