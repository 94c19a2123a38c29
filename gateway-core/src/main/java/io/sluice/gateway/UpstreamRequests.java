package io.sluice.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.sluice.config.HeaderOps;
import io.sluice.config.Provider;
import io.sluice.config.RouteConfig.Api;
import io.sluice.config.SseConfig;
import io.sluice.config.WebSocketConfig;
import io.sluice.exchange.Exchange;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.http.ProxyHeaders;
import io.sluice.plugin.Decision;
import io.sluice.plugin.PluginChain;
import io.sluice.relay.ForwardRequest;
import io.sluice.relay.StreamWatch;
import io.sluice.relay.Target;
import io.sluice.relay.UsageHook;
import io.sluice.route.Route;
import io.sluice.session.SessionPlan;
import io.sluice.translate.MalformedBodyException;
import io.sluice.translate.TranslatedError;
import io.sluice.translate.TranslatedRequest;
import io.sluice.translate.Translation;
import io.sluice.translate.UntranslatableFieldException;
import io.sluice.upstream.ProviderRequests;
import io.sluice.telemetry.GenAiNames;
import io.sluice.upstream.Upstream;
import io.sluice.usage.RequestInfo;
import io.sluice.usage.RequestRewriter;
import io.sluice.usage.TokenEstimator;
import io.sluice.usage.UsageTracker;
import io.sluice.websocket.WebSocketProxy;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * What goes upstream for an admitted request: the headers as forwarded (hop-by-hop and the
 * gateway's own dropped, {@code Forwarded}/{@code X-Forwarded-*} and the request id added, the
 * route's and the upstream's header changes applied), the body (rewritten to ask for usage where
 * the client did not), whether the answer is gzipped, kept as a session, and watched by plugins.
 */
final class UpstreamRequests {
  private final GatewayContext gateway;
  private final Exchange exchange;
  private final IncomingRequest request;
  private final Admission admission;
  private final String peer;
  private final String scheme;

  UpstreamRequests(GatewayContext gateway, Exchange exchange, IncomingRequest request, Admission admission,
      String peer, String scheme) {
    this.gateway = gateway;
    this.exchange = exchange;
    this.request = request;
    this.admission = admission;
    this.peer = peer;
    this.scheme = scheme;
  }

  /**
   * The HTTP request to relay to one target.
   *
   * @param info what {@link #inspect} read of the body, or null when usage is not tracked
   * @param alias whether {@code model} is an alias's target model, to be put into the body
   * @param model the model the target is asked for (the client's when not an alias), or null
   */
  Target target(Upstream upstream, RequestInfo info, boolean alias, String model, boolean keepAlive) {
    Route route = admission.route();
    HttpRequest head = request.head();
    ByteBuf body = request.body();
    String rawQuery = admission.pluginRequest().query();
    String rewritten = route.rewrite(request.path());
    // Without a query the path itself, not a copy: the upstream request keeps it for the stream's life.
    String path = rawQuery.isEmpty() ? rewritten : rewritten + rawQuery;
    Api api = api();
    Provider provider = upstream.config().provider();
    Translation translation = provider.speaks(api) ? null : Translation.between(api, provider.api());
    TranslatedRequest translated = null;
    if (translation != null) {
      try {
        translated = translation.request(ByteBufUtil.getBytes(body), model, route.config().defaultMaxTokens() > 0
            ? (int) Math.min(Integer.MAX_VALUE, route.config().defaultMaxTokens()) : Translation.DEFAULT_MAX_TOKENS);
      } catch (UntranslatableFieldException e) {
        return new Target(upstream, null, model, translation.refusal(e));
      } catch (MalformedBodyException e) {
        return new Target(upstream, null, model, new TranslatedError(400, GatewayErrors.json(
            ErrorKind.MALFORMED_REQUEST, "the request body is not a valid JSON request: " + e.getMessage())
            .getBytes(StandardCharsets.UTF_8)));
      }
      // The gateway may have asked for usage on the client's behalf (the include_usage rewrite):
      // the translated stream ends with the usage chunk only when the client itself asked.
      translated = new TranslatedRequest(translated.body(), translated.streamed(),
          info != null ? info.clientAskedForUsage() : translated.clientWantsUsage());
      body = Unpooled.wrappedBuffer(translated.body());
      int query = path.indexOf('?');
      path = translation.upstreamPath() + (query < 0 ? "" : path.substring(query));
    } else if (alias) {
      byte[] spliced = RequestRewriter.withModel(body, model);
      body = spliced == null ? body : Unpooled.wrappedBuffer(spliced);
    }
    UsageTracker usage = info == null ? null : translation != null
        // the upstream's events carry the full counts: followed before they are translated
        ? new UsageTracker(translation.upstream(), translated.streamed(), false, model, info.prompt())
        : new UsageTracker(api, info.stream(), info.dropUsageChunk(), model, info.prompt());
    if (usage != null) {
      usage.offHeap(request.alloc()); // its text lives as long as the stream: released by the exchange's ending
    }
    HttpHeaders headers = headers(upstream, body.readableBytes());
    if (translation != null) {
      headers.remove(HttpHeaderNames.ACCEPT_ENCODING); // the answer is parsed to be translated: identity
    }
    ForwardRequest forward = new ForwardRequest(head.method(), ProviderRequests.path(upstream.config(), path, model),
        headers, body, keepAlive, head.protocolVersion(), route.responseHeaders(), route.config().sse(), usage,
        sessionPlan(), streamWatch(usage), gzip() ? route.config().compression().minSize() : -1, translation,
        translated, settle(usage));
    return new Target(upstream, forward, model);
  }

