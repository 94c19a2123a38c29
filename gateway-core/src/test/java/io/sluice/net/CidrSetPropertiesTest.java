package io.sluice.net;

import static io.sluice.testing.RandomInputs.bytes;
import static io.sluice.testing.RandomInputs.list;
import static io.sluice.testing.RandomInputs.size;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.RandomInputs;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded randomized property test of {@link CidrSet}: for random IPv4 and IPv6 blocks and
 * addresses, matching agrees with a naive reference — compare the first {@code prefix} bits of
 * the address with the block's. Addresses are drawn near the blocks (one bit flipped just before,
 * at or after the prefix edge) as well as anywhere, so edges are hit; prefixes lean to /0 and
 * /32 or /128. One case per seed (see {@link RandomInputs}).
 */
class CidrSetPropertiesTest {
  private static final int CASES = 400;

  record Block(byte[] address, int prefix) {
    String cidr() throws UnknownHostException {
      return InetAddress.getByAddress(address).getHostAddress() + "/" + prefix;
    }
  }

  static LongStream seeds() {
    return RandomInputs.seeds(CASES);
  }

  /** 1–8 blocks, two in three IPv4. */
  private static List<Block> blocks(Random random) {
    return list(random, 1, 8, r -> r.nextInt(3) < 2
        ? new Block(address(r, 4), size(r, 0, 32))
        : new Block(ipv6(r), size(r, 0, 128)));
  }

  /** An IPv6 address that is not IPv4-mapped. */
  private static byte[] ipv6(Random random) {
    byte[] address;
    do {
      address = address(random, 16);
    } while (mapped(address));
    return address;
  }

  /** {@code length} random bytes, one time in ten all zeros and one in ten all ones (0.0.0.0, ::, the top). */
  private static byte[] address(Random random, int length) {
    byte[] address = bytes(random, length);
    int edge = random.nextInt(10);
    if (edge < 2) {
      Arrays.fill(address, edge == 0 ? (byte) 0 : (byte) 0xff);
    }
    return address;
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void agreesWithANaiveBitComparison(long seed) throws Exception {
    Random random = RandomInputs.random(seed);
    List<Block> blocks = blocks(random);
    List<String> cidrs = new ArrayList<>();
    for (Block b : blocks) {
      cidrs.add(b.cidr());
    }
    CidrSet set = CidrSet.of(cidrs);
    // 1–10 addresses anywhere, half IPv4, then per block its own address and one near its edge.
    List<byte[]> probes = list(random, 1, 10, r -> r.nextBoolean() ? address(r, 4) : ipv6(r));
    for (Block b : blocks) {
      probes.add(b.address().clone()); // inside
      byte[] edge = b.address().clone(); // one bit flipped around the prefix edge: inside or just out
      int bit = Math.min(b.prefix() + random.nextInt(3) - 1, edge.length * 8 - 1);
      if (bit >= 0) {
        edge[bit / 8] ^= (byte) (0x80 >>> (bit % 8));
      }
      if (edge.length == 4 || !mapped(edge)) {
        probes.add(edge);
      }
    }
    for (byte[] probe : probes) {
      InetAddress address = InetAddress.getByAddress(probe);
      boolean expected = blocks.stream().anyMatch(b -> naiveContains(b, probe));
      assertThat(set.contains(address.getHostAddress())).as("seed %d: %s in %s", seed, address, cidrs)
          .isEqualTo(expected);
      assertThat(set.contains(probe)).as("seed %d: %s (bytes) in %s", seed, address, cidrs).isEqualTo(expected);
    }
  }

  /** IPv4-mapped IPv6 ({@code ::ffff:a.b.c.d}) is IPv4 to CidrSet; the reference keeps to plain families. */
  private static boolean mapped(byte[] b) {
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
  }

  /** The reference: same family, and the first {@code prefix} bits equal. */
  private static boolean naiveContains(Block block, byte[] probe) {
    if (probe.length != block.address().length) {
      return false;
    }
    int bits = probe.length * 8;
    BigInteger a = new BigInteger(1, probe);
    BigInteger b = new BigInteger(1, block.address());
    return a.shiftRight(bits - block.prefix()).equals(b.shiftRight(bits - block.prefix()));
  }
}
