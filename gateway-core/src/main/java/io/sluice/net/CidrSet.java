package io.sluice.net;

import io.netty.util.NetUtil;
import java.util.List;

/**
 * A set of IPv4 and IPv6 networks with a lookup cost that does not depend on how many networks
 * it holds: a binary prefix trie per address family, walked bit by bit (at most 32 or 128 steps).
 *
 * <p>IPv4-mapped IPv6 addresses ({@code ::ffff:10.1.2.3}) are looked up as IPv4. Immutable after
 * construction and safe to share between threads.
 */
public final class CidrSet {
  private static final CidrSet EMPTY = new CidrSet();

  /** A trie node; {@code terminal} marks the end of a network prefix. */
  private static final class Node {
    Node zero;
    Node one;
    boolean terminal;
  }

  private final Node v4 = new Node();
  private final Node v6 = new Node();
  private int size;

  private CidrSet() {}

  public static CidrSet empty() {
    return EMPTY;
  }

  /**
   * @param cidrs networks such as {@code 10.0.0.0/8}, {@code 2001:db8::/32} or single addresses
   * @throws IllegalArgumentException naming the first entry that is not a network
   */
  public static CidrSet of(List<String> cidrs) {
    CidrSet set = new CidrSet();
    for (String cidr : cidrs) {
      set.add(cidr);
    }
    return set;
  }

  /** Checks one entry; returns null when valid, else a message for the config error. */
  public static String problem(String cidr) {
    try {
      new CidrSet().add(cidr);
      return null;
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  private void add(String cidr) {
    String text = cidr.trim();
    int slash = text.indexOf('/');
    String address = slash < 0 ? text : text.substring(0, slash);
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(address);
    if (bytes == null) {
      throw new IllegalArgumentException("expected an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32 (got '" + cidr + "')");
    }
    bytes = unmapped(bytes);
    int bits = bytes.length * 8;
    int prefix = bits;
    if (slash >= 0) {
      try {
        prefix = Integer.parseInt(text.substring(slash + 1));
      } catch (NumberFormatException e) {
        prefix = -1;
      }
      if (prefix < 0 || prefix > bits) {
        throw new IllegalArgumentException("the prefix length must be 0.." + bits + " (got '" + cidr + "')");
      }
    }
    Node node = bytes.length == 4 ? v4 : v6;
    for (int i = 0; i < prefix && !node.terminal; i++) {
      if (bit(bytes, i)) {
        node = node.one == null ? (node.one = new Node()) : node.one;
      } else {
        node = node.zero == null ? (node.zero = new Node()) : node.zero;
      }
    }
    node.terminal = true;
    node.zero = null; // a shorter prefix covers everything below it
    node.one = null;
    size++;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  /** True when the address (text form) lies in one of the networks; false for a non-address. */
  public boolean contains(String address) {
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(address);
    return bytes != null && contains(bytes);
  }

  /** True when the address (4 or 16 bytes) lies in one of the networks. */
  public boolean contains(byte[] address) {
    byte[] bytes = unmapped(address);
    Node node = bytes.length == 4 ? v4 : v6;
    int bits = bytes.length * 8;
    for (int i = 0; ; i++) {
      if (node.terminal) {
        return true;
      }
      if (i == bits) {
        return false;
      }
      node = bit(bytes, i) ? node.one : node.zero;
      if (node == null) {
        return false;
      }
    }
  }

  private static boolean bit(byte[] bytes, int i) {
    return (bytes[i >> 3] & (0x80 >> (i & 7))) != 0;
  }

  private static byte[] unmapped(byte[] bytes) {
    if (bytes.length != 16) {
      return bytes;
    }
    for (int i = 0; i < 10; i++) {
      if (bytes[i] != 0) {
        return bytes;
      }
    }
    if (bytes[10] != (byte) 0xff || bytes[11] != (byte) 0xff) {
      return bytes;
    }
    return new byte[] {bytes[12], bytes[13], bytes[14], bytes[15]};
  }
}
