package io.sluice.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.sluice.exchange.ClientLeg;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.http.HeadFacts;
import io.sluice.http.ProxyHeaders;
import io.sluice.http.RequestTarget;
import io.sluice.net.ClientIdentity;
import io.sluice.relay.ClientRelay;
import io.sluice.session.SessionPlan;
import java.time.Duration;

/**
 * One exchange on a client connection, from its request head to its end: the checks, the body
 * as it arrives (capped), the {@link Admission}, whatever answers — the gateway itself, a
 * {@link SessionEndpoints session}, or the upstream through a {@link Dispatch} — and the
 * {@link ExchangeEnding}. Whatever answers sees it as the exchange's {@link ClientLeg}.
 *
 * <p>It tells its connection what comes next ({@link Connection#ended}) and never touches the
 * connection's state itself. Threading: the connection's event loop only.
 */
final class ExchangeRun implements ClientLeg, SessionEndpoints.Host, Admission.Outcome {
  /** What the exchange asks of the connection it runs on. */
  interface Connection {
    /** Client input waits (an answer runs, or a shared store is asked) or flows again. */
    void holdInput(boolean hold);

    /** The exchange is over (or left for a session); what the connection does next. */
    void ended(Next next);

    boolean draining();

    /** Who opened the connection, as text ({@link ClientIdentity#peer}): the same for its every request. */
    String peer();
  }

  /** What the connection does once an exchange is over. */
  enum Next {
    /** Nothing: the caller decides (the client left, or a drain). */
    NOTHING,
    /** Serve the next request (replaying a pipelined one). */
    NEXT_REQUEST,
    /** Skip the rest of a body the gateway answered without reading, then the next request. */
    SKIP_BODY,
    /** The exchange wrote its last bytes with a close after them. */
    CLOSING,
    /** Close once everything written so far reached the socket. */
    CLOSE_AFTER_FLUSH,
    /** Close now: the response cannot be completed. */
    CLOSE_NOW
  }

  private final Connection connection;
  private final ChannelHandlerContext ctx;
  private final GatewayContext gateway;
  private HttpRequest head; // null once the answer's head was sent (answerCommitted)
  private final Exchange exchange;
  private final String scheme;
  private final ExchangeEnding ending;
  private IncomingRequest request; // once the head passed its checks
  private Admission admission;
  private SessionEndpoints.Target sessionTarget; // a request to /sluice/streams/…
  private Dispatch dispatch;
  private ClientRelay relay;
  private boolean over;

  ExchangeRun(Connection connection, ChannelHandlerContext ctx, GatewayContext gateway, HttpRequest head,
      ClientIdentity identity, String scheme) {
    this.connection = connection;
    this.ctx = ctx;
    this.gateway = gateway;
    this.head = head;
    this.scheme = scheme;
    String requestId = ProxyHeaders.validRequestId(head.headers().get(ProxyHeaders.X_REQUEST_ID));
    this.exchange = new Exchange(requestId != null ? requestId : ProxyHeaders.newRequestId(),
        identity.clientIp(connection.peer(), head.headers()),
        head.method().name(), RequestTarget.rawPath(head.uri()), System.nanoTime());
    if (gateway.tracing().enabled()) { // else the trace stays NONE, and no header reader is made for it
      exchange.trace(gateway.tracing().begin(exchange.method(), exchange.path(), head.headers()::get));
    }
    this.ending = new ExchangeEnding(gateway, exchange, ctx.channel().eventLoop());
  }

