package io.sluice.gateway;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.sluice.config.HeaderOps;
import io.sluice.config.RouteConfig.Api;
import io.sluice.config.SseConfig;
import io.sluice.config.WebSocketConfig;
import io.sluice.exchange.Exchange;
import io.sluice.http.ProxyHeaders;
import io.sluice.net.ClientIdentity;
import io.sluice.plugin.Decision;
import io.sluice.plugin.PluginChain;
import io.sluice.relay.ForwardRequest;
import io.sluice.relay.StreamWatch;
import io.sluice.route.Route;
import io.sluice.session.SessionPlan;
import io.sluice.telemetry.GenAiNames;
import io.sluice.upstream.Upstream;
import io.sluice.usage.RequestInfo;
import io.sluice.usage.RequestRewriter;
import io.sluice.usage.UsageTracker;
import io.sluice.websocket.WebSocketProxy;
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
  private final Channel client;
  private final String scheme;

  UpstreamRequests(GatewayContext gateway, Exchange exchange, IncomingRequest request, Admission admission,
      Channel client, String scheme) {
    this.gateway = gateway;
    this.exchange = exchange;
    this.request = request;
    this.admission = admission;
    this.client = client;
    this.scheme = scheme;
  }

  /** The HTTP request to relay; {@code usage} is what follows the answer's tokens, or null. */
  ForwardRequest http(Upstream upstream, UsageTracker usage, boolean keepAlive) {
    Route route = admission.route();
    HttpRequest head = request.head();
    return new ForwardRequest(head.method(), route.rewrite(request.path()) + admission.pluginRequest().query(),
        headers(upstream), request.body(), keepAlive, head.protocolVersion(), route.responseHeaders(),
        route.config().sse(), usage, sessionPlan(), streamWatch(usage),
        gzip() ? route.config().compression().minSize() : -1);
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
   * Follows the tokens of a model API's answer (never on {@code passthrough} routes). A streamed
   * {@code openai-chat} request that did not ask for usage is asked for it here (the body is
   * rewritten), and the extra chunk is dropped again on its way back.
   */
  UsageTracker trackUsage() {
    Route route = admission.route();
    Api api = route.api(exchange.path());
    if (api == Api.PASSTHROUGH) {
      return null;
    }
    RequestInfo info = RequestRewriter.inspect(api, request.body());
    exchange.genAi(GenAiNames.request(api, info.model()));
    if (info.rewritten()) {
      request.replaceBody(Unpooled.wrappedBuffer(info.rewrittenBody()));
    }
    return UsageTracker.forRequest(api, info, info.stream());
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
    HttpRequest head = request.head();
    HttpHeaders h = head.headers().copy();
    String clientHost = h.get(HttpHeaderNames.HOST);
    ProxyHeaders.removeHopByHop(h);
    h.remove(HttpHeaderNames.EXPECT);
    h.remove(SessionPlan.TRANSPORT_HEADER); // the gateway's business, not the model server's
    h.remove(HttpHeaderNames.HOST);
    ProxyHeaders.removeHttp2Conversion(h); // x-http2-*: Netty's notes on an HTTP/2 request, not the client's
    ProxyHeaders.addForwarded(h, ClientIdentity.peer(client), scheme, clientHost);
    h.set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
    HeaderOps ops = admission.route().requestHeaders();
    ops.remove().forEach(h::remove);
    for (Map.Entry<String, String> e : ops.set().entrySet()) {
      h.set(e.getKey(), e.getValue());
    }
    upstream.config().headers().forEach((name, value) -> h.set(name, value.reveal()));
    h.setInt(HttpHeaderNames.CONTENT_LENGTH, request.bodyBytes());
    if (request.bodyBytes() == 0 && !head.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
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

  /** The route's plugins' stream hooks, when one of them watches streams (and usage is tracked). */
  private StreamWatch streamWatch(UsageTracker usage) {
    PluginChain chain = admission.chain();
    if (usage == null || !chain.watchesStreams()) {
      return null;
    }
    PluginRequest watched = admission.pluginRequest();
    int reached = admission.reached();
    return soFar -> {
      Decision.Reject stop = chain.runStreamUsage(watched, reached, soFar);
      return stop == null ? null : new StreamWatch.Stop(stop.type(), stop.code(), stop.message());
    };
  }
}
