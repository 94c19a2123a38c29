package io.sluice.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.sluice.config.UpstreamConfig;
import io.sluice.server.Transport;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every configured upstream, ready to take requests: bootstraps, pools, DNS and health probes.
 *
 * <p>DNS: hostnames are resolved asynchronously by Netty's DNS resolver (never the blocking JDK
 * lookup on an event loop); answers are cached for at most {@code dns-refresh}, so a changed
 * record is picked up by the next new connection.
 */
public final class Upstreams implements AutoCloseable {
  private final Map<String, Upstream> byName = new LinkedHashMap<>();
  private final List<DnsAddressResolverGroup> resolvers = new ArrayList<>();
  private final HealthChecker healthChecker;

  public Upstreams(List<UpstreamConfig> configs, Transport transport) {
    for (UpstreamConfig c : configs) {
      int maxTtl = (int) Math.max(1, c.dnsRefresh().toSeconds());
      DnsAddressResolverGroup resolver = new DnsAddressResolverGroup(new DnsNameResolverBuilder()
          .datagramChannelType(transport.datagramChannelType())
          .socketChannelType(transport.socketChannelType())
          .ttl(0, maxTtl)
          .negativeTtl(Math.min(5, maxTtl)));
      resolvers.add(resolver);
      Bootstrap bootstrap = new Bootstrap()
          .channel(transport.socketChannelType())
          .resolver(resolver)
          .option(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
          .option(ChannelOption.TCP_NODELAY, true)
          .option(ChannelOption.SO_KEEPALIVE, true)
          .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) c.connectTimeout().toMillis());
      byName.put(c.name(), new Upstream(c, bootstrap, System::nanoTime));
    }
    this.healthChecker = new HealthChecker(List.copyOf(byName.values()), transport);
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
    resolvers.forEach(DnsAddressResolverGroup::close);
  }
}
