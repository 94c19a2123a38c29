package io.sluice.app;

import io.sluice.admin.AdminServer;
import io.sluice.config.GatewayConfig;
import io.sluice.config.RouteConfig;
import io.sluice.plugin.DefaultPluginServices;
import io.sluice.plugin.PluginChain;
import io.sluice.plugin.PluginServices;
import java.util.LinkedHashMap;
import java.util.Map;
import io.sluice.exchange.GatewayContext;
import io.sluice.observe.GatewayMetrics;
import io.sluice.route.Router;
import io.sluice.server.GatewayServer;
import io.sluice.server.Transport;
import io.sluice.upstream.Upstreams;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running gateway: event loops, upstreams, client listeners and the admin listener, wired
 * from a validated {@link GatewayConfig}. {@link #close} stops everything.
 */
public final class Sluice implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Sluice.class);

  private final GatewayConfig config;
  private final Transport transport;
  private final GatewayMetrics metrics;
  private final Upstreams upstreams;
  private final GatewayServer server;
  private final AdminServer admin;
  private final AtomicBoolean ready = new AtomicBoolean();
  private volatile GatewayContext context;

  private Sluice(GatewayConfig config) {
    this.config = config;
    this.transport = Transport.create(config.ioThreads());
    this.metrics = new GatewayMetrics();
    this.upstreams = new Upstreams(config.upstreams(), transport);
    this.context = new GatewayContext(new Router(config.routes()), pluginChains(config, metrics), upstreams,
        config.limits(), metrics);
    this.server = new GatewayServer(transport);
    this.admin = new AdminServer(transport, config, metrics, upstreams, name -> context.chain(name), ready::get);
  }

  /** Builds every route's plugins and logs the order they run in. */
  private static Map<String, PluginChain> pluginChains(GatewayConfig config, GatewayMetrics metrics) {
    PluginServices services = new DefaultPluginServices(config.consumers(), metrics);
    Map<String, PluginChain> chains = new LinkedHashMap<>();
    for (RouteConfig route : config.routes()) {
      PluginChain chain = PluginChain.of(route.plugins(), services);
      chains.put(route.name(), chain);
      if (!chain.isEmpty()) {
        log.info("route '{}' plugins: {}", route.name(), chain.entries());
      }
    }
    return chains;
  }

  /** Starts a gateway; on failure everything already started is stopped again. */
  public static Sluice start(GatewayConfig config) throws Exception {
    Sluice sluice = new Sluice(config);
    try {
      sluice.admin.start();
      sluice.server.start(config.listeners(), config.limits(), () -> sluice.context);
      sluice.upstreams.startHealthChecks();
      sluice.ready.set(true);
      log.info("Sluice ready: {} listener(s), {} route(s), {} upstream(s), admin on http://{}:{}",
          config.listeners().size(), config.routes().size(), config.upstreams().size(),
          config.admin().host(), sluice.adminPort());
      return sluice;
    } catch (Exception e) {
      sluice.close();
      throw e;
    }
  }

  public GatewayConfig config() {
    return config;
  }

  public GatewayMetrics metrics() {
    return metrics;
  }

  /** The port a client listener is bound to. */
  public int port(String listener) {
    return server.port(listener);
  }

  /** Looks for changed TLS certificate or key files now (they are also polled every few seconds). */
  public boolean reloadTls() {
    return server.reloadTls();
  }

  public int adminPort() {
    return admin.port();
  }

  @Override
  public void close() {
    ready.set(false);
    server.close();
    admin.close();
    upstreams.close();
    transport.close();
  }
}
