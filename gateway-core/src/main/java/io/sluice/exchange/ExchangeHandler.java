package io.sluice.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.sluice.config.HeaderOps;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.http.MalformedRequestException;
import io.sluice.http.PathNormalizer;
import io.sluice.http.ProxyHeaders;
import io.sluice.net.ClientIdentity;
import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.PluginChain;
import io.sluice.relay.ClientRelay;
import io.sluice.relay.ProxyCall;
import io.sluice.relay.SessionPoll;
import io.sluice.relay.SessionRelay;
import io.sluice.session.SessionEvents;
import io.sluice.session.SessionPlan;
import io.sluice.session.StreamSession;
import io.sluice.route.ModelExtractor;
import io.sluice.route.Route;
import io.sluice.route.Router;
import io.sluice.server.RequestBodyTimeoutHandler;
import io.sluice.server.RequestHeaderTimeoutHandler;
import io.sluice.upstream.Upstream;
import io.sluice.usage.RequestInfo;
import io.sluice.usage.RequestRewriter;
import io.sluice.usage.Usage;
import io.sluice.usage.UsageTracker;
import io.sluice.config.RouteConfig.Api;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last handler of the client pipeline: turns each HTTP request into an {@link Exchange}, checks
 * it, routes it, runs the route's plugins, reads its body (capped), and hands it to a
 * {@link ProxyCall}.
 *
 * <p>Pipeline: {@code … → HttpServerCodec → ExchangeHandler}.
 *
 * <p>Order: path checks → route (on the headers, unless the route depends on the body's
 * {@code model}) → plugins (ACCESS → AUTHN → TRAFFIC), while the body keeps arriving → once both
 * the plugins proceeded and the body is complete, the upstream call. A request a plugin refuses
 * never opens an upstream connection; {@code Expect: 100-continue} is only answered once the
 * plugins let the request through.
 *
 * <p>One exchange at a time per connection. The connection keeps reading while a response
 * streams, so a client that goes away is noticed at once and its generation stopped; a pipelined
 * next request is held (and reading paused) until the current response ends.
 */
public final class ExchangeHandler extends ChannelInboundHandlerAdapter implements ProxyCall.ClientLeg {
  private static final Logger log = LoggerFactory.getLogger(ExchangeHandler.class);
  /** The plugin that answers CORS preflights (its name is fixed by CONTRACT §2). */
  private static final String CORS_PLUGIN = "cors";

  private enum State { IDLE, READING, PROXYING, DISCARDING, CLOSING }

  private final Supplier<GatewayContext> contexts;
  private final String scheme;
  private final ClientIdentity identity;
  private final ArrayDeque<Object> held = new ArrayDeque<>();

  private ChannelHandlerContext ctx;
  private State state = State.IDLE;
  private GatewayContext gateway;
  private Exchange exchange;
  private HttpRequest request;
  private String path;
  private String query;
  private CompositeByteBuf body;
  private boolean bodyComplete;
  private Route route;
  private PluginChain chain = PluginChain.empty();
  private PluginRequest pluginRequest;
  private int pluginsReached;
  private boolean pluginsPassed;
  private boolean pluginsRunning;
  private int pluginsDone; // plugins [0, pluginsDone) let the request through
  private ClientRelay call;
  private SessionEvents.Position resumeFrom; // a resume (Last-Event-ID) of one of our streams
  private SessionTarget sessionTarget; // a request to /sluice/streams/…
  private io.sluice.websocket.WebSocketProxy webSocket;
  private UsageTracker usage;
  private boolean draining;

  /**
   * @param contexts the current gateway snapshot (read once per request)
   * @param identity how the client's address is found (peer, PROXY protocol, trusted proxies)
   */
  public ExchangeHandler(Supplier<GatewayContext> contexts, String scheme, ClientIdentity identity) {
    this.contexts = contexts;
    this.scheme = scheme;
    this.identity = identity;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  /**
   * The pipeline is torn down (the channel deregistered): whatever buffers are still held go now,
   * even when the event loop was shut down before {@link #channelInactive} could run.
   */
  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (call == null && webSocket == null) {
      releaseBody(); // a running exchange still reads its body (a retry): channelInactive ends it
    }
    held.forEach(ReferenceCountUtil::release);
    held.clear();
  }

