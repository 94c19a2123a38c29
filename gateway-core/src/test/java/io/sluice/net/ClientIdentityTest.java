package io.sluice.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ClientIdentityTest {
  private final ClientIdentity identity = new ClientIdentity(CidrSet.of(List.of("10.0.0.0/8", "fd00::/8")));

  @ParameterizedTest(name = "peer {0}, X-Forwarded-For ''{1}'' -> {2}")
  @CsvSource(delimiter = '|', value = {
      // an untrusted peer: X-Forwarded-For is anyone's to write, so it is ignored
      "203.0.113.9 | 1.2.3.4                    | 203.0.113.9",
      // a trusted peer: the right-most entry that is not a trusted proxy
      "10.0.0.1    | 1.2.3.4                    | 1.2.3.4",
      "10.0.0.1    | 6.6.6.6, 1.2.3.4, 10.9.9.9 | 1.2.3.4",
      "10.0.0.1    | 10.1.1.1, 10.2.2.2         | 10.1.1.1",
      "10.0.0.1    | ''                         | 10.0.0.1",
      // garbage stops the walk at the last good hop
      "10.0.0.1    | 1.2.3.4, evil, 10.2.2.2    | 10.2.2.2",
      // ports and IPv6 brackets that some proxies add
      "10.0.0.1    | 1.2.3.4:5678               | 1.2.3.4",
      "fd00::1     | '[2001:db8::7]:443'        | 2001:db8::7",
      "10.0.0.1    | 2001:db8::8                | 2001:db8::8",
  })
  void believesForwardedForOnlyFromTrustedProxies(String peer, String xff, String expected) {
    List<String> headers = xff.isEmpty() ? List.of() : List.of(xff);
    assertThat(identity.resolve(peer, headers)).isEqualTo(expected);
  }

  @Test
  void readsEveryForwardedForLineRightToLeft() {
    assertThat(identity.resolve("10.0.0.1", List.of("5.5.5.5, 4.4.4.4", "10.3.3.3"))).isEqualTo("4.4.4.4");
  }

  @Test
  void fromHeadersTheSameRuleReadsEveryForwardedForLine() {
    HttpHeaders h = new DefaultHttpHeaders().add("X-Forwarded-For", "5.5.5.5, 4.4.4.4").add("x-forwarded-for", "10.3.3.3");
    assertThat(identity.clientIp("10.0.0.1", h)).isEqualTo("4.4.4.4");
    assertThat(identity.clientIp("203.0.113.9", h)).isEqualTo("203.0.113.9");
    assertThat(identity.clientIp("10.0.0.1", new DefaultHttpHeaders())).isEqualTo("10.0.0.1");
    assertThat(new ClientIdentity(CidrSet.of(List.of())).clientIp("10.0.0.1", h)).isEqualTo("10.0.0.1");
  }

  @Test
  void withoutTrustedProxiesThePeerIsTheClient() {
    assertThat(new ClientIdentity(CidrSet.empty()).resolve("10.0.0.1", List.of("1.2.3.4"))).isEqualTo("10.0.0.1");
  }
}
