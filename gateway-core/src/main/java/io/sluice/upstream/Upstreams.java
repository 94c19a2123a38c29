package io.sluice.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.sluice.config.UpstreamConfig;
import io.sluice.net.Transport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every configured upstream, ready to take requests: bootstraps, pools, DNS and health probes.
 *
 * <p>DNS: hostnames are resolved asynchronously by Netty's DNS resolver (never the blocking JDK
 * lookup on an event loop); answers are cached for at most {@code dns-refresh}, so a changed
 * record is picked up by the next new connection. The name servers are the system's
 * ({@code /etc/resolv.conf}) unless {@link DnsServers#PROPERTY} names others.
 */
public final class Upstreams implements AutoCloseable {
  private final Transport transport;
  private final Map<String, Upstream> byName = new LinkedHashMap<>();
  private final Map<String, DnsAddressResolverGroup> resolvers = new LinkedHashMap<>();
  private final HealthChecker healthChecker;

  public Upstreams(List<UpstreamConfig> configs, Transport transport) {
    this(configs, transport, null);
  }

  private Upstreams(List<UpstreamConfig> configs, Transport transport, Upstreams previous) {
    this.transport = transport;
    for (UpstreamConfig c : configs) {
      Upstream kept = previous == null ? null : previous.byName.get(c.name());
      if (kept != null && kept.config().equals(c)) {
        byName.put(c.name(), kept); // same config: keep its pools, health and resolver
        resolvers.put(c.name(), previous.resolvers.get(c.name()));
      } else {
        build(c);
      }
    }
    this.healthChecker = new HealthChecker(List.copyOf(byName.values()), transport);
  }

  private void build(UpstreamConfig c) {
    int maxTtl = (int) Math.max(1, c.dnsRefresh().toSeconds());
    DnsNameResolverBuilder dns = new DnsNameResolverBuilder()
        .datagramChannelType(transport.datagramChannelType())
        .socketChannelType(transport.socketChannelType())
        .ttl(0, maxTtl)
        .negativeTtl(Math.min(5, maxTtl));
    DnsServers.fromSystemProperty().ifPresent(dns::nameServerProvider);
    DnsAddressResolverGroup resolver = new DnsAddressResolverGroup(dns);
    resolvers.put(c.name(), resolver);
    Bootstrap bootstrap = new Bootstrap()
        .channel(transport.socketChannelType())
        .resolver(resolver)
        .option(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
        .option(ChannelOption.RCVBUF_ALLOCATOR, Transport.RECV_ALLOCATOR)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.SO_KEEPALIVE, true)
        // connect-timeout is the connection's own check (UpstreamHandler): Netty's would leave a
        // cancelled task on every channel for its whole life.
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 0);
    byName.put(c.name(), new Upstream(c, bootstrap, System::nanoTime));
  }

  /**
   * The upstreams of a reloaded config. An upstream whose config did not change is carried over
   * as it is — pools, endpoint health, DNS cache — so a reload costs it nothing; the others are
   * built anew. Call {@link #retire} on this (the old) set once the new one serves.
   */
  public Upstreams reconcile(List<UpstreamConfig> configs) {
    return new Upstreams(configs, transport, this);
  }

  /**
   * Stops this set's probes and frees what {@code next} does not use. Exchanges still running on
   * a retired upstream finish on it; its connections close when they end or idle out.
   */
  public void retire(Upstreams next) {
    healthChecker.close();
    byName.forEach((name, u) -> {
      if (next.byName.get(name) != u) {
        u.closeIdle();
        DnsAddressResolverGroup r = resolvers.get(name);
        if (r != null) {
          r.close();
        }
      }
    });
  }

  public Upstream get(String name) {
    return byName.get(name);
  }

  public List<Upstream> all() {
    return List.copyOf(byName.values());
  }

  /** Starts the active health probes of upstreams that configure a {@code health-check.path}. */
  public void startHealthChecks() {
    healthChecker.start();
  }

  @Override
  public void close() {
    healthChecker.close();
    byName.values().forEach(Upstream::closeIdle);
    resolvers.values().forEach(DnsAddressResolverGroup::close);
  }
}
