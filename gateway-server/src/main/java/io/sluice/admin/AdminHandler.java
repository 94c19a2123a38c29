package io.sluice.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.sluice.config.GatewayConfig;
import io.sluice.config.RouteConfig;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.observe.GatewayMetrics;
import io.sluice.upstream.Endpoint;
import io.sluice.upstream.Upstream;
import io.sluice.upstream.Upstreams;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import io.sluice.plugin.PluginChain;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * Answers the admin endpoints (CONTRACT §5): {@code /healthz}, {@code /readyz}, {@code /metrics},
 * and the read-only {@code /admin/config}, {@code /admin/routes}, {@code /admin/upstreams}.
 * {@code /admin/*} needs {@code Authorization: Bearer <admin.token>} when a token is configured.
 *
 * <p>Pipeline: {@code HttpServerCodec → HttpObjectAggregator → AdminHandler}; shared.
 */
@ChannelHandler.Sharable
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final GatewayConfig config;
  private final GatewayMetrics metrics;
  private final Upstreams upstreams;
  private final BooleanSupplier ready;
  private final Function<String, PluginChain> chains;

  AdminHandler(GatewayConfig config, GatewayMetrics metrics, Upstreams upstreams,
      Function<String, PluginChain> chains, BooleanSupplier ready) {
    this.config = config;
    this.metrics = metrics;
    this.upstreams = upstreams;
    this.chains = chains;
    this.ready = ready;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    String path = request.uri();
    int q = path.indexOf('?');
    if (q >= 0) {
      path = path.substring(0, q);
    }
    FullHttpResponse response = answer(ctx, request, path);
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    HttpUtil.setKeepAlive(response, keepAlive);
    if (keepAlive) {
      ctx.writeAndFlush(response, ctx.voidPromise());
    } else {
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
  }

  private FullHttpResponse answer(ChannelHandlerContext ctx, FullHttpRequest request, String path) {
    if (!request.decoderResult().isSuccess()) {
      return GatewayErrors.response(ctx.alloc(), ErrorKind.MALFORMED_REQUEST, "malformed request");
    }
    boolean get = request.method().equals(HttpMethod.GET) || request.method().equals(HttpMethod.HEAD);
    if (path.startsWith("/admin/") && !authorized(request)) {
      boolean sent = request.headers().contains(HttpHeaderNames.AUTHORIZATION);
      FullHttpResponse denied = sent
          ? GatewayErrors.response(ctx.alloc(), ErrorKind.INVALID_TOKEN, "the admin token is not valid")
          : GatewayErrors.response(ctx.alloc(), ErrorKind.UNAUTHORIZED,
              "the admin API needs 'Authorization: Bearer <admin token>'");
      denied.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"sluice-admin\"");
      return denied;
    }
    return switch (path) {
      case "/healthz" -> get ? json(ctx, HttpResponseStatus.OK, "{\"status\":\"ok\"}") : notAllowed(ctx, "GET");
      case "/readyz" -> !get ? notAllowed(ctx, "GET") : ready.getAsBoolean()
          ? json(ctx, HttpResponseStatus.OK, "{\"status\":\"ready\"}")
          : json(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "{\"status\":\"not ready\"}");
      case "/metrics" -> get ? text(ctx, metrics.scrape()) : notAllowed(ctx, "GET");
      case "/admin/config" -> get ? json(ctx, HttpResponseStatus.OK, write(config.redacted())) : notAllowed(ctx, "GET");
      case "/admin/routes" -> get ? json(ctx, HttpResponseStatus.OK, write(routes())) : notAllowed(ctx, "GET");
      case "/admin/upstreams" -> get ? json(ctx, HttpResponseStatus.OK, write(upstreamHealth())) : notAllowed(ctx, "GET");
      default -> GatewayErrors.response(ctx.alloc(), ErrorKind.NOT_FOUND, "no admin endpoint " + path);
    };
  }

  private boolean authorized(FullHttpRequest request) {
    if (config.admin().token() == null) {
      return true;
    }
    String header = request.headers().get(HttpHeaderNames.AUTHORIZATION, "");
    String expected = "Bearer " + config.admin().token().reveal();
    return MessageDigest.isEqual(header.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
  }

  private ArrayNode routes() {
    ArrayNode out = JSON.createArrayNode();
    for (RouteConfig r : config.routes()) {
      ObjectNode node = out.addObject();
      node.put("name", r.name());
      node.set("match", JSON.valueToTree(r.match()));
      node.put("upstream", r.upstream());
      node.put("api", r.api() == null ? "auto" : r.api().yamlName());
      ArrayNode plugins = node.putArray("plugins"); // in the order they run
      for (PluginChain.Entry e : chains.apply(r.name()).entries()) {
        ObjectNode p = plugins.addObject();
        p.put("name", e.name());
        p.put("phase", e.phase().name());
        p.put("priority", e.priority());
      }
    }
    return out;
  }

  private ArrayNode upstreamHealth() {
    ArrayNode out = JSON.createArrayNode();
    for (Upstream u : upstreams.all()) {
      ObjectNode node = out.addObject();
      node.put("name", u.name());
      node.put("balancer", u.config().balancer().yamlName());
      ArrayNode endpoints = node.putArray("endpoints");
      for (Endpoint e : u.endpoints()) {
        ObjectNode en = endpoints.addObject();
        en.put("url", e.url());
        en.put("weight", e.weight());
        en.put("healthy", e.healthy());
        en.put("active_requests", e.activeRequests().get());
        en.put("open_connections", e.openConnectionCount());
      }
    }
    return out;
  }

  private static String write(Object node) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static FullHttpResponse notAllowed(ChannelHandlerContext ctx, String allow) {
    FullHttpResponse r = GatewayErrors.response(ctx.alloc(), ErrorKind.METHOD_NOT_ALLOWED, "use " + allow);
    r.headers().set(HttpHeaderNames.ALLOW, allow);
    return r;
  }

  private static FullHttpResponse json(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
    return respond(ctx, status, "application/json", body);
  }

  private static FullHttpResponse text(ChannelHandlerContext ctx, String body) {
    return respond(ctx, HttpResponseStatus.OK, PROMETHEUS_TEXT, body);
  }

  private static FullHttpResponse respond(ChannelHandlerContext ctx, HttpResponseStatus status, String type, String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ByteBuf content = ctx.alloc().buffer(bytes.length).writeBytes(bytes);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, type).setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
    return r;
  }
}
