package io.sluice.gateway;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.EventExecutor;
import io.sluice.exchange.Exchange;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.plugin.Decision;
import io.sluice.plugin.PluginChain;
import io.sluice.route.ModelExtractor;
import io.sluice.route.Route;
import io.sluice.route.Router;
import io.sluice.session.SessionEvents;
import java.util.Map;

/**
 * Whether a request may go on, and where: the route (on the headers, or on the body's
 * {@code model} when the route depends on it), a CORS preflight's route, then the route's plugins
 * (ACCESS → AUTHN → TRAFFIC) — those that need the body once it is here — and
 * {@code Expect: 100-continue}, answered only once the plugins let the request through.
 *
 * <pre>
 *   headers → route? ─ yes → plugins not needing the body ─┬─ body complete → remaining plugins ─→ admitted
 *               └ no (needs the model) → body → route ─────┘          any plugin refuses ─→ refused
 * </pre>
 *
 * <p>A request a plugin refuses never opens an upstream connection. Threading: runs on the
 * client's event loop; asynchronous plugins hand their decision back to it.
 */
final class Admission {
  /** What the connection does with each outcome. */
  interface Outcome {
    /** Answer the client with this response (an error, or a plugin's own answer); the exchange ends. */
    void refused(FullHttpResponse response);

    /** Send {@code 100 Continue}: the body is needed now. */
    void sendContinue();

    /** The route is known and every plugin let the request through, with its whole body. */
    void admitted();
  }

  private static final String LAST_EVENT_ID = "Last-Event-ID";

  private final GatewayContext gateway;
  private final Exchange exchange;
  private final IncomingRequest request;
  private final EventExecutor loop;
  private final ByteBufAllocator alloc;
  private final Outcome outcome;

  private Route route;
  private PluginChain chain = PluginChain.empty();
  private PluginRequest pluginRequest;
  private SessionEvents.Position resumeFrom; // a resume (Last-Event-ID) of one of our streams
  private int reached; // plugins [0, reached) were called
  private int passed; // plugins [0, passed) let the request through
  private boolean running;
  private boolean cancelled;

  Admission(GatewayContext gateway, Exchange exchange, IncomingRequest request, EventExecutor loop,
      ByteBufAllocator alloc, Outcome outcome) {
    this.gateway = gateway;
    this.exchange = exchange;
    this.request = request;
    this.loop = loop;
    this.alloc = alloc;
    this.outcome = outcome;
  }

  /** The headers are here: routes now when the route does not depend on the body. */
  void start() {
    if (!gateway.router().needsModel(request.path())) {
      resolveRoute();
    } else if (HttpUtil.is100ContinueExpected(request.head())) {
      outcome.sendContinue(); // the route depends on the body: it must be read first
    }
  }

  /**
   * A request to a stream session's own endpoints: it takes the route the stream started on, so
   * that route's plugins (authentication first) apply before the owner is checked.
   */
  void startOn(Route started) {
    enterRoute(started);
    pluginRequest.answeredFromSession();
    runPlugins(0, request.complete() ? chain.size() : chain.firstNeedingBody());
  }

  /** The whole body is here. */
  void bodyComplete() {
    if (route == null) {
      resolveRoute();
    } else if (passed == chain.size() && !running) {
      outcome.admitted();
    } else if (!running) {
      pluginRequest.body(request.body());
      runPlugins(passed, chain.size()); // the plugins that waited for the body
    }
  }

  /** The exchange ended (answered, or the client left): a plugin still running is ignored. */
  void cancel() {
    cancelled = true;
  }

  private void resolveRoute() {
    HttpRequest head = request.head();
    HttpHeaders headers = head.headers();
    Router.Match match = preflightMatch(headers);
    if (match == null) {
      match = gateway.router().match(head.method().name(), request.path(), headers::get,
          () -> ModelExtractor.model(request.body()));
    }
    if (match instanceof Router.Match.MethodNotAllowed m) {
      FullHttpResponse response = GatewayErrors.response(alloc, ErrorKind.METHOD_NOT_ALLOWED,
          head.method().name() + " is not allowed on " + request.path());
      response.headers().set(HttpHeaderNames.ALLOW, String.join(", ", m.allowed()));
      outcome.refused(response);
      return;
    }
    if (!(match instanceof Router.Match.Found found)) {
      outcome.refused(GatewayErrors.response(alloc, ErrorKind.ROUTE_NOT_FOUND,
          "no route for " + request.path()));
      return;
    }
    enterRoute(found.route());
    if (route.config().sse().resume().enabled()) {
      resumeFrom = SessionEvents.position(headers.get(LAST_EVENT_ID));
    }
    if (resumeFrom != null) {
      pluginRequest.answeredFromSession();
    }
    runPlugins(0, request.complete() ? chain.size() : chain.firstNeedingBody());
  }

