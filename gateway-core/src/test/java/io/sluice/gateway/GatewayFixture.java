package io.sluice.gateway;

import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.config.RouteConfig;
import io.sluice.net.ClientIdentity;
import io.sluice.net.CidrSet;
import io.sluice.net.Transport;
import io.sluice.observe.AccessLog;
import io.sluice.observe.GatewayMetrics;
import io.sluice.plugin.Decision;
import io.sluice.plugin.Phase;
import io.sluice.plugin.PluginChain;
import io.sluice.plugin.PluginFactory;
import io.sluice.plugin.PluginRegistry;
import io.sluice.plugin.RequestContext;
import io.sluice.route.Router;
import io.sluice.session.StreamSessions;
import io.sluice.store.RedisStores;
import io.sluice.testing.FakeServices;
import io.sluice.testing.RecordingPlugin;
import io.sluice.upstream.ModelAliases;
import io.sluice.upstream.Upstreams;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * A gateway snapshot for unit tests of this package: routes and plugins from a YAML snippet, real
 * metrics, no listener and no upstream connection. Plugins are the test's own factories.
 */
final class GatewayFixture implements AutoCloseable {
  final Transport transport = Transport.create(1);
  final GatewayMetrics metrics = new GatewayMetrics();
  final GatewayContext context;

  GatewayFixture(String yaml, PluginFactory<?>... plugins) throws Exception {
    String full = "listeners: [ { name: public, host: 127.0.0.1, port: 0 } ]\n"
        + "admin: { host: 127.0.0.1, port: 0 }\n" + yaml;
    GatewayConfig config = new ConfigLoader(name -> null, PluginRegistry.of(List.of(plugins))).parse(full, Path.of("."));
    Map<String, PluginChain> chains = new LinkedHashMap<>();
    FakeServices services = new FakeServices();
    for (RouteConfig route : config.routes()) {
      chains.put(route.name(), PluginChain.of(route.plugins(), services));
    }
    context = new GatewayContext(new Router(config.routes()), chains, new Upstreams(config.upstreams(), transport),
        config.limits(), metrics, new AccessLog(false), Set.of("alice"),
        new StreamSessions(config.limits().maxSessionMemory(), metrics, new RedisStores(metrics::storeDegraded)),
        new ModelAliases(config.models(), System::nanoTime, new Random(1)));
  }

  /** A connection handler over this snapshot, as a plain-HTTP listener makes it. */
  ConnectionHandler handler() {
    return new ConnectionHandler(() -> context, "http", new ClientIdentity(CidrSet.of(List.of())));
  }

  @Override
  public void close() {
    transport.close();
  }

  /** A plugin of phase TRAFFIC that records its calls into {@code calls} and answers {@code answer}. */
  static PluginFactory<Object> plugin(String name, boolean needsBody, List<String> calls,
      Function<RequestContext, CompletionStage<Decision>> answer) {
    return RecordingPlugin.factory(name, Phase.TRAFFIC, 0, needsBody, calls, answer);
  }

  /** A stage the test completes by hand (an asynchronous plugin). */
  static CompletableFuture<Decision> later() {
    return new CompletableFuture<>();
  }
}