  @Override
  public ChannelHandlerContext context() {
    return ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (state == State.CLOSING) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (state == State.PROXYING || !held.isEmpty()
        || (msg instanceof HttpRequest && state != State.IDLE)) {
      held.add(msg); // pipelined: answered after the current response
      ctx.channel().config().setAutoRead(false);
      return;
    }
    if (msg instanceof HttpRequest req) {
      onRequest(req);
    }
    if (msg instanceof HttpContent content) {
      onBody(content);
    } else if (!(msg instanceof HttpRequest)) {
      ReferenceCountUtil.release(msg);
    }
  }

  // ---- request ----------------------------------------------------------------------------------

  private void onRequest(HttpRequest req) {
    RequestHeaderTimeoutHandler headerTimeout = ctx.pipeline().get(RequestHeaderTimeoutHandler.class);
    if (headerTimeout != null) {
      headerTimeout.headersReceived();
    }
    long now = System.nanoTime();
    gateway = contexts.get();
    request = req;
    bodyComplete = false;
    String requestId = ProxyHeaders.validRequestId(req.headers().get(ProxyHeaders.X_REQUEST_ID));
    exchange = new Exchange(requestId != null ? requestId : ProxyHeaders.newRequestId(),
        identity.clientIp(ctx.channel(), req.headers().getAll(ProxyHeaders.X_FORWARDED_FOR)),
        req.method().name(), rawPath(req.uri()), now);
    state = State.READING;

    DecoderResult result = req.decoderResult();
    if (result.isFailure() && !ctx.channel().isActive()) {
      return; // the client left mid-headers: nobody to answer; channelInactive logs it as 499
    }
    if (result.isFailure()) {
      Throwable cause = result.cause();
      if (cause instanceof TooLongHttpLineException) {
        rejectAndClose(ErrorKind.URI_TOO_LONG, "the request line is longer than the limit");
      } else if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
        rejectAndClose(ErrorKind.HEADERS_TOO_LARGE, "the request headers are larger than the limit");
      } else {
        rejectAndClose(ErrorKind.MALFORMED_REQUEST,
            cause instanceof MalformedRequestException ? cause.getMessage() : "malformed HTTP request");
      }
      return;
    }
    if (req.uri().length() > gateway.limits().maxUriLength()) {
      rejectAndClose(ErrorKind.URI_TOO_LONG, "the URI is longer than " + gateway.limits().maxUriLength() + " bytes");
      return;
    }
    String target = originForm(req.uri());
    if (target == null) {
      rejectAndClose(ErrorKind.BAD_PATH, "the request target must be a path");
      return;
    }
    int q = target.indexOf('?');
    try {
      path = PathNormalizer.normalize(q < 0 ? target : target.substring(0, q));
    } catch (PathNormalizer.BadPathException e) {
      reject(ErrorKind.BAD_PATH, e.getMessage());
      return;
    }
    query = q < 0 ? "" : target.substring(q);
    long declared = HttpUtil.getContentLength(req, -1L);
    if (declared > gateway.limits().maxRequestBody()) {
      rejectAndClose(ErrorKind.BODY_TOO_LARGE, "the request body is larger than "
          + gateway.limits().maxRequestBody() + " bytes");
      return;
    }
    if (path.startsWith(SessionPlan.PATH_PREFIX)) {
      body = ctx.alloc().compositeBuffer(64);
      sessionRequest();
      return;
    }
    if (gateway.router().noRouteForPath(path)) {
      reject(ErrorKind.ROUTE_NOT_FOUND, "no route for " + path);
      return;
    }
    body = ctx.alloc().compositeBuffer(64);
    if (!gateway.router().needsModel(path)) {
      resolveRoute();
    } else if (HttpUtil.is100ContinueExpected(req)) {
      sendContinue(); // the route depends on the body: it must be read first
    }
  }

  private void onBody(HttpContent content) {
    if (state == State.DISCARDING) {
      boolean last = content instanceof LastHttpContent;
      content.release();
      if (last) {
        nextRequest();
      }
      return;
    }
    if (state != State.READING || body == null) {
      content.release();
      return;
    }
    if (content.decoderResult().isFailure()) {
      content.release();
      rejectAndClose(ErrorKind.MALFORMED_REQUEST, "malformed request body");
      return;
    }
    ByteBuf bytes = content.content();
    if (body.readableBytes() + (long) bytes.readableBytes() > gateway.limits().maxRequestBody()) {
      content.release();
      rejectAndClose(ErrorKind.BODY_TOO_LARGE, "the request body is larger than "
          + gateway.limits().maxRequestBody() + " bytes");
      return;
    }
    if (bytes.isReadable()) {
      body.addComponent(true, bytes.retain());
    }
    boolean last = content instanceof LastHttpContent;
    content.release();
    if (!last) {
      return;
    }
    bodyComplete = true;
    exchange.mark(Moment.IN_REQ_BODY_RECEIVED, System.nanoTime());
    exchange.addBytesIn(body.readableBytes());
    if (route == null) {
      resolveRoute();
    } else if (pluginsPassed) {
      dispatch();
    } else if (!pluginsRunning && pluginsDone < chain.size()) {
      pluginRequest.body(body);
      runPlugins(pluginsDone, chain.size()); // the plugins that waited for the body
    }
  }

  /** Matches the route; on the headers when possible, else once the body (its model) is here. */
  private void resolveRoute() {
    HttpHeaders headers = request.headers();
    Router.Match match = preflightMatch(headers);
    if (match == null) {
      match = gateway.router().match(request.method().name(), path, headers::get, () -> ModelExtractor.model(body));
    }
    if (match instanceof Router.Match.MethodNotAllowed m) {
      FullHttpResponse response = GatewayErrors.response(ctx.alloc(), ErrorKind.METHOD_NOT_ALLOWED,
          request.method().name() + " is not allowed on " + path);
      response.headers().set(HttpHeaderNames.ALLOW, String.join(", ", m.allowed()));
      respond(response);
      return;
    }
    if (!(match instanceof Router.Match.Found found)) {
      reject(ErrorKind.ROUTE_NOT_FOUND, "no route for " + path);
      return;
    }
    enterRoute(found.route());
    if (route.config().sse().resume().enabled()) {
      resumeFrom = SessionEvents.position(headers.get(LAST_EVENT_ID));
    }
    if (resumeFrom != null) {
      pluginRequest.answeredFromSession();
    }
    runPlugins(0, bodyComplete ? chain.size() : chain.firstNeedingBody());
  }

  private void enterRoute(Route matched) {
    route = matched;
    exchange.routeName(route.name());
    chain = gateway.chain(route.name());
    pluginRequest = new PluginRequest(route.name(), request, path, query, exchange.clientIp(), ctx.executor());
    if (bodyComplete) {
      pluginRequest.body(body);
    }
  }

  // ---- stream sessions (CONTRACT §3 Resume, Long polling) ---------------------------------------

  private static final String LAST_EVENT_ID = "Last-Event-ID";

  /** {@code GET /sluice/streams/<id>/events} (a poll) or {@code DELETE /sluice/streams/<id>}. */
  private record SessionTarget(StreamSession session, boolean poll) {}

  /**
   * A request for a session's own endpoints: it takes the route the stream started on, so that
   * route's plugins (authentication first) apply before the owner is checked.
   */
  private void sessionRequest() {
    String rest = path.substring(SessionPlan.PATH_PREFIX.length());
    boolean poll = rest.endsWith("/events");
    String id = poll ? rest.substring(0, rest.length() - "/events".length()) : rest;
    String method = request.method().name();
    if (!id.matches("[0-9a-f]{32}")) {
      reject(ErrorKind.STREAM_NOT_FOUND, "no stream at " + path);
      return;
    }
    String allowed = poll ? "GET" : "DELETE";
    if (!method.equals(allowed)) {
      FullHttpResponse response = GatewayErrors.response(ctx.alloc(), ErrorKind.METHOD_NOT_ALLOWED,
          method + " is not allowed on " + path);
      response.headers().set(HttpHeaderNames.ALLOW, allowed);
      respond(response);
      return;
    }
    StreamSession session = gateway.sessions().get(id);
    Route started = session == null ? null : gateway.router().named(session.route());
    if (started == null) {
      gateway.metrics().streamResume("none", "not_found");
      reject(ErrorKind.STREAM_NOT_FOUND, "no stream " + id);
      return;
    }
    sessionTarget = new SessionTarget(session, poll);
    enterRoute(started);
    pluginRequest.answeredFromSession();
    runPlugins(0, bodyComplete ? chain.size() : chain.firstNeedingBody());
  }

  /**
   * Answers a resume, poll or delete from the session, once the route's plugins let it through:
   * only the stream's owner (its consumer, else its client address) may; to anyone else the
   * stream does not exist.
   */
  private void serveFromSession() {
    StreamSession session = sessionTarget != null ? sessionTarget.session()
        : gateway.sessions().get(resumeFrom.streamId());
    io.sluice.config.SseConfig.Resume resume = route.config().sse().resume();
    if (session == null && resumeFrom != null && resume.store() != null) {
      // Not ours: perhaps another instance runs it and shares it through Redis.
      state = State.PROXYING; // anything the client sends meanwhile waits
      Exchange current = exchange;
      gateway.sessions().openShared(resume.store(), resumeFrom.streamId(), resumeFrom.seq(), resume.bufferEvents(),
          resume.bufferBytes()).whenComplete((shared, error) -> ctx.executor().execute(() -> {
            if (exchange != current) {
              return; // the client went away meanwhile
            }
            state = State.READING;
            if (error != null) {
              log.debug("resume of {} through {} failed: {}", resumeFrom.streamId(), resume.store(), error.toString());
            }
            serve(shared);
          }));
      return;
    }
    serve(session);
  }

  private void serve(StreamSession session) {
    String owner = SessionPlan.owner(pluginRequest.consumer(), exchange.clientIp());
    if (session == null || !session.owner().equals(owner) || !session.route().equals(route.name())) {
      gateway.metrics().streamResume(route.name(), "not_found");
      reject(ErrorKind.STREAM_NOT_FOUND, "no stream "
          + (sessionTarget != null ? sessionTarget.session().id() : resumeFrom.streamId()) + " for this client");
      return;
    }
    if (sessionTarget != null && !sessionTarget.poll()) {
      gateway.sessions().remove(session);
      FullHttpResponse deleted = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NO_CONTENT,
          Unpooled.EMPTY_BUFFER);
      exchange.outcome("deleted");
      respond(deleted);
      return;
    }
    state = State.PROXYING;
    if (sessionTarget != null) {
      long after = pollCursor();
      if (after < 0) {
        state = State.READING;
        reject(ErrorKind.MALFORMED_REQUEST, "'after' must be an event number (the 'next' of the previous poll)");
        return;
      }
      SessionPoll poll = new SessionPoll(this, session, after, route.config().sse().longPoll().maxWait(), exchange,
          gateway.metrics());
      call = poll;
      poll.start();
    } else {
      SessionRelay relay = new SessionRelay(this, session, resumeFrom.seq(), exchange, route.config().sse(),
          gateway.metrics(), request.protocolVersion(), HttpUtil.isKeepAlive(request) && !draining);
      call = relay;
      relay.start();
    }
  }

  /** The poll's {@code after} (default 0), or -1 when it is not a number. */
  private long pollCursor() {
    String after = pluginRequest.queryParam("after");
    if (after == null || after.isEmpty()) {
      return 0;
    }
    if (after.length() > 18 || !after.chars().allMatch(Character::isDigit)) {
      return -1;
    }
    return Long.parseLong(after);
  }

  /**
   * A CORS preflight is answered "before method matching" (CONTRACT §4): an {@code OPTIONS} with
   * {@code Origin} and {@code Access-Control-Request-Method} takes the route the announced method
   * would take, when that route has the {@code cors} plugin to answer it. Otherwise (no such
   * route, or no {@code cors} on it) null: the {@code OPTIONS} is matched like any request.
   */
  private Router.Match preflightMatch(HttpHeaders headers) {
    String requested = headers.get(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD);
    if (!HttpMethod.OPTIONS.equals(request.method()) || requested == null
        || !headers.contains(HttpHeaderNames.ORIGIN)) {
      return null;
    }
    Route preflight = gateway.router().preflightRoute(requested.trim(), path, headers::get);
    return preflight != null && gateway.chain(preflight.name()).has(CORS_PLUGIN)
        ? new Router.Match.Found(preflight) : null;
  }

  /**
   * Runs plugins {@code [from, to)}: on the headers, those that do not need the body; once the
   * body is here, the rest.
   */
  private void runPlugins(int from, int to) {
    if (from >= to) {
      onPluginsDecided(Decision.PROCEED, to);
      return;
    }
    pluginsRunning = true;
    Exchange current = exchange;
    chain.runRequest(pluginRequest, from, to, ctx.executor(), i -> pluginsReached = Math.max(pluginsReached, i))
        .whenComplete((decision, error) -> {
          if (exchange != current || state != State.READING) {
            return; // the client went away while a plugin waited
          }
          pluginsRunning = false;
          onPluginsDecided(error != null
              ? new Decision.Reject(500, "server_error", "plugin_failed", "a plugin failed", Map.of())
              : decision, to);
        });
  }

  private void onPluginsDecided(Decision decision, int ranTo) {
    if (decision instanceof Decision.Reject r) {
      FullHttpResponse response = GatewayErrors.response(ctx.alloc(), r.status(), r.type(), r.code(), r.message());
      r.headers().forEach(response.headers()::set);
      exchange.outcome(r.code());
      respond(response);
      return;
    }
    if (decision instanceof Decision.Respond own) {
      FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
          HttpResponseStatus.valueOf(own.status()), Unpooled.EMPTY_BUFFER);
      own.headers().forEach(response.headers()::set);
      response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
      respond(response);
      return;
    }
    pluginsDone = ranTo;
    if (pluginsDone < chain.size()) {
      if (bodyComplete) {
        pluginRequest.body(body);
        runPlugins(pluginsDone, chain.size());
      } else if (HttpUtil.is100ContinueExpected(request)) {
        sendContinue(); // the remaining plugins need the body
      }
      return;
    }
    pluginsPassed = true;
    if (bodyComplete) {
      dispatch();
    } else if (HttpUtil.is100ContinueExpected(request)) {
      sendContinue();
    }
  }

  /** {@code Accept-Encoding} lists gzip (or *) without {@code q=0}. */
  static boolean acceptsGzip(io.netty.handler.codec.http.HttpHeaders headers) {
    for (String value : headers.getAll(HttpHeaderNames.ACCEPT_ENCODING)) {
      for (String part : value.split(",")) {
        String[] fields = part.trim().split(";");
        String coding = fields[0].trim().toLowerCase(java.util.Locale.ROOT);
        if (!coding.equals("gzip") && !coding.equals("*")) {
          continue;
        }
        boolean refused = false;
        for (int i = 1; i < fields.length; i++) {
          String q = fields[i].trim().toLowerCase(java.util.Locale.ROOT);
          refused |= q.startsWith("q=") && q.substring(2).trim().matches("0(\\.0{0,3})?");
        }
        if (!refused) {
          return true;
        }
      }
    }
    return false;
  }

  private void dispatch() {
    if (sessionTarget != null || resumeFrom != null) {
      serveFromSession();
      return;
    }
    Upstream upstream = gateway.upstreams().get(route.upstreamName());
    String forwardQuery = pluginRequest.query();
    if (io.sluice.websocket.WebSocketProxy.isUpgrade(route.config().websocket(), request, ctx)) {
      startWebSocket(upstream, forwardQuery);
      return;
    }
    usage = trackUsage();
    ProxyCall.Request forward = new ProxyCall.Request(request.method(), route.rewrite(path) + forwardQuery,
        forwardHeaders(upstream), body, HttpUtil.isKeepAlive(request) && !draining, request.protocolVersion(),
        route.responseHeaders(), route.config().sse(), usage, sessionPlan(), streamWatch());
    state = State.PROXYING;
    ProxyCall proxy = new ProxyCall(this, exchange, upstream, forward, route.timeout(), gateway.metrics());
    call = proxy;
    io.sluice.config.CompressionConfig compression = route.config().compression();
    if (compression.gzip() && acceptsGzip(request.headers())) {
      proxy.gzipResponse(compression.minSize());
    }
    proxy.start();
  }

  /** The route's plugins' stream hooks, when one of them watches streams (and usage is tracked). */
  private ProxyCall.StreamWatch streamWatch() {
    if (usage == null || !chain.watchesStreams()) {
      return null;
    }
    PluginChain watching = chain;
    PluginRequest watched = pluginRequest;
    int reached = pluginsReached;
    return soFar -> watching.runStreamUsage(watched, reached, soFar);
  }

  /** How the stream becomes a session, when the route keeps sessions; null otherwise. */
  private SessionPlan sessionPlan() {
    io.sluice.config.SseConfig sse = route.config().sse();
    boolean longPoll = sse.longPoll().enabled()
        && "long-poll".equalsIgnoreCase(request.headers().get(SessionPlan.TRANSPORT_HEADER));
    if (!sse.resume().enabled() && !longPoll) {
      return null;
    }
    return new SessionPlan(gateway.sessions(), SessionPlan.owner(pluginRequest.consumer(), exchange.clientIp()),
        route.name(), sse.resume(), longPoll);
  }

  /** An upgrade on a WebSocket route: the session takes the connection over (io.sluice.websocket). */
  private void startWebSocket(Upstream upstream, String forwardQuery) {
    state = State.PROXYING;
    io.sluice.config.WebSocketConfig ws = route.config().websocket();
    webSocket = new io.sluice.websocket.WebSocketProxy(this, exchange, upstream, request,
        new io.sluice.websocket.WebSocketProxy.Target(route.rewrite(path) + forwardQuery, forwardHeaders(upstream),
            route.responseHeaders(), ws, ws.idleTimeout(gateway.limits().idleTimeout()), route.timeout(),
            pluginRequest.queryParam("model")),
        gateway.metrics());
    webSocket.start();
  }

  /**
   * Follows the tokens of a model API's answer (never on {@code passthrough} routes). A streamed
   * {@code openai-chat} request that did not ask for usage is asked for it here (CONTRACT §4), and
   * the extra chunk is dropped again on its way back.
   */
  private UsageTracker trackUsage() {
    Api api = route.config().api() != null ? route.config().api() : Api.forPath(exchange.path());
    if (api == Api.PASSTHROUGH) {
      return null;
    }
    RequestInfo info = RequestRewriter.inspect(api, body);
    if (info.rewritten()) {
      CompositeByteBuf rewritten = ctx.alloc().compositeBuffer(1);
      rewritten.addComponent(true, Unpooled.wrappedBuffer(info.rewrittenBody()));
      body.release();
      body = rewritten;
    }
    return UsageTracker.forRequest(api, info, info.stream());
  }

  private HttpHeaders forwardHeaders(Upstream upstream) {
    HttpHeaders h = request.headers().copy();
    String clientHost = h.get(HttpHeaderNames.HOST);
    ProxyHeaders.removeHopByHop(h);
    ProxyHeaders.removeHttp2Conversion(h); // x-http2-*: Netty's notes on an HTTP/2 request, not the client's
    h.remove(HttpHeaderNames.EXPECT);
    h.remove(SessionPlan.TRANSPORT_HEADER); // the gateway's business, not the model server's
    h.remove(HttpHeaderNames.HOST);
    ProxyHeaders.addForwarded(h, ClientIdentity.peer(ctx.channel()), scheme, clientHost);
    h.set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
    HeaderOps ops = route.requestHeaders();
    ops.remove().forEach(h::remove);
    for (Map.Entry<String, String> e : ops.set().entrySet()) {
      h.set(e.getKey(), e.getValue());
    }
    upstream.config().headers().forEach((name, value) -> h.set(name, value.reveal()));
    h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    if (body.readableBytes() == 0 && !request.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
        && !HttpUtil.isTransferEncodingChunked(request)) {
      h.remove(HttpHeaderNames.CONTENT_LENGTH);
    }
    return h;
  }

  private void sendContinue() {
    ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
        Unpooled.EMPTY_BUFFER), ctx.voidPromise());
  }

  // ---- ProxyCall.ClientLeg ----------------------------------------------------------------------

  @Override
  public void prepareResponseHeaders(int status, HttpHeaders headers) {
    if (pluginRequest != null) {
      pluginRequest.applyResponseHeaders(headers);
      chain.runResponseHeaders(pluginRequest, pluginsReached, status, pluginRequest.responseView(headers));
    }
  }

  @Override
  public void sendError(ErrorKind kind, String message) {
    respond(GatewayErrors.response(ctx.alloc(), kind, message));
  }

  @Override
  public void sendResponse(FullHttpResponse response) {
    respond(response);
  }

  /**
   * The client leaves; the generation goes on as a session. A long-poll client is answered
   * {@code accepted} and its connection serves its next request; the exchange itself is ended
   * (logged, counted, its plugins told) by the returned leg when the generation ends.
   */
  @Override
  public ProxyCall.ClientLeg detach(FullHttpResponse accepted) {
    if (accepted != null) {
      accepted.headers().set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
      prepareResponseHeaders(accepted.status().code(), accepted.headers());
    }
    ProxyCall.ClientLeg later = new DetachedLeg(ctx, ending());
    resetExchange();
    if (accepted != null) {
      boolean keepAlive = !draining && HttpUtil.isKeepAlive(request);
      HttpUtil.setKeepAlive(accepted, keepAlive);
      if (keepAlive) {
        ctx.writeAndFlush(accepted, ctx.voidPromise());
        nextRequest();
      } else {
        state = State.CLOSING;
        ctx.writeAndFlush(accepted).addListener(ChannelFutureListener.CLOSE);
      }
    }
    return later;
  }

  /** The leg of an exchange whose client left while its generation goes on in a session. */
  private static final class DetachedLeg implements ProxyCall.ClientLeg {
    private final ChannelHandlerContext ctx;
    private Runnable ending;

    DetachedLeg(ChannelHandlerContext ctx, Runnable ending) {
      this.ctx = ctx;
      this.ending = ending;
    }

    @Override
    public ChannelHandlerContext context() {
      return ctx;
    }

    @Override
    public void prepareResponseHeaders(int status, HttpHeaders headers) {}

    @Override
    public void sendError(ErrorKind kind, String message) {
      end();
    }

    @Override
    public void sendResponse(FullHttpResponse response) {
      response.release();
      end();
    }

    @Override
    public void responseComplete(boolean keepAlive) {
      end();
    }

    @Override
    public void responseAborted() {
      end();
    }

    @Override
    public ProxyCall.ClientLeg detach(FullHttpResponse accepted) {
      if (accepted != null) {
        accepted.release();
      }
      return this;
    }

    private void end() {
      if (ending != null) {
        ending.run();
        ending = null;
      }
    }
  }

  @Override
  public void responseComplete(boolean keepAlive) {
    endExchange();
    if (!keepAlive || draining) {
      state = State.CLOSING;
      // Close only once everything written so far has reached the socket.
      ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    nextRequest();
  }

  @Override
  public void responseAborted() {
    endExchange();
    state = State.CLOSING;
    ctx.close();
  }

  // ---- shutdown ---------------------------------------------------------------------------------

  /**
   * The gateway stops: an idle connection is closed now; a busy one finishes its exchange and
   * is closed after it ({@code Connection: close}). Call on the channel's event loop.
   */
  public void beginDrain() {
    draining = true;
    if (state == State.IDLE && exchange == null) {
      state = State.CLOSING;
      ctx.close();
    }
  }

  /** The drain timeout is over: end the exchange now (an SSE client gets {@code event: error}). */
  public void endDrain() {
    draining = true;
    if (webSocket != null) {
      webSocket.drainNow();
    } else if (call instanceof ProxyCall proxy && proxy.outlivesClient()) {
      // A resumable stream (CONTRACT §6): the client is told to reconnect — to another instance
      // when the store is shared — while the generation goes on filling the session until the
      // process exits.
      proxy.askClientToReconnect();
      proxy.continueWithout(detach(null));
      state = State.CLOSING;
      ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    } else if (call != null) {
      call.drainNow();
    } else if (state != State.CLOSING) {
      state = State.CLOSING;
      ctx.close();
    }
  }

  // ---- connection events ------------------------------------------------------------------------

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (call != null) {
      call.clientWritabilityChanged(ctx.channel().isWritable());
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (call instanceof ProxyCall proxy && proxy.outlivesClient()) {
      proxy.continueWithout(detach(null)); // the stream runs on into its session
    } else if (call != null) {
      call.clientClosed();
    }
    if (webSocket != null) {
      webSocket.clientClosed();
    }
    if (exchange != null) {
      if (exchange.status() == 0) {
        exchange.status(499);
        exchange.outcome("client_closed");
      }
      endExchange();
    }
    releaseBody();
    state = State.CLOSING;
    held.forEach(ReferenceCountUtil::release);
    held.clear();
    ctx.fireChannelInactive();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof RequestBodyTimeoutHandler.Expired expired) {
      onBodyTimeout(expired.timeout());
      return;
    }
    if (evt instanceof IdleStateEvent) {
      log.debug("closing {} after idle-timeout", ctx.channel());
      ctx.close();
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** Slow POST (a gateway answer with a body still unread always closes, so only READING is left). */
  private void onBodyTimeout(java.time.Duration timeout) {
    if (state == State.READING && !bodyComplete) {
      rejectAndClose(ErrorKind.REQUEST_TIMEOUT, "the request body was not received within " + timeout.toMillis() + "ms");
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("client connection {} failed: {}", ctx.channel(), cause.toString());
    ctx.close();
  }

  // ---- answers ----------------------------------------------------------------------------------

  /** An error about a request that may still be kept alive if it has no body to skip. */
  private void reject(ErrorKind kind, String message) {
    respond(GatewayErrors.response(ctx.alloc(), kind, message));
  }

  /** An error after which the connection cannot be trusted or reused. */
  private void rejectAndClose(ErrorKind kind, String message) {
    send(GatewayErrors.response(ctx.alloc(), kind, message), false);
  }

  /**
   * Answers the request from the gateway itself. The connection stays open when the client wants
   * it and no unread body stands in the way (a bodyless request's end is skipped when it comes).
   */
  private void respond(FullHttpResponse response) {
    boolean reusable = !draining && HttpUtil.isKeepAlive(request) && (bodyComplete || !hasBody(request));
    send(response, reusable);
  }

  private void send(FullHttpResponse response, boolean keepAlive) {
    response.headers().set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
    prepareResponseHeaders(response.status().code(), response.headers());
    HttpUtil.setKeepAlive(response, keepAlive);
    exchange.status(response.status().code());
    exchange.addBytesOut(response.content().readableBytes());
    if (exchange.outcome().equals("ok") && response.status().code() >= 400) {
      exchange.outcome("rejected"); // answered by the gateway itself
    }
    if (keepAlive) {
      ctx.writeAndFlush(response, ctx.voidPromise());
      boolean skipBody = !bodyComplete;
      endExchange();
      if (skipBody) {
        state = State.DISCARDING;
      } else {
        nextRequest();
      }
    } else {
      state = State.CLOSING;
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
      endExchange();
    }
  }

  private static boolean hasBody(HttpRequest request) {
    return HttpUtil.getContentLength(request, 0L) > 0 || HttpUtil.isTransferEncodingChunked(request);
  }

  private void endExchange() {
    if (exchange != null) {
      ending().run();
    }
    resetExchange();
  }

  /** What ends the current exchange: metrics, the access log line, the plugins' completion hook. */
  private Runnable ending() {
    GatewayContext gateway = this.gateway;
    Exchange exchange = this.exchange;
    PluginRequest pluginRequest = this.pluginRequest;
    UsageTracker usage = this.usage;
    PluginChain chain = this.chain;
    int pluginsReached = this.pluginsReached;
    io.sluice.websocket.WebSocketProxy webSocket = this.webSocket;
    return () -> {
      long end = System.nanoTime();
      long duration = end - exchange.startNanos();
      if (pluginRequest != null) {
        exchange.consumer(pluginRequest.consumer());
      }
      Usage used = webSocket != null ? webSocket.usage() : usage == null ? null : usage.usage();
      if (used != null) {
        exchange.tokens(used.inputTokens(), used.outputTokens(), used.estimated());
        String consumer = gateway.consumerLabel(exchange.consumer());
        String model = gateway.metrics().modelLabel(exchange.routeName(), used.model());
        gateway.metrics().tokens(exchange.routeName(), consumer, model, "input", used.inputTokens());
        gateway.metrics().tokens(exchange.routeName(), consumer, model, "output", used.outputTokens());
      }
      gateway.metrics().requestCompleted(exchange.routeName(), exchange.status(), duration);
      gateway.accessLog().log(exchange, end);
      if (pluginRequest != null && pluginsReached > 0) {
        chain.runComplete(pluginRequest, pluginsReached,
            new ExchangeSummary(exchange.status(), exchange.outcome(), duration, used));
      }
    };
  }

  private void resetExchange() {
    exchange = null;
    resumeFrom = null;
    sessionTarget = null;
    usage = null;
    call = null;
    webSocket = null;
    route = null;
    chain = PluginChain.empty();
    pluginRequest = null;
    pluginsReached = 0;
    pluginsPassed = false;
    pluginsRunning = false;
    pluginsDone = 0;
    releaseBody();
  }

  private void releaseBody() {
    if (body != null) {
      body.release();
      body = null;
    }
  }

  /** Back to waiting for a request; replays one that was pipelined meanwhile. */
  private void nextRequest() {
    state = State.IDLE;
    request = null;
    RequestHeaderTimeoutHandler headerTimeout = ctx.pipeline().get(RequestHeaderTimeoutHandler.class);
    if (headerTimeout != null) {
      headerTimeout.awaitNextRequest();
    }
    while (!held.isEmpty() && state == State.IDLE) {
      channelRead(ctx, held.poll());
    }
    while (!held.isEmpty() && state == State.READING && !(held.peek() instanceof HttpRequest)) {
      channelRead(ctx, held.poll()); // the rest of the replayed request's body
    }
    if (held.isEmpty() && state != State.CLOSING) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  /** The path-and-query of an origin-form or absolute-form target, or null for anything else. */
  private static String originForm(String uri) {
    if (uri.startsWith("/")) {
      return uri;
    }
    int scheme = uri.indexOf("://");
    if (scheme > 0 && (uri.startsWith("http://") || uri.startsWith("https://"))) {
      int slash = uri.indexOf('/', scheme + 3);
      return slash < 0 ? "/" : uri.substring(slash);
    }
    return null;
  }

  private static String rawPath(String uri) {
    int q = uri.indexOf('?');
    return q < 0 ? uri : uri.substring(0, q);
  }
}
