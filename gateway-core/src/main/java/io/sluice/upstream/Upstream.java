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
    // Nearly every request finds every endpoint available and none tried (or a single one left):
    // those cases pick without a candidate list, and leave the balancer's state exactly as the
    // filtered list would (UpstreamTest checks each balancer against the general path).
    int n = endpoints.size();
    int count = 0;
    Endpoint last = null;
    for (int i = 0; i < n; i++) {
      Endpoint e = endpoints.get(i);
      if (e.available() && !tried.contains(e)) {
        count++;
        last = e;
      }
    }
    if (count == n && n > 0) {
      return balancer.pick(endpoints); // the same candidates in the same order as the filtered list
    }
    if (count == 1) {
      // The only candidate: every balancer returns it, and a round-robin's pick of one adds its
      // weight and takes it off again (net zero), so the state is as the general path leaves it.
      return last;
    }
    if (count == 0) {
      return null;
    }
    List<Endpoint> candidates = new ArrayList<>(count);
    for (int i = 0; i < n; i++) {
      Endpoint e = endpoints.get(i);
      if (e.available() && !tried.contains(e)) {
        candidates.add(e);
      }
    }
    // Health is read again (it may change on another loop between the two passes).
    return candidates.isEmpty() ? null : balancer.pick(candidates);
  }

  void closeIdle() {
    pools.values().forEach(ConnectionPool::closeIdle);
  }
}
