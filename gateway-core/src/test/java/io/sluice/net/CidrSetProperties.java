package io.sluice.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Fuzzing {@link CidrSet}: for random IPv4 and IPv6 blocks and addresses, matching agrees with a
 * naive reference — compare the first {@code prefix} bits of the address with the block's.
 * Addresses are drawn near the blocks as well as anywhere, so edges are hit.
 */
class CidrSetProperties {

  record Block(byte[] address, int prefix) {
    String cidr() throws UnknownHostException {
      return InetAddress.getByAddress(address).getHostAddress() + "/" + prefix;
    }
  }

  @Provide
  Arbitrary<List<Block>> blocks() {
    Arbitrary<Block> v4 = Combinators.combine(Arbitraries.bytes().array(byte[].class).ofSize(4),
        Arbitraries.integers().between(0, 32)).as(Block::new);
    Arbitrary<Block> v6 = Combinators.combine(Arbitraries.bytes().array(byte[].class).ofSize(16)
            .filter(b -> !mapped(b)),
        Arbitraries.integers().between(0, 128)).as(Block::new);
    return Arbitraries.oneOf(v4, v4, v6).list().ofMinSize(1).ofMaxSize(8);
  }

  @Provide
  Arbitrary<List<byte[]>> probes() {
    return Arbitraries.oneOf(Arbitraries.bytes().array(byte[].class).ofSize(4),
        Arbitraries.bytes().array(byte[].class).ofSize(16).filter(b -> !mapped(b))).list().ofMinSize(1).ofMaxSize(10);
  }

  @Property(tries = 300)
  void agreesWithANaiveBitComparison(@ForAll("blocks") List<Block> blocks, @ForAll("probes") List<byte[]> random,
      @ForAll java.util.Random flip) throws Exception {
    List<String> cidrs = new ArrayList<>();
    for (Block b : blocks) {
      cidrs.add(b.cidr());
    }
    CidrSet set = CidrSet.of(cidrs);
    List<byte[]> probes = new ArrayList<>(random);
    for (Block b : blocks) {
      probes.add(b.address().clone()); // inside
      byte[] edge = b.address().clone(); // one bit flipped around the prefix edge: inside or just out
      int bit = Math.min(b.prefix() + flip.nextInt(3) - 1, edge.length * 8 - 1);
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
      assertThat(set.contains(address.getHostAddress())).as("%s in %s", address, cidrs).isEqualTo(expected);
      assertThat(set.contains(probe)).as("%s (bytes) in %s", address, cidrs).isEqualTo(expected);
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