  /** The head arrived: checks, then a session's endpoints or the route's admission. */
  void begin() {
    if (head.decoderResult().isFailure() && !ctx.channel().isActive()) {
      return; // the client left mid-headers: nobody to answer; the connection's end logs it as 499
    }
    RequestChecks.Result checked = RequestChecks.check(head, gateway.limits());
    if (checked instanceof RequestChecks.Refused refused) {
      if (refused.close()) {
        rejectAndClose(refused.kind(), refused.message());
      } else {
        reject(refused.kind(), refused.message());
      }
      return;
    }
    RequestChecks.Accepted target = (RequestChecks.Accepted) checked;
    String path = target.path();
    boolean sessionPath = path.startsWith(SessionPlan.PATH_PREFIX);
    if (!sessionPath && gateway.router().noRouteForPath(path)) {
      reject(ErrorKind.ROUTE_NOT_FOUND, "no route for " + path);
      return;
    }
    request = new IncomingRequest(head, path, target.query(), ctx.alloc());
    admission = new Admission(gateway, exchange, request, ctx.executor(), ctx.alloc(), this);
    ending.admission(admission);
    if (!sessionPath) {
      admission.start();
      return;
    }
    sessionTarget = SessionEndpoints.target(gateway, path, head.method().name(), this);
    if (sessionTarget != null) {
      admission.startOn(SessionEndpoints.startedOn(gateway, sessionTarget));
    }
  }

  /** A chunk of the request body (released here). */
  void body(HttpContent content) {
    if (over || request == null) {
      content.release();
      return;
    }
    if (content.decoderResult().isFailure()) {
      content.release();
      rejectAndClose(ErrorKind.MALFORMED_REQUEST, "malformed request body");
      return;
    }
    ByteBuf bytes = content.content();
    long max = gateway.limits().maxRequestBody();
    if (!request.fits(bytes.readableBytes(), max)) {
      content.release();
      rejectAndClose(ErrorKind.BODY_TOO_LARGE, "the request body is larger than " + max + " bytes");
      return;
    }
    if (bytes.isReadable()) {
      request.append(bytes);
    }
    boolean last = content instanceof LastHttpContent;
    content.release();
    if (last) {
      request.markComplete();
      exchange.mark(Moment.IN_REQ_BODY_RECEIVED, System.nanoTime());
      exchange.addBytesIn(request.bodyBytes());
      admission.bodyComplete();
    }
  }

  /** Slow POST: the body did not arrive within {@code request-body-timeout}. */
  void bodyTimeout(Duration timeout) {
    if (!over && request != null && !request.complete()) {
      rejectAndClose(ErrorKind.REQUEST_TIMEOUT, "the request body was not received within " + timeout.toMillis() + "ms");
    }
  }

  void clientWritabilityChanged(boolean writable) {
    if (relay != null) {
      relay.clientWritabilityChanged(writable);
    }
  }

  /** The client connection closed: a stream that is a session runs on; anything else ends now. */
  void clientLeft() {
    if (over) {
      return;
    }
    if (dispatch != null && dispatch.outlivesClient()) {
      dispatch.continueWithout(detach(null));
      return;
    }
    if (relay != null) {
      relay.clientClosed();
    }
    if (!over) {
      if (exchange.status() == 0) {
        exchange.status(499);
        exchange.outcome("client_closed");
      }
      end(Next.NOTHING);
    }
  }

  /**
   * The drain timeout is over: whatever answers ends now, never silently. A resumable stream's
   * client is told to reconnect — to another instance when the store is shared — while the
   * generation goes on filling the session until the process exits. False when nothing answers
   * yet (the connection is then simply closed).
   */
  boolean drainNow() {
    if (over) {
      return false;
    }
    if (dispatch != null && dispatch.outlivesClient()) {
      dispatch.askClientToReconnect();
      dispatch.continueWithout(detach(null));
      connection.ended(Next.CLOSE_AFTER_FLUSH);
      return true;
    }
    if (relay != null) {
      relay.drainNow();
      return true;
    }
    return false;
  }

  /** The pipeline is torn down: the body goes, unless an upstream attempt may still send it. */
  void releaseUnlessRelaying() {
    if (relay == null) {
      release();
    }
  }

  // ---- Admission.Outcome ------------------------------------------------------------------------

  @Override
  public void refused(FullHttpResponse response) {
    respond(response);
  }

