package io.sluice.upstream;

import io.netty.resolver.dns.DnsServerAddressStreamProvider;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The name servers upstream hostnames are resolved with, when the operator pins them with the
 * system property {@value #PROPERTY} ({@code host:port,host:port}) instead of the system's
 * {@code /etc/resolv.conf}. Tests point it at a loopback fake DNS server, so that a DNS failure
 * can be provoked without any lookup leaving the machine.
 */
public final class DnsServers {
  public static final String PROPERTY = "sluice.dns.servers";

  private DnsServers() {}

  /** The pinned servers, or empty for the system's. */
  static Optional<DnsServerAddressStreamProvider> fromSystemProperty() {
    String value = System.getProperty(PROPERTY, "").trim();
    if (value.isEmpty()) {
      return Optional.empty();
    }
    List<InetSocketAddress> servers = new ArrayList<>();
    for (String entry : value.split(",")) {
      String e = entry.trim();
      int colon = e.lastIndexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException(PROPERTY + ": expected host:port entries (got '" + e + "')");
      }
      servers.add(new InetSocketAddress(e.substring(0, colon), Integer.parseInt(e.substring(colon + 1))));
    }
    return Optional.of(new SequentialDnsServerAddressStreamProvider(servers));
  }
}