  /** The WebSocket upgrade to open upstream. */
  WebSocketProxy.Target webSocket(Upstream upstream) {
    Route route = admission.route();
    WebSocketConfig ws = route.config().websocket();
    return new WebSocketProxy.Target(route.rewrite(request.path()) + admission.pluginRequest().query(),
        headers(upstream), route.responseHeaders(), ws, ws.idleTimeout(gateway.limits().idleTimeout()),
        route.timeout(), admission.pluginRequest().queryParam("model"));
  }

  /**
   * Reads what token accounting needs from the body (null on {@code passthrough} routes, whose
   * answers are not followed). A streamed {@code openai-chat} request that did not ask for usage
   * is asked for it here (the body is rewritten), and the extra chunk is dropped again on its way
   * back.
   */
  RequestInfo inspect() {
    Api api = api();
    if (api == Api.PASSTHROUGH) {
      return null;
    }
    RequestInfo info = RequestRewriter.inspect(api, request.body());
    info.prompt().readFrom(request::body); // the request's body, even once a rewrite replaced it
    exchange.genAi(GenAiNames.request(api, info.model()));
    if (info.rewritten()) {
      // in a pooled direct buffer, not on the heap: it is kept to the exchange's end (RequestInfo)
      request.replaceBody(info.rewrittenBuffer(request.body().alloc()));
    }
    return info;
  }

  /** The API the route speaks: configured, else decided by the path. */
  private Api api() {
    return admission.route().api(exchange.path());
  }

  /** Whether the route gzips answers and the client takes them. */
  private boolean gzip() {
    return admission.route().config().compression().gzip() && acceptsGzip(request.head().headers());
  }

  /** {@code Accept-Encoding} lists gzip (or *) without {@code q=0}. */
  static boolean acceptsGzip(HttpHeaders headers) {
    for (String value : headers.getAll(HttpHeaderNames.ACCEPT_ENCODING)) {
      for (String part : value.split(",")) {
        String[] fields = part.trim().split(";");
        String coding = fields[0].trim().toLowerCase(Locale.ROOT);
        if (!coding.equals("gzip") && !coding.equals("*")) {
          continue;
        }
        boolean refused = false;
        for (int i = 1; i < fields.length; i++) {
          String q = fields[i].trim().toLowerCase(Locale.ROOT);
          refused |= q.startsWith("q=") && q.substring(2).trim().matches("0(\\.0{0,3})?");
        }
        if (!refused) {
          return true;
        }
      }
    }
    return false;
  }

  private HttpHeaders headers(Upstream upstream) {
    return headers(upstream, request.bodyBytes());
  }

  private HttpHeaders headers(Upstream upstream, int bodyBytes) {
    HttpRequest head = request.head();
    HttpHeaders h = head.headers().copy();
    String clientHost = h.get(HttpHeaderNames.HOST);
    ProxyHeaders.removeHopByHop(h);
    h.remove(HttpHeaderNames.EXPECT);
    h.remove(SessionPlan.TRANSPORT_HEADER); // the gateway's business, not the model server's
    h.remove(HttpHeaderNames.HOST);
    ProxyHeaders.removeHttp2Conversion(h); // x-http2-*: Netty's notes on an HTTP/2 request, not the client's
    ProxyHeaders.addForwarded(h, peer, scheme, clientHost);
    h.set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
    HeaderOps ops = admission.route().requestHeaders();
    for (String name : ops.remove()) { // a loop, not forEach(h::remove): no bound reference per request
      h.remove(name);
    }
    for (Map.Entry<String, String> e : ops.set().entrySet()) {
      h.set(e.getKey(), e.getValue());
    }
    ProviderRequests.authorize(upstream.config(), h);
    upstream.config().headers().forEach((name, value) -> h.set(name, value.reveal()));
    h.setInt(HttpHeaderNames.CONTENT_LENGTH, bodyBytes);
    if (bodyBytes == 0 && !head.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
        && !HttpUtil.isTransferEncodingChunked(head)) {
      h.remove(HttpHeaderNames.CONTENT_LENGTH);
    }
    return h;
  }

  /** How the stream becomes a session, when the route keeps sessions; null otherwise. */
  private SessionPlan sessionPlan() {
    SseConfig sse = admission.route().config().sse();
    boolean longPoll = sse.longPoll().enabled()
        && "long-poll".equalsIgnoreCase(request.head().headers().get(SessionPlan.TRANSPORT_HEADER));
    if (!sse.resume().enabled() && !longPoll) {
      return null;
    }
    return new SessionPlan(gateway.sessions(), SessionPlan.owner(admission.pluginRequest().consumer(),
        exchange.clientIp()), admission.route().name(), sse.resume(), longPoll);
  }

  /** The route's plugins' usage hooks, when one of them settles usage before the end (and usage is tracked). */
  private UsageHook settle(UsageTracker usage) {
    PluginChain chain = admission.chain();
    if (usage == null || !chain.settlesUsage()) {
      return null;
    }
    PluginRequest settled = admission.pluginRequest();
    int reached = admission.reached();
    return used -> chain.runUsage(settled, reached, used);
  }

  /** The route's plugins' stream hooks, when one of them watches streams (and usage is tracked). */
  private StreamWatch streamWatch(UsageTracker usage) {
    PluginChain chain = admission.chain();
    if (usage == null || !chain.watchesStreams()) {
      return null;
    }
    TokenEstimator.ready(); // the watch reads estimates from the first content event: load the tokenizer now
    PluginRequest watched = admission.pluginRequest();
    int reached = admission.reached();
    return soFar -> {
      Decision.Reject stop = chain.runStreamUsage(watched, reached, soFar);
      return stop == null ? null : new StreamWatch.Stop(stop.type(), stop.code(), stop.message());
    };
  }
}
