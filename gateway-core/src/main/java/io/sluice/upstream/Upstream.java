package io.sluice.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.sluice.config.EndpointConfig;
import io.sluice.config.UpstreamConfig;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * A running upstream: its endpoints with their pools and health, and the balancer over them.
 * Shared by all event loops.
 */
public final class Upstream {
  private final UpstreamConfig config;
  private final List<Endpoint> endpoints;
  private final Map<Endpoint, ConnectionPool> pools = new IdentityHashMap<>();
  private final Balancer balancer;
  private final SslContext tls;

  Upstream(UpstreamConfig config, Bootstrap bootstrap, LongSupplier nanoClock) {
    this.config = config;
    this.tls = UpstreamTls.forUpstream(config);
    List<Endpoint> list = new ArrayList<>();
    for (EndpointConfig ec : config.endpoints()) {
      Endpoint e = new Endpoint(config.name(), ec, config.healthCheck(), nanoClock);
      list.add(e);
      pools.put(e, new ConnectionPool(e, bootstrap, config.maxConnectionsPerEndpoint(), this));
    }
    this.endpoints = List.copyOf(list);
    this.balancer = Balancer.of(config.balancer());
  }

  /** A TLS handler (SNI, hostname verification) for an {@code https} endpoint; null for {@code http}. */
  SslHandler newTlsHandler(Endpoint endpoint, ByteBufAllocator alloc) {
    if (tls == null || !"https".equals(endpoint.config().scheme())) {
      return null;
    }
    return tls.newHandler(alloc, endpoint.config().host(), endpoint.config().port());
  }

  public String name() {
    return config.name();
  }

  public UpstreamConfig config() {
    return config;
  }

  public List<Endpoint> endpoints() {
    return endpoints;
  }

  public ConnectionPool pool(Endpoint endpoint) {
    return pools.get(endpoint);
  }

  /**
   * The endpoint for the next attempt, or null when none is available.
   *
   * @param tried endpoints this exchange already failed on (a retry goes elsewhere)
   */
  public Endpoint choose(Set<Endpoint> tried) {
    List<Endpoint> candidates = new ArrayList<>(endpoints.size());
    for (Endpoint e : endpoints) {
      if (e.available() && !tried.contains(e)) {
        candidates.add(e);
      }
    }
    return candidates.isEmpty() ? null : balancer.pick(candidates);
  }

  void closeIdle() {
    pools.values().forEach(ConnectionPool::closeIdle);
  }
}
