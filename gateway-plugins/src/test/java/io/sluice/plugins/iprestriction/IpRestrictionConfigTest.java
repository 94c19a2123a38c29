package io.sluice.plugins.iprestriction;

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

/** Bad {@code ip-restriction} settings, with the exact messages a user sees. */
class IpRestrictionConfigTest {
  private static final Map<String, String> ENV = Map.of("DENY", "10.6.6.0/24");

  private static String config(String plugin) {
    return """
        listeners: [ { name: public, port: 8080 } ]
        upstreams: [ { name: models, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: models
            plugins:
              ip-restriction: %s
        """.formatted(plugin);
  }

  private static GatewayConfig parse(String yaml) throws ConfigException {
    return new ConfigLoader(ENV::get, PluginRegistry.of(List.of(new IpRestrictionFactory())))
        .parse(yaml, Path.of("."));
  }

  static Stream<Arguments> badSettings() {
    String p = "routes[0].plugins.ip-restriction";
    return Stream.of(
        arguments("{}", List.of(p + ": needs allow or deny (a list of IPv4/IPv6 networks); with neither it would let everyone in")),
        arguments("", List.of(p + ": expected a map with allow and/or deny (lists of IPv4/IPv6 networks)")),
        arguments("{ allow: 10.0.0.0/8 }", List.of(p + ".allow: expected a list")),
        arguments("{ allow: [10.0.0.0/8, 127.0.0.1, 10.1.2.3/33, not-an-ip], deny: ['::1/129', ''] }", List.of(
            p + ".allow[2]: the prefix length must be 0..32 (got '10.1.2.3/33')",
            p + ".allow[3]: expected an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32 (got 'not-an-ip')",
            p + ".deny[0]: the prefix length must be 0..128 (got '::1/129')",
            p + ".deny[1]: must not be empty")),
        arguments("{ allow: [ { cidr: 10.0.0.0/8 } ] }", List.of(p + ".allow[0]: expected a string")),
        arguments("{ deny: [ 10.0.0.0/x ] }", List.of(p + ".deny[0]: the prefix length must be 0..32 (got '10.0.0.0/x')")),
        arguments("{ allow: [10.0.0.0/8], denny: [10.6.6.0/24] }", List.of(p + ".denny: unknown key (expected one of: allow, deny)")));
  }

  @ParameterizedTest(name = "ip-restriction: [{0}]")
  @MethodSource("badSettings")
  void reportsEveryProblemWithItsPath(String plugin, List<String> expected) {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(config(plugin)));
    assertThat(e).as("config error").isNotNull();
    assertThat(e.errors()).containsExactlyElementsOf(expected);
  }

  @Test
  void acceptsIpv4Ipv6AndSubstitutedNetworks() throws Exception {
    GatewayConfig c = parse(config("{ allow: [127.0.0.0/8, '::1', '2001:db8::/32', 10.1.2.3], deny: ['${DENY}'] }"));
    Object settings = c.routes().get(0).plugins().get(0).settings();
    assertThat(settings).isEqualTo(new IpRestrictionSettings(
        List.of("127.0.0.0/8", "::1", "2001:db8::/32", "10.1.2.3"), List.of("10.6.6.0/24")));
  }

  @Test
  void anEmptyAllowListWithADenyListIsFine() throws Exception {
    GatewayConfig c = parse(config("{ allow: [], deny: [10.6.6.0/24] }"));
    assertThat(c.routes().get(0).plugins()).hasSize(1);
  }
}