  @Override
  public void sendContinue() {
    ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
        Unpooled.EMPTY_BUFFER), ctx.voidPromise());
  }

  @Override
  public void admitted() {
    if (sessionTarget != null || admission.resumeFrom() != null) {
      new SessionEndpoints(gateway, exchange, request, admission, sessionTarget, this).serve();
      return;
    }
    connection.holdInput(true);
    dispatch = new Dispatch(gateway, exchange, request, admission, this,
        new UpstreamRequests(gateway, exchange, request, admission, connection.peer(), scheme));
    relay = dispatch;
    ending.usage(dispatch);
    dispatch.start(HeadFacts.keepAlive(head) && !connection.draining());
  }

  // ---- SessionEndpoints.Host --------------------------------------------------------------------

  @Override
  public void holdInput(boolean hold) {
    connection.holdInput(hold);
  }

  @Override
  public void serving(ClientRelay relay) {
    connection.holdInput(true);
    this.relay = relay;
  }

  @Override
  public boolean runs(Exchange candidate) {
    return !over && exchange == candidate;
  }

  @Override
  public boolean draining() {
    return connection.draining();
  }

  // ---- ClientLeg --------------------------------------------------------------------------------

  @Override
  public ChannelHandlerContext context() {
    return ctx;
  }

  @Override
  public void prepareResponseHeaders(int status, HttpHeaders headers) {
    if (admission != null) {
      admission.responseHeaders(status, headers);
    }
  }

  /**
   * The request's head is let go: after the commit nothing reads it — the upstream request was
   * built, no retry or failover follows, the keep-alive decision was taken — and the plugins'
   * hooks are documented to see no request headers from here on ({@code RequestContext#header}).
   */
  @Override
  public void answerCommitted() {
    head = null;
    if (request != null) {
      request.answerCommitted();
    }
    PluginRequest plugins = admission == null ? null : admission.pluginRequest();
    if (plugins != null) {
      plugins.answerCommitted();
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

  @Override
  public void responseComplete(boolean keepAlive) {
    end(!keepAlive || connection.draining() ? Next.CLOSE_AFTER_FLUSH : Next.NEXT_REQUEST);
  }

  @Override
  public void responseAborted() {
    end(Next.CLOSE_NOW);
  }

  /**
   * The client leaves; the generation goes on as a session. A long-poll client is answered
   * {@code accepted} and its connection serves its next request; the exchange itself is ended
   * (logged, counted, its plugins told) by the returned leg when the generation ends.
   */
  @Override
  public ClientLeg detach(FullHttpResponse accepted) {
    if (dispatch != null) {
      dispatch.keepPromptEstimate(); // the request's body is freed below; the ending comes later
    }
    ClientLeg later = new DetachedLeg(ctx, ending);
    if (accepted == null) {
      over(Next.NOTHING);
      return later;
    }
    accepted.headers().set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
    prepareResponseHeaders(accepted.status().code(), accepted.headers());
    boolean keepAlive = !connection.draining() && head != null && HttpUtil.isKeepAlive(head);
    HttpUtil.setKeepAlive(accepted, keepAlive);
    if (keepAlive) {
      ctx.writeAndFlush(accepted, ctx.voidPromise());
      over(Next.NEXT_REQUEST);
    } else {
      over(Next.CLOSING);
      ctx.writeAndFlush(accepted).addListener(ChannelFutureListener.CLOSE);
    }
    return later;
  }

  // ---- the gateway's own answers ----------------------------------------------------------------

  /** An error about a request that may still be kept alive if it has no body to skip. */
  @Override
  public void reject(ErrorKind kind, String message) {
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
  @Override
  public void respond(FullHttpResponse response) {
    boolean bodyRead = request != null ? request.complete() || !request.announcesBody()
        : HttpUtil.getContentLength(head, 0L) == 0 && !HeadFacts.chunked(head);
    send(response, !connection.draining() && head != null && HeadFacts.keepAlive(head) && bodyRead);
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
      end(request == null || !request.complete() ? Next.SKIP_BODY : Next.NEXT_REQUEST);
    } else {
      end(Next.CLOSING);
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
  }

  // ---- the end ----------------------------------------------------------------------------------

  /** The exchange ends here: metrics, access log, completion hooks; then the connection goes on. */
  private void end(Next next) {
    if (!over) {
      ending.run();
      over(next);
    }
  }

  /** The connection is done with this exchange (its ending runs now or later, with a detached leg). */
  private void over(Next next) {
    over = true;
    if (admission != null) {
      admission.cancel();
    }
    release();
    connection.ended(next);
  }

  private void release() {
    if (request != null) {
      request.release();
      request = null;
    }
  }
}