  private void enterRoute(Route matched) {
    route = matched;
    exchange.routeName(route.name());
    chain = gateway.chain(route.name());
    pluginRequest = new PluginRequest(route.name(), request.head(), request.path(), request.query(),
        exchange.clientIp(), loop);
    pluginRequest.defaultMaxTokens(route.config().defaultMaxTokens());
    if (request.complete()) {
      pluginRequest.body(request.body());
    }
  }

  /**
   * A CORS preflight is answered "before method matching": an {@code OPTIONS} with
   * {@code Origin} and {@code Access-Control-Request-Method} takes the route the announced method
   * would take, when that route has a plugin that answers preflights. Otherwise null: the
   * {@code OPTIONS} is matched like any request.
   */
  private Router.Match preflightMatch(HttpHeaders headers) {
    String requested = headers.get(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD);
    if (!HttpMethod.OPTIONS.equals(request.head().method()) || requested == null
        || !headers.contains(HttpHeaderNames.ORIGIN)) {
      return null;
    }
    Route preflight = gateway.router().preflightRoute(requested.trim(), request.path(), headers::get);
    return preflight != null && gateway.chain(preflight.name()).answersPreflights()
        ? new Router.Match.Found(preflight) : null;
  }

  /** Runs plugins {@code [from, to)}: on the headers, those that do not need the body; once it is here, the rest. */
  private void runPlugins(int from, int to) {
    if (from >= to) {
      decided(Decision.PROCEED, to);
      return;
    }
    running = true;
    chain.runRequest(pluginRequest, from, to, loop, i -> reached = Math.max(reached, i))
        .whenComplete((decision, error) -> {
          if (cancelled) {
            return; // the client went away while a plugin waited
          }
          running = false;
          decided(error != null
              ? new Decision.Reject(500, "server_error", "plugin_failed", "a plugin failed", Map.of())
              : decision, to);
        });
  }

  private void decided(Decision decision, int ranTo) {
    if (decision instanceof Decision.Reject r) {
      FullHttpResponse response = GatewayErrors.response(alloc, r.status(), r.type(), r.code(), r.message());
      r.headers().forEach(response.headers()::set);
      exchange.outcome(r.code());
      outcome.refused(response);
      return;
    }
    if (decision instanceof Decision.Respond own) {
      FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
          HttpResponseStatus.valueOf(own.status()), Unpooled.EMPTY_BUFFER);
      own.headers().forEach(response.headers()::set);
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
      outcome.refused(response);
      return;
    }
    passed = ranTo;
    if (passed < chain.size()) {
      if (request.complete()) {
        pluginRequest.body(request.body());
        runPlugins(passed, chain.size());
      } else if (HttpUtil.is100ContinueExpected(request.head())) {
        outcome.sendContinue(); // the remaining plugins need the body
      }
      return;
    }
    if (request.complete()) {
      outcome.admitted();
    } else if (HttpUtil.is100ContinueExpected(request.head())) {
      outcome.sendContinue();
    }
  }

  /**
   * Last changes to a response's headers: what plugins asked to add, then the response hooks
   * of the plugins that saw the request (in reverse order).
   */
  void responseHeaders(int status, HttpHeaders headers) {
    if (pluginRequest != null) {
      pluginRequest.applyResponseHeaders(headers);
      chain.runResponseHeaders(pluginRequest, reached, status, pluginRequest.responseView(headers));
      pluginRequest.responseView(null); // the hooks are over: the head is not kept with the request
    }
  }

  /** The route, once matched. */
  Route route() {
    return route;
  }

  PluginChain chain() {
    return chain;
  }

  /** The request as the route's plugins see (and change) it; null before the route is known. */
  PluginRequest pluginRequest() {
    return pluginRequest;
  }

  /** How many plugins were called: only they see the response and completion hooks. */
  int reached() {
    return reached;
  }

  /** Where a resume ({@code Last-Event-ID} of one of the gateway's streams) reads on; else null. */
  SessionEvents.Position resumeFrom() {
    return resumeFrom;
  }
}
