package io.sluice.config;

import static io.sluice.config.ConfigNode.or;

import io.sluice.config.RouteConfig.Api;
import io.sluice.http.HttpSyntax;
import io.sluice.store.RedisStores;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The config's {@code routes}: each route's match, its upstream or model aliases, header changes,
 * timeout, compression, SSE (heartbeats, resume, long polling), WebSocket and plugins. Read after
 * the upstreams, models, consumers and global plugins, which routes refer to.
 *
 * @param upstreams the upstreams read, which {@code upstream:} names
 * @param models the model aliases read, which {@code models:} names
 * @param plugins the global plugins read, which each route's plugins start from
 */
record RouteBlocks(UpstreamBlocks upstreams, ModelBlocks models, PluginBlocks plugins) {
  List<RouteConfig> routes(ConfigNode node) {
    List<RouteConfig> out = new ArrayList<>();
    Map<String, String> names = new HashMap<>();
    for (MapReader m : node.mapItems()) {
      String name = m.get("name").required().unique(names, "route name");
      MatchConfig match = match(m.get("match").required());
      Api api = m.get("api").choice(Api.values(), Api::yamlName);
      List<String> aliases = models.routeModels(m.get("models"));
      ConfigNode upstreamNode = m.get("upstream");
      String upstream = aliases.isEmpty() && api != Api.MODELS ? upstreams.ref(upstreamNode.required())
          : upstreamNode.present() ? upstreams.ref(upstreamNode) : null;
      models.checkApi(api, upstream, upstreamNode, aliases, m.get("models"));
      FailoverConfig failover = ModelBlocks.failover(m.get("failover"));
      String rewrite = m.get("rewrite-path").absolutePath();
      HeaderOps requestHeaders = HeaderBlocks.ops(m.get("request-headers"));
      HeaderOps responseHeaders = HeaderBlocks.ops(m.get("response-headers"));
      Duration timeout = or(m.get("timeout").duration(), Duration.ZERO);
      CompressionConfig compression = compression(m.get("compression"));
      SseConfig sse = sse(m.get("sse"));
      List<RoutePlugin> routePlugins = plugins.route(m.get("plugins"));
      WebSocketConfig websocket = WebSocketConfig.parse(m.get("websocket"));
      Long defaultMaxTokens = or(m.get("default-max-tokens").longValue(1, 10_000_000), 0L);
      m.finish();
      if (websocket.enabled() && upstream == null && name != null) {
        m.get("websocket").problem("a WebSocket route needs an upstream (model aliases serve HTTP requests)");
      }
      boolean served = upstream != null || !aliases.isEmpty() || api == Api.MODELS;
      if (name != null && match != null && served && failover != null) {
        out.add(new RouteConfig(name, match, upstream, api, rewrite, requestHeaders, responseHeaders, timeout,
            routePlugins, compression, sse, websocket, aliases, failover, defaultMaxTokens));
      }
    }
    return out;
  }

  private static MatchConfig match(ConfigNode node) {
    MapReader m = node.map();
    if (m == null) {
      return null;
    }
    ConfigNode pathNode = m.get("path");
    ConfigNode prefixNode = m.get("path-prefix");
    String path = pathNode.absolutePath();
    String prefix = prefixNode.absolutePath();
    List<String> methods = new ArrayList<>();
    for (ConfigNode methodNode : m.get("methods").stringItems()) {
      String method = methodNode.nonEmptyString();
      if (method != null && !HttpSyntax.isToken(method)) {
        methodNode.problem("not a valid HTTP method (got " + methodNode.got() + ")");
      } else if (method != null && !methods.contains(method.toUpperCase(Locale.ROOT))) {
        methods.add(method.toUpperCase(Locale.ROOT));
      }
    }
    Map<String, String> headers = new LinkedHashMap<>();
    Map<String, ConfigNode> headerNodes = m.get("headers").entries();
    if (headerNodes != null) {
      headerNodes.forEach(
          (name, value) -> {
            HeaderBlocks.checkName(name, value);
            String v = HeaderBlocks.value(value);
            if (v != null) {
              headers.put(name.toLowerCase(Locale.ROOT), v);
            }
          });
    }
    List<String> models = new ArrayList<>();
    for (ConfigNode modelNode : m.get("models").stringItems()) {
      String model = modelNode.nonEmptyString();
      if (model != null) {
        models.add(model);
      }
    }
    m.finish();
    if (pathNode.present() && prefixNode.present()) {
      node.problem("path and path-prefix cannot be combined (use one)");
      return null;
    }
    if (!pathNode.present() && !prefixNode.present()) {
      node.problem("requires path or path-prefix");
      return null;
    }
    if (path == null && prefix == null) {
      return null;
    }
    return new MatchConfig(path, prefix, methods, headers, models);
  }

  /** {@code routes[].compression}. */
  private static CompressionConfig compression(ConfigNode node) {
    MapReader m = node.map();
    if (m == null) {
      return CompressionConfig.OFF;
    }
    Boolean gzip = m.get("gzip").bool();
    Long minSize = m.get("min-size").size();
    m.finish();
    return new CompressionConfig(or(gzip, false), or(minSize, CompressionConfig.OFF.minSize()));
  }

  /** {@code routes[].sse}: heartbeats, resumable sessions, long polling. */
  private static SseConfig sse(ConfigNode node) {
    MapReader m = node.map();
    if (m == null) {
      return SseConfig.DEFAULTS;
    }
    Duration heartbeat = or(m.get("heartbeat").duration(), SseConfig.DEFAULTS.heartbeat());
    SseConfig.Resume resume = resume(m.get("resume"));
    SseConfig.LongPoll longPoll = longPoll(m.get("long-poll"));
    m.finish();
    return new SseConfig(heartbeat, resume, longPoll);
  }

  private static SseConfig.Resume resume(ConfigNode node) {
    SseConfig.Resume d = SseConfig.Resume.OFF;
    MapReader m = node.map();
    if (m == null) {
      return d;
    }
    Boolean enabled = m.get("enabled").bool();
    Integer events = m.get("buffer-events").integer(1, 1_000_000, null);
    Long bytes = m.get("buffer-bytes").positiveSize(Integer.MAX_VALUE);
    Duration ttl = m.get("ttl").positiveDuration();
    ConfigNode storeNode = m.get("store");
    String store = storeNode.present() ? storeNode.nonEmptyString() : null;
    if ("local".equals(store)) {
      store = null;
    } else if (store != null) {
      String problem = RedisStores.problem(store);
      if (problem != null) {
        storeNode.problem(problem.startsWith("expected ") ? "expected local, " + problem.substring(9) : problem);
        store = null;
      }
    }
    m.finish();
    return new SseConfig.Resume(or(enabled, false), or(events, d.bufferEvents()), or(bytes, d.bufferBytes()),
        or(ttl, d.ttl()), store);
  }

  private static SseConfig.LongPoll longPoll(ConfigNode node) {
    MapReader m = node.map();
    if (m == null) {
      return SseConfig.LongPoll.OFF;
    }
    Boolean enabled = m.get("enabled").bool();
    Duration wait = m.get("wait").positiveDuration();
    m.finish();
    return new SseConfig.LongPoll(or(enabled, false), or(wait, SseConfig.LongPoll.OFF.maxWait()));
  }
}
