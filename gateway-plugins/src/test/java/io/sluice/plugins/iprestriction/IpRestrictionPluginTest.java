package io.sluice.plugins.iprestriction;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.plugin.Decision;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.testing.FakeRequest;
import io.sluice.testing.FakeServices;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class IpRestrictionPluginTest {
  private final FakeServices services = new FakeServices();

  private Plugin plugin(List<String> allow, List<String> deny) {
    return new IpRestrictionFactory().create(new IpRestrictionSettings(allow, deny), services);
  }

  private static Decision decide(Plugin plugin, String ip) {
    return plugin.onRequest(new FakeRequest().route("chat").clientIp(ip)).toCompletableFuture().join();
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "127.0.0.1, true",
      "10.1.2.3, true",
      "10.6.6.7, false",          // denied inside an allowed network: deny wins
      "10.6.7.1, true",
      "192.168.1.1, false",       // outside the allow list
      "2001:db8::1, true",
      "2001:db8:0:6::1, false",   // IPv6 deny inside IPv6 allow
      "2001:db9::1, false",
      "::ffff:10.1.2.3, true",    // IPv4-mapped IPv6 is looked up as IPv4
      "::ffff:10.6.6.1, false",
      "fe80::1%eth0, false",
      "not-an-ip, false",
      "unknown, false"})
  void denyWinsOverAllow(String ip, boolean allowed) {
    Plugin p = plugin(List.of("127.0.0.0/8", "10.0.0.0/8", "2001:db8::/32"),
        List.of("10.6.6.0/24", "2001:db8:0:6::/64"));
    assertThat(decide(p, ip) instanceof Decision.Proceed).isEqualTo(allowed);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
      "127.0.0.1, true",
      "10.6.6.7, false",
      "::1, true",
      "2001:db8::5, false",
      "not-an-ip, false"})
  void anAbsentAllowListAllowsEveryAddressNotDenied(String ip, boolean allowed) {
    Plugin p = plugin(List.of(), List.of("10.6.6.0/24", "2001:db8::5"));
    assertThat(decide(p, ip) instanceof Decision.Proceed).isEqualTo(allowed);
  }

  @Test
  void refusesWith403IpDeniedAndCountsIt() {
    Decision d = decide(plugin(List.of("10.0.0.0/8"), List.of()), "192.0.2.1");
    assertThat(d).isInstanceOfSatisfying(Decision.Reject.class, r -> {
      assertThat(r.status()).isEqualTo(403);
      assertThat(r.type()).isEqualTo("permission_error");
      assertThat(r.code()).isEqualTo("ip_denied");
      assertThat(r.message()).doesNotContain("192.0.2.1");
      assertThat(r.headers()).isEmpty();
    });
    assertThat(services.authFailures).containsExactly("chat/ip-restriction/ip_denied");
  }

  @Test
  void aSingleAddressIsAHostNetwork() {
    Plugin p = plugin(List.of(), List.of("127.0.0.1", "::1"));
    assertThat(decide(p, "127.0.0.1")).isInstanceOf(Decision.Reject.class);
    assertThat(decide(p, "127.0.0.2")).isInstanceOf(Decision.Proceed.class);
    assertThat(decide(p, "0:0:0:0:0:0:0:1")).isInstanceOf(Decision.Reject.class);
    assertThat(services.authFailures).hasSize(2);
  }

  @Test
  void runsInAccessBeforeCors() {
    IpRestrictionFactory f = new IpRestrictionFactory();
    assertThat(f.name()).isEqualTo("ip-restriction");
    assertThat(f.phase()).isEqualTo(Phase.ACCESS);
    assertThat(f.priority()).isEqualTo(1000);
  }
}
