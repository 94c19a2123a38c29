package io.sluice.plugins.iprestriction;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.net.CidrSet;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The lists ip-restriction builds its tries from, at the size of real block lists: 10,000
 * networks per family, every lookup checked against a plain linear scan (correctness, not speed).
 */
class CidrSetLargeTest {
  private static final int NETWORKS = 10_000;
  private final Random random = new Random(42);

  /** A network as the plain model sees it: address bytes and prefix length. */
  private record Net(byte[] address, int prefix) {
    boolean contains(byte[] ip) {
      if (ip.length != address.length) {
        return false;
      }
      for (int i = 0; i < prefix; i++) {
        if (bit(ip, i) != bit(address, i)) {
          return false;
        }
      }
      return true;
    }
  }

  private static boolean bit(byte[] b, int i) {
    return (b[i >> 3] & (0x80 >> (i & 7))) != 0;
  }

  @Test
  void tenThousandIpv4NetworksAgreeWithALinearScan() {
    List<Net> nets = new ArrayList<>();
    List<String> text = new ArrayList<>();
    for (int i = 0; i < NETWORKS; i++) {
      byte[] a = randomBytes(4);
      int prefix = 16 + random.nextInt(17); // /16 .. /32: random probes mostly miss
      nets.add(new Net(a, prefix));
      text.add(v4(a) + "/" + prefix);
    }
    CidrSet set = CidrSet.of(text);
    assertThat(set.isEmpty()).isFalse();

    int hits = 0;
    for (int i = 0; i < 4_000; i++) {
      byte[] ip = i % 2 == 0 ? randomBytes(4) : inside(nets.get(random.nextInt(NETWORKS)));
      boolean expected = nets.stream().anyMatch(n -> n.contains(ip));
      assertThat(set.contains(v4(ip))).as(v4(ip)).isEqualTo(expected);
      hits += expected ? 1 : 0;
    }
    assertThat(hits).as("the sample exercises both answers").isBetween(2_000, 3_999);
    // Every network's first and last address is in.
    for (Net n : nets) {
      assertThat(set.contains(v4(n.address()))).isTrue();
      assertThat(set.contains(v4(last(n)))).isTrue();
    }
  }

  @Test
  void tenThousandIpv6NetworksAgreeWithALinearScan() {
    List<Net> nets = new ArrayList<>();
    List<String> text = new ArrayList<>();
    for (int i = 0; i < NETWORKS; i++) {
      byte[] a = randomBytes(16);
      a[0] = 0x20; // keep clear of ::/96 and ::ffff:0:0/96, which CidrSet reads as IPv4
      int prefix = 16 + random.nextInt(113); // /16 .. /128
      nets.add(new Net(a, prefix));
      text.add(v6(a) + "/" + prefix);
    }
    CidrSet set = CidrSet.of(text);
    for (int i = 0; i < 4_000; i++) {
      byte[] ip = i % 2 == 0 ? randomBytes(16) : inside(nets.get(random.nextInt(NETWORKS)));
      if (i % 2 == 0) {
        ip[0] = 0x20;
      }
      byte[] probe = ip;
      boolean expected = nets.stream().anyMatch(n -> n.contains(probe));
      assertThat(set.contains(v6(ip))).as(v6(ip)).isEqualTo(expected);
    }
    for (Net n : nets) {
      assertThat(set.contains(v6(last(n)))).isTrue();
    }
  }

  @Test
  void tenThousandHostAddressesMatchOnlyThemselves() {
    Set<Integer> hosts = new HashSet<>();
    while (hosts.size() < NETWORKS) {
      hosts.add(0x0a000000 | random.nextInt(1 << 20)); // inside 10.0.0.0/12
    }
    List<String> text = hosts.stream().map(CidrSetLargeTest::v4).toList();
    CidrSet set = CidrSet.of(text);
    for (int i = 0; i < (1 << 20); i += 7) {
      int ip = 0x0a000000 | i;
      assertThat(set.contains(v4(ip))).isEqualTo(hosts.contains(ip));
    }
  }

  @Test
  void overlappingNetworksInEitherOrderCoverTheWiderOne() {
    CidrSet narrowFirst = CidrSet.of(List.of("10.1.2.0/24", "10.0.0.0/8"));
    CidrSet wideFirst = CidrSet.of(List.of("10.0.0.0/8", "10.1.2.0/24"));
    for (CidrSet s : List.of(narrowFirst, wideFirst)) {
      assertThat(s.contains("10.200.0.1")).isTrue();
      assertThat(s.contains("10.1.2.3")).isTrue();
      assertThat(s.contains("11.0.0.0")).isFalse();
    }
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** A random address inside the network. */
  private byte[] inside(Net n) {
    byte[] ip = randomBytes(n.address().length);
    for (int i = 0; i < n.prefix(); i++) {
      setBit(ip, i, bit(n.address(), i));
    }
    return ip;
  }

  private static byte[] last(Net n) {
    byte[] ip = n.address().clone();
    for (int i = n.prefix(); i < ip.length * 8; i++) {
      setBit(ip, i, true);
    }
    return ip;
  }

  private static void setBit(byte[] b, int i, boolean on) {
    if (on) {
      b[i >> 3] |= (byte) (0x80 >> (i & 7));
    } else {
      b[i >> 3] &= (byte) ~(0x80 >> (i & 7));
    }
  }

  private static String v4(byte[] a) {
    return (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
  }

  private static String v4(int ip) {
    return ((ip >>> 24) & 0xff) + "." + ((ip >>> 16) & 0xff) + "." + ((ip >>> 8) & 0xff) + "." + (ip & 0xff);
  }

  private static String v6(byte[] a) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 16; i += 2) {
      if (i > 0) {
        s.append(':');
      }
      s.append(Integer.toHexString(((a[i] & 0xff) << 8) | (a[i + 1] & 0xff)));
    }
    return s.toString();
  }
}
