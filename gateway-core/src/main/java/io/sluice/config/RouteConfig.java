package io.sluice.config;

import java.time.Duration;
import java.util.List;

/**
 * One route ({@code routes[]}): which requests it takes and how they are forwarded.
 *
 * @param api null when not configured: it is then chosen per request from the path received
 * @param rewritePath null = forward the normalised path unchanged
 * @param timeout whole exchange including the stream; {@link Duration#ZERO} = none
 * @param plugins the route's resolved plugins with validated settings: the top-level {@code plugins}
 *     block's, each replaced by the route's own entry of that name or dropped by its {@code off},
 *     then the route's other entries, in the order written (the chain orders them by phase). Since
 *     global plugins are part of it, a route whose global plugins changed is not equal to the route
 *     before, and a reload rebuilds its plugins
 * @param compression response compression ({@link CompressionConfig#OFF} when not configured)
 * @param websocket WebSocket relaying ({@link WebSocketConfig#DISABLED} when not configured)
 * @param upstream the upstream serving requests whose model no alias of {@code models} names;
 *     null when the route serves its aliases only (or answers {@code api: models} itself)
 * @param models the model aliases ({@code models[]} names) the route serves; empty = none
 * @param failover how an aliased request moves on to its next target
 * @param defaultMaxTokens the route's {@code default-max-tokens}: the output a request that names no
 *     max tokens is expected to use (the reservation of {@code ai-token-ratelimit} and
 *     {@code ai-budget} when they set none); 0 when the route sets none
 */
public record RouteConfig(
    String name,
    MatchConfig match,
    String upstream,
    Api api,
    String rewritePath,
    HeaderOps requestHeaders,
    HeaderOps responseHeaders,
    Duration timeout,
    List<RoutePlugin> plugins,
    CompressionConfig compression,
    SseConfig sse,
    WebSocketConfig websocket,
    List<String> models,
    FailoverConfig failover,
    long defaultMaxTokens) {

  public RouteConfig {
    plugins = List.copyOf(plugins);
    models = List.copyOf(models);
  }

  /** A route without model aliases and without its own {@code default-max-tokens}. */
  public RouteConfig(String name, MatchConfig match, String upstream, Api api, String rewritePath,
      HeaderOps requestHeaders, HeaderOps responseHeaders, Duration timeout, List<RoutePlugin> plugins,
      CompressionConfig compression, SseConfig sse, WebSocketConfig websocket) {
    this(name, match, upstream, api, rewritePath, requestHeaders, responseHeaders, timeout, plugins,
        compression, sse, websocket, List.of(), FailoverConfig.DEFAULTS, 0);
  }

  /** A route without WebSocket relaying. */
  public RouteConfig(String name, MatchConfig match, String upstream, Api api, String rewritePath,
      HeaderOps requestHeaders, HeaderOps responseHeaders, Duration timeout, List<RoutePlugin> plugins,
      CompressionConfig compression, SseConfig sse) {
    this(name, match, upstream, api, rewritePath, requestHeaders, responseHeaders, timeout, plugins,
        compression, sse, WebSocketConfig.DISABLED);
  }

  /** A route with the default SSE behaviour. */
  public RouteConfig(String name, MatchConfig match, String upstream, Api api, String rewritePath,
      HeaderOps requestHeaders, HeaderOps responseHeaders, Duration timeout, List<RoutePlugin> plugins,
      CompressionConfig compression) {
    this(name, match, upstream, api, rewritePath, requestHeaders, responseHeaders, timeout, plugins,
        compression, SseConfig.DEFAULTS);
  }

  /** A route without compression. */
  public RouteConfig(String name, MatchConfig match, String upstream, Api api, String rewritePath,
      HeaderOps requestHeaders, HeaderOps responseHeaders, Duration timeout, List<RoutePlugin> plugins) {
    this(name, match, upstream, api, rewritePath, requestHeaders, responseHeaders, timeout, plugins,
        CompressionConfig.OFF);
  }

  /** A route without plugins. */
  public RouteConfig(String name, MatchConfig match, String upstream, Api api, String rewritePath,
      HeaderOps requestHeaders, HeaderOps responseHeaders, Duration timeout) {
    this(name, match, upstream, api, rewritePath, requestHeaders, responseHeaders, timeout, List.of());
  }

  /** The model API a route speaks; it decides how usage is read (token issue). */
  public enum Api {
    OPENAI_CHAT("openai-chat"),
    OPENAI_RESPONSES("openai-responses"),
    ANTHROPIC_MESSAGES("anthropic-messages"),
    PASSTHROUGH("passthrough"),
    /** {@code GET /v1/models} answered from the route's model aliases, without an upstream. */
    MODELS("models");

    private final String yamlName;

    Api(String yamlName) {
      this.yamlName = yamlName;
    }

    public String yamlName() {
      return yamlName;
    }

    /** The default for a route without {@code api}: from the request path as received. */
    public static Api forPath(String path) {
      if (path.startsWith("/v1/chat/completions")) {
        return OPENAI_CHAT;
      }
      if (path.startsWith("/v1/responses")) {
        return OPENAI_RESPONSES;
      }
      if (path.startsWith("/v1/messages")) {
        return ANTHROPIC_MESSAGES;
      }
      return PASSTHROUGH;
    }
  }
}
