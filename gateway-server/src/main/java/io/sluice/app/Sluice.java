package io.sluice.app;

import io.sluice.admin.AdminServer;
import io.sluice.admin.AdminView;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.config.LoggingConfig;
import io.sluice.config.RouteConfig;
import io.sluice.gateway.GatewayContext;
import io.sluice.gateway.GatewayHandlers;
import io.sluice.observe.AccessLog;
import io.sluice.observe.GatewayMetrics;
import io.sluice.observe.GatewayMetrics.EndpointHealth;
import io.sluice.plugin.DefaultPluginServices;
import io.sluice.plugin.PluginChain;
import io.sluice.plugin.PluginServices;
import io.sluice.route.Router;
import io.sluice.server.GatewayServer;
import io.sluice.server.ListenException;
import io.sluice.net.Transport;
import io.sluice.session.StreamSessions;
import io.sluice.store.RedisStores;
import io.sluice.telemetry.Tracing;
import io.sluice.upstream.Endpoint;
import io.sluice.upstream.Upstream;
import io.sluice.upstream.ModelAliases;
import io.sluice.upstream.Upstreams;
import io.sluice.usage.Pricing;
import io.sluice.usage.TokenEstimator;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running gateway: event loops, upstreams, client listeners and the admin listener, wired
 * from a validated {@link GatewayConfig}.
 *
 * <p>Reload ({@link #reload}): the new config is validated first; a bad one is refused and the old
 * one keeps serving. A good one is swapped in as a new {@link GatewayContext} snapshot — requests
 * already running keep the snapshot they started with, so no stream is cut. Unchanged upstreams
 * keep their pools and health; unchanged routes keep their plugin instances (and so their rate
 * limit buckets); only listeners whose config changed are closed and re-bound. The admin listener
 * and {@code io-threads} take effect at the next start (a warning says so). Log levels
 * ({@code logging.level}) are set at start and on every reload; every reload is counted in
 * {@code sluice_config_reloads_total{result}}.
 *
 * <p>Shutdown ({@link #drain}): readiness off, stop accepting, running exchanges finish for up to
 * {@code shutdown.drain-timeout}, the rest end with an error event; then {@link #close}.
 *
 * <p>Threading: reloads are serialised on this object; the context is published through a
 * volatile field that event loops read once per request.
 */
public final class Sluice implements AutoCloseable, AdminView {
  private static final Logger log = LoggerFactory.getLogger(Sluice.class);

  private final Transport transport;
  private final GatewayMetrics metrics;
  private final GatewayServer server;
  private final AdminServer admin;
  private final Path configFile;
  private final ConfigLoader loader;
  private final AtomicBoolean ready = new AtomicBoolean();
  private final AccessLog accessLog = AccessLog.fromSystemProperty();
  /** Redis connections plugins share; kept across reloads, closed last. */
  private final RedisStores redisStores;
  /** Stream sessions (resume, long polling); kept across reloads so running streams stay resumable. */
  private final StreamSessions sessions;
  /** Traces (docs/telemetry.md); started once, a changed telemetry block needs a restart. */
  private final Tracing tracing;
  private volatile GatewayConfig config;
  private volatile Upstreams upstreams;
  private volatile GatewayContext context;
  private PluginServices pluginServices;
  private final Clock clock;
  private ConfigWatcher watcher;

  private Sluice(GatewayConfig config, Path configFile, ConfigLoader loader, Clock clock) {
    this.clock = clock;
    this.config = config;
    this.configFile = configFile;
    this.loader = loader;
    this.transport = Transport.create(config.ioThreads());
    this.metrics = new GatewayMetrics();
    AccessLogAppender.register(metrics.registry());
    this.upstreams = new Upstreams(config.upstreams(), transport);
    this.redisStores = new RedisStores(metrics::storeDegraded);
    this.pluginServices = pluginServices(config);
    this.sessions = new StreamSessions(config.limits().maxSessionMemory(), metrics, redisStores);
    this.tracing = Tracing.start(config.telemetry(), metrics.registry());
    this.context = new GatewayContext(new Router(config.routes()), pluginChains(config, Map.of(), List.of()),
        upstreams, config.limits(), metrics, accessLog, consumerNames(config), sessions,
        new ModelAliases(config.models(), System::nanoTime, new Random()), Pricing.of(config.pricing()), tracing);
    this.server = new GatewayServer(transport);
    this.admin = new AdminServer(transport, config, this);
    metrics.endpointHealthFrom(this::endpointHealth);
    metrics.certificateExpiryFrom(server::certificateExpiries, Clock.systemUTC());
  }

  /** Every endpoint of the upstreams serving now, for {@code sluice_upstream_endpoint_healthy}. */
  private List<EndpointHealth> endpointHealth() {
    List<EndpointHealth> out = new ArrayList<>();
    for (Upstream u : upstreams.all()) {
      for (Endpoint e : u.endpoints()) {
        out.add(new EndpointHealth(u.name(), e.url(), e.healthy()));
      }
    }
    return out;
  }

  /** Sets the config's {@code logging.level} (and says which, so the log shows why it got louder). */
  private static void applyLogLevels(LoggingConfig logging) {
    Map<String, String> applied = LoggingConfigurator.applyLevels(logging);
    if (!applied.isEmpty()) {
      log.info("log levels from the config: {}", applied);
    }
    if (logging.levels().containsKey(LoggingConfig.ROOT) && !applied.containsKey(LoggingConfig.ROOT)
        && System.getProperty(LoggingConfigurator.LEVEL_PROPERTY) != null) {
      log.info("logging.level.root is overridden by --log-level {}",
          System.getProperty(LoggingConfigurator.LEVEL_PROPERTY));
    }
  }

  /** Starts a gateway without a config file (tests, the demo): {@link #reload} is refused. */
  public static Sluice start(GatewayConfig config) throws Exception {
    return start(config, null, null);
  }

  /** Starts a gateway whose plugins read this wall clock (tests: budget periods, rate-limit windows). */
  public static Sluice start(GatewayConfig config, Clock clock) throws Exception {
    return start(config, null, null, clock);
  }

  /**
   * Starts a gateway; on failure everything already started is stopped again.
   *
   * @param configFile re-read by {@link #reload}; null when there is none
   * @param loader the loader that read it (so reloads know the same plugins)
   */
  public static Sluice start(GatewayConfig config, Path configFile, ConfigLoader loader) throws Exception {
    return start(config, configFile, loader, Clock.systemUTC());
  }

  private static Sluice start(GatewayConfig config, Path configFile, ConfigLoader loader, Clock clock)
      throws Exception {
    applyLogLevels(config.logging());
    Sluice sluice = new Sluice(config, configFile, loader, clock);
    try {
      if (watchesStreams(sluice.context.chains())) {
        // A stream watch reads estimates on its event loop from a stream's first content event on,
        // which must not wait for the tokenizer's vocabulary there: loaded before the listeners
        // open (~0.3 s of CPU), only by configurations that watch streams.
        TokenEstimator.warmUp();
      }
      sluice.admin.start();
      sluice.server.start(config.listeners(), config.limits(), new GatewayHandlers(() -> sluice.context));
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

  private static boolean watchesStreams(Map<String, PluginChain> chains) {
    return chains.values().stream().anyMatch(PluginChain::watchesStreams);
  }

  /**
   * Builds every route's plugins and logs the order they run in. A route whose config did not
   * change keeps its running chain, so its plugins' state (rate-limit buckets) survives a reload.
   */
  private Map<String, PluginChain> pluginChains(GatewayConfig next, Map<String, PluginChain> previous,
      List<RouteConfig> previousRoutes) {
    Map<String, PluginChain> chains = new LinkedHashMap<>();
    for (RouteConfig route : next.routes()) {
      PluginChain kept = previousRoutes.contains(route) ? previous.get(route.name()) : null;
      PluginChain chain = kept != null ? kept : PluginChain.of(route.plugins(), pluginServices);
      chains.put(route.name(), chain);
      if (!chain.isEmpty() && kept == null) {
        log.info("route '{}' plugins: {}", route.name(), chain.entries());
      }
    }
    return chains;
  }

  /** The plugins' services; prices are read from the snapshot serving now, so a reload changes them at once. */
  private PluginServices pluginServices(GatewayConfig config) {
    return new DefaultPluginServices(config.consumers(), metrics, redisStores, clock, System::nanoTime,
        () -> context.pricing());
  }

  private static Set<String> consumerNames(GatewayConfig config) {
    Set<String> names = new HashSet<>();
    config.consumers().forEach(c -> names.add(c.name()));
    return names;
  }

  // ---- reload -----------------------------------------------------------------------------------

  /** Re-reads the config file and applies it, or keeps the running config. */
  @Override
  public synchronized ReloadResult reload() {
    ReloadResult result = null;
    try {
      result = reloadFile();
      return result;
    } finally {
      metrics.configReload(result != null && result.applied()); // a throw counts as failed too
    }
  }

  private ReloadResult reloadFile() {
    if (configFile == null) {
      return ReloadResult.rejected(List.of("this gateway was started without a config file"));
    }
    GatewayConfig next;
    try {
      next = loader.load(configFile);
    } catch (ConfigException e) {
      log.warn("reload of {} rejected; the running config keeps serving:", configFile);
      e.errors().forEach(err -> log.warn("  {}", err));
      return ReloadResult.rejected(e.errors());
    }
    return swapIn(next);
  }

  /** Swaps in an already validated config (counted as a reload). */
  public synchronized ReloadResult apply(GatewayConfig next) {
    ReloadResult result = null;
    try {
      result = swapIn(next);
      return result;
    } finally {
      metrics.configReload(result != null && result.applied());
    }
  }

  private ReloadResult swapIn(GatewayConfig next) {
    applyLogLevels(next.logging()); // first: a reload that fails further on is then logged in detail
    GatewayConfig previous = config;
    if (!previous.admin().equals(next.admin()) || previous.ioThreads() != next.ioThreads()) {
      log.warn("admin and io-threads changes take effect at the next start");
    }
    if (!previous.telemetry().equals(next.telemetry())) {
      log.warn("telemetry changes take effect at the next start");
    }
    Upstreams previousUpstreams = upstreams;
    Upstreams nextUpstreams = previousUpstreams.reconcile(next.upstreams());
    boolean sameConsumers = previous.consumers().equals(next.consumers());
    if (!sameConsumers) {
      pluginServices = pluginServices(next); // every chain is rebuilt
    }
    GatewayContext nextContext = new GatewayContext(new Router(next.routes()),
        pluginChains(next, sameConsumers ? context.chains() : Map.of(), previous.routes()), nextUpstreams,
        next.limits(), metrics, accessLog, consumerNames(next), sessions, context.aliases().reload(next.models()),
        Pricing.of(next.pricing()), tracing);
    sessions.maxBytes(next.limits().maxSessionMemory());
    if (watchesStreams(nextContext.chains())) {
      TokenEstimator.ready(); // a watch added by the reload: loaded in the background (see start)
    }
    context = nextContext; // new requests take the new snapshot; running ones keep theirs
    upstreams = nextUpstreams;
    config = next;
    previousUpstreams.retire(nextUpstreams);
    nextUpstreams.startHealthChecks();
    List<String> errors = new ArrayList<>();
    try {
      server.reconcile(next.listeners(), next.limits(), new GatewayHandlers(() -> context));
    } catch (ListenException e) {
      errors.add(e.getMessage());
    } catch (SSLException e) {
      errors.add("TLS: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      errors.add("interrupted while binding listeners");
    }
    if (!errors.isEmpty()) {
      log.error("reload applied, but: {}", errors);
      return new ReloadResult(false, errors);
    }
    log.info("config reloaded: {} listener(s), {} route(s), {} upstream(s)",
        next.listeners().size(), next.routes().size(), next.upstreams().size());
    return ReloadResult.success();
  }

  /** Reloads whenever the config file's folder changes (debounced), until {@link #close}. */
  public void watchConfig(Duration debounce) {
    if (configFile != null && watcher == null) {
      watcher = ConfigWatcher.start(configFile, debounce, this::reload);
    }
  }

  // ---- shutdown ---------------------------------------------------------------------------------

  /**
   * Graceful shutdown (README, graceful drain): {@code /readyz} turns 503, listeners stop accepting, running
   * exchanges finish for up to {@code shutdown.drain-timeout}, the rest are ended with an error
   * event. The admin listener stays up until {@link #close}.
   */
  public void drain() throws InterruptedException {
    ready.set(false);
    Duration timeout = config.shutdown().drainTimeout();
    log.info("draining: {} open connection(s), up to {}", server.openConnections(), timeout);
    int cut = server.drain(timeout);
    log.info("drained ({} exchange(s) ended at the timeout)", cut);
  }

  // ---- AdminView --------------------------------------------------------------------------------

  @Override
  public GatewayConfig config() {
    return config;
  }

  @Override
  public Upstreams upstreams() {
    return upstreams;
  }

  @Override
  public PluginChain chain(String route) {
    return context.chain(route);
  }

  @Override
  public GatewayMetrics metrics() {
    return metrics;
  }

  @Override
  public boolean ready() {
    return ready.get();
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
    // The levels this config set go back to what they were (tests run many gateways in one JVM).
    LoggingConfigurator.applyLevels(LoggingConfig.DEFAULTS);
    if (watcher != null) {
      watcher.close();
    }
    server.close();
    admin.close();
    sessions.clear(); // generations that outlived their clients stop with the gateway
    upstreams.close();
    redisStores.close();
    transport.close();
    tracing.close(); // last: the exchanges that ended above still export their spans
  }
}
