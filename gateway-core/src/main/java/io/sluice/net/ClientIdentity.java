package io.sluice.net;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AttributeKey;
import io.netty.util.NetUtil;
import io.sluice.http.ProxyHeaders;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;

/**
 * Who the client is, by address — the one address every plugin, the access log and the metrics use
 * (README, "Plugins"): the peer; or the source a PROXY protocol header named; or — when that
 * address is one of the listener's {@code trusted-proxies} — the right-most {@code X-Forwarded-For}
 * entry that is not itself a trusted proxy. Entries left of an untrusted one are ignored: anyone
 * can write them.
 *
 * <p>Immutable; one per listener, shared by its connections.
 */
public final class ClientIdentity {
  /** The source address a PROXY protocol header announced for this connection. */
  public static final AttributeKey<String> PROXIED_SOURCE = AttributeKey.valueOf("sluice.proxiedSource");

  private final CidrSet trustedProxies;

  public ClientIdentity(CidrSet trustedProxies) {
    this.trustedProxies = trustedProxies;
  }

  /** The client address of a request on this channel. */
  public String clientIp(Channel channel, List<String> forwardedFor) {
    return resolve(peer(channel), forwardedFor);
  }

  /**
   * The client address of a request with these headers from this peer ({@link #peer}). The
   * {@code X-Forwarded-For} lines are listed only when a trusted proxy could have written them:
   * otherwise the answer is the peer, and the list would be made for nothing on every request.
   */
  public String clientIp(String peer, HttpHeaders headers) {
    if (trustedProxies.isEmpty() || !headers.contains(ProxyHeaders.X_FORWARDED_FOR)) {
      return peer;
    }
    return resolve(peer, headers.getAll(ProxyHeaders.X_FORWARDED_FOR));
  }

  /**
   * The address of whoever opened the connection: the PROXY protocol source when there is one,
   * else the TCP peer. This, not the resolved client, is what a proxy appends to
   * {@code X-Forwarded-For}.
   */
  public static String peer(Channel channel) {
    // hasAttr first: attr() would add an empty attribute to every connection that has none, kept
    // for the connection's life (gateway-server/docs/memory.md).
    String proxied = channel.hasAttr(PROXIED_SOURCE) ? channel.attr(PROXIED_SOURCE).get() : null;
    return proxied != null ? proxied : peerAddress(channel.remoteAddress());
  }

  /** The rule itself, on plain strings. */
  public String resolve(String peer, List<String> forwardedFor) {
    if (trustedProxies.isEmpty() || forwardedFor.isEmpty() || !trustedProxies.contains(peer)) {
      return peer;
    }
    String candidate = peer;
    for (int h = forwardedFor.size() - 1; h >= 0; h--) {
      String[] entries = forwardedFor.get(h).split(",");
      for (int i = entries.length - 1; i >= 0; i--) {
        String entry = strip(entries[i].trim());
        if (entry.isEmpty()) {
          continue;
        }
        if (!NetUtil.isValidIpV4Address(entry) && !NetUtil.isValidIpV6Address(entry)) {
          return candidate; // garbage: trust nothing further left
        }
        candidate = entry;
        if (!trustedProxies.contains(entry)) {
          return entry;
        }
      }
    }
    return candidate;
  }

  /** Drops an IPv6 entry's brackets and a port some proxies append. */
  private static String strip(String entry) {
    if (entry.startsWith("[")) {
      int end = entry.indexOf(']');
      return end > 0 ? entry.substring(1, end) : entry;
    }
    int colon = entry.indexOf(':');
    if (colon > 0 && entry.indexOf(':', colon + 1) < 0) {
      return entry.substring(0, colon); // IPv4 with a port
    }
    return entry;
  }

  private static String peerAddress(SocketAddress remote) {
    if (remote instanceof InetSocketAddress inet && inet.getAddress() != null) {
      return inet.getAddress().getHostAddress();
    }
    return "unknown";
  }
}
