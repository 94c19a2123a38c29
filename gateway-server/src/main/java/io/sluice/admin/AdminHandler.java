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
import io.sluice.upstream.Endpoint;
import io.sluice.upstream.Upstream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import io.sluice.plugin.PluginChain;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Answers the admin endpoints (SECURITY.md, "Admin listener"): {@code /healthz}, {@code /readyz},
 * {@code /metrics}, and the read-only {@code /admin/config}, {@code /admin/routes},
 * {@code /admin/upstreams}. {@code /admin/*} needs {@code Authorization: Bearer <admin.token>} when
 * a token is configured, and never answers web pages ({@link AdminBrowserGuard}).
 *
 * <p>Pipeline: {@code HttpServerCodec → HttpObjectAggregator → AdminHandler}; shared.
 */
@ChannelHandler.Sharable
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final AdminView view;

  AdminHandler(AdminView view) {
    this.view = view;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    String path = request.uri();
    int q = path.indexOf('?');
    if (q >= 0) {
      path = path.substring(0, q);
    }
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    String refused = path.startsWith("/admin/")
        ? AdminBrowserGuard.problem(request, view.config().admin().token() != null) : null;
    if (refused != null) {
      send(ctx, GatewayErrors.response(ctx.alloc(), 403, "permission_error", "admin_forbidden", refused), keepAlive);
      return;
    }
    if (path.equals("/admin/reload") && request.method().equals(HttpMethod.POST) && authorized(request)) {
      // A reload reads files and binds ports: it runs off the event loop, the answer comes back to it.
      CompletableFuture.supplyAsync(view::reload).whenComplete((result, error) ->
          ctx.executor().execute(() -> send(ctx, reloadAnswer(ctx, result, error), keepAlive)));
      return;
    }
    send(ctx, answer(ctx, request, path), keepAlive);
  }

  private static void send(ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
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
      case "/readyz" -> !get ? notAllowed(ctx, "GET") : view.ready()
          ? json(ctx, HttpResponseStatus.OK, "{\"status\":\"ready\"}")
          : json(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "{\"status\":\"not ready\"}");
      case "/metrics" -> get ? text(ctx, view.metrics().scrape()) : notAllowed(ctx, "GET");
      case "/admin/config" -> get ? json(ctx, HttpResponseStatus.OK, write(view.config().redacted())) : notAllowed(ctx, "GET");
      case "/admin/reload" -> notAllowed(ctx, "POST");
      case "/admin/routes" -> get ? json(ctx, HttpResponseStatus.OK, write(routes())) : notAllowed(ctx, "GET");
      case "/admin/upstreams" -> get ? json(ctx, HttpResponseStatus.OK, write(upstreamHealth())) : notAllowed(ctx, "GET");
      default -> GatewayErrors.response(ctx.alloc(), ErrorKind.NOT_FOUND, "no admin endpoint " + path);
    };
  }

  private boolean authorized(FullHttpRequest request) {
    GatewayConfig config = view.config();
    if (config.admin().token() == null) {
      return true;
    }
    String header = request.headers().get(HttpHeaderNames.AUTHORIZATION, "");
    String expected = "Bearer " + config.admin().token().reveal();
    return MessageDigest.isEqual(header.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
  }

  private ArrayNode routes() {
    ArrayNode out = JSON.createArrayNode();
    for (RouteConfig r : view.config().routes()) {
      ObjectNode node = out.addObject();
      node.put("name", r.name());
      node.set("match", JSON.valueToTree(r.match()));
      node.put("upstream", r.upstream());
      node.put("api", r.api() == null ? "auto" : r.api().yamlName());
      ArrayNode plugins = node.putArray("plugins"); // in the order they run
      for (PluginChain.Entry e : view.chain(r.name()).entries()) {
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
    for (Upstream u : view.upstreams().all()) {
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

  /**
   * {@code POST /admin/reload}: 200 {@code {"status":"applied"}}, or 400
   * {@code {"status":"rejected","errors":[…]}} with the old config still serving.
   */
  private static FullHttpResponse reloadAnswer(ChannelHandlerContext ctx, AdminView.ReloadResult result,
      Throwable error) {
    if (error != null) {
      result = AdminView.ReloadResult.rejected(List.of("reload failed: " + error.getMessage()));
    }
    ObjectNode body = JSON.createObjectNode();
    body.put("status", result.applied() ? "applied" : "rejected");
    if (!result.applied()) {
      ArrayNode errors = body.putArray("errors");
      result.errors().forEach(errors::add);
    }
    return json(ctx, result.applied() ? HttpResponseStatus.OK : HttpResponseStatus.BAD_REQUEST, write(body));
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
