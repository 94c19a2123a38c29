package io.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.http.ProxyHeaders;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A client connection's three timeouts ({@code limits.*}) on one timer:
 * <ul>
 *   <li>{@code request-header-timeout} (slowloris): 408 and close when a request's headers are
 *       not complete in time. The clock starts when the connection opens and, on a kept-alive
 *       connection, at the first byte of the next request; an idle kept-alive connection is left
 *       to the idle timeout. Off once the connection speaks HTTP/2 ({@link #http2()}).
 *   <li>{@code request-body-timeout} (slow POST): a request's whole body must arrive within the
 *       timeout after its headers, or {@link BodyExpired} goes down the pipeline (the exchange
 *       answers 408 and closes). A deadline for the whole body, not a gap between reads. The clock
 *       only blames the client for time the gateway spent reading: when it expires while the
 *       connection is not being read (a pipelined request waits for the current response), it is
 *       pushed on by the whole timeout.
 *   <li>{@code idle-timeout}: {@link IdleStateEvent#ALL_IDLE_STATE_EVENT} (the first of an idle
 *       period {@code FIRST_ALL_IDLE_STATE_EVENT}, as Netty's) down the pipeline when no bytes went
 *       either way for that long; the exchange closes the connection. A flush counts as activity
 *       when it is asked for, so no promise or listener is made per written event; a client that
 *       stops reading stops the relay too (backpressure), so no further flush comes and the
 *       timeout still ends the connection.
 * </ul>
 *
 * <p>Timer: each timeout is a deadline field, and one timer per connection, armed when it opens,
 * re-arms itself for the earliest of them when it fires (the pattern of the upstream pool's idle
 * check in {@code upstream/UpstreamHandler}). A request's start and end write fields and never
 * schedule or cancel: a burst of requests on a kept-alive connection cost no timer each (they
 * were a schedule and a cancel each for the header and the body timeouts, a priority-queue insert
 * and removal on the event loop). While the connection waits for a request (one could start at
 * any moment), the timer fires at least every {@code min(request-header-timeout,
 * request-body-timeout)}, so a new deadline is never earlier than the armed timer; a deadline that
 * still is (a pipelined request's body during a long response, a body timeout shorter than the
 * header timeout) moves the timer earlier — the one case that cancels. A held stream's timer fires
 * once per idle timeout, as before.
 *
 * <p>When several deadlines are due at once, one answer is given: the header timeout's 408, else
 * the body timeout's event, else the idle event (the later ones, if still due, come on the next
 * turn — a 408 being written is not cut by an idle close).
 *
 * <p>Pipeline: before the HTTP codec (it sees raw bytes: the first byte of a request, every read
 * and flush for the idle clock), after TLS. The request handler tells it where a request is
 * through {@link RequestCycle} (found on the channel, {@link RequestCycle#of}): a field write per
 * step instead of a user event's trip through the pipeline. One handler instead of three: two
 * pipeline hops fewer on every client read and two handler contexts fewer per held stream
 * (gateway-server/docs/memory.md).
 *
 * <p>Threading: everything on the channel's event loop.
 */
public final class ClientTimeoutHandler extends ChannelDuplexHandler implements RequestCycle, Runnable {
  /** Fired down the pipeline when a request's body did not arrive in time. */
  public record BodyExpired(Duration timeout) {}

  /**
   * A listener's timeouts, shared by its connections (a connection keeps only its deadlines).
   *
   * @param headerNanos 0: off
   * @param bodyNanos 0: off
   * @param idleNanos 0: off
   * @param waitingStep how far ahead the timer may be armed while a request could start (see the
   *     class comment)
   */
  public record Timeouts(long headerNanos, long bodyNanos, long idleNanos, long waitingStep) {
    /** A zero duration turns that timeout off. */
    public static Timeouts of(Duration requestHeaderTimeout, Duration requestBodyTimeout, Duration idleTimeout) {
      long header = requestHeaderTimeout.toNanos();
      long body = requestBodyTimeout.toNanos();
      long idle = idleTimeout.toNanos();
      if (header < 0 || body < 0 || idle < 0) {
        throw new IllegalArgumentException("timeouts must not be negative");
      }
      long step = Long.MAX_VALUE;
      if (header > 0) {
        step = header;
      }
      if (body > 0) {
        step = Math.min(step, body);
      }
      return new Timeouts(header, body, idle, step);
    }
  }

  private final Timeouts timeouts;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> timer;
  private long timerDue; // when the armed timer fires (the loop's clock)
  private boolean started;
  private boolean stopped; // closed or removed: nothing is armed any more

  private boolean headerPhase = true; // false once the connection speaks HTTP/2
  private boolean inExchange; // between a request's headers and its response's end
  private boolean waitingForFirstByte; // a response ended; the next request's clock starts at its first byte
  private boolean headerSet;
  private long headerDeadline;

  private boolean bodySet;
  private long bodyDeadline;

  private long lastActivity; // or the last idle event: the next one is a whole timeout later
  private boolean idleFired; // the first event of an idle period is FIRST_ALL_IDLE_STATE_EVENT

  /** A zero duration turns that timeout off. */
  public ClientTimeoutHandler(Duration requestHeaderTimeout, Duration requestBodyTimeout, Duration idleTimeout) {
    this(Timeouts.of(requestHeaderTimeout, requestBodyTimeout, idleTimeout));
  }

  /** @param timeouts the listener's, shared by its connections */
  public ClientTimeoutHandler(Timeouts timeouts) {
    this.timeouts = timeouts;
  }

  // ---- the channel ------------------------------------------------------------------------------

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    ctx.channel().attr(RequestCycle.KEY).set(this);
    if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
      start(); // added to a running connection (channelActive already passed)
    }
  }

  /** Removed by a WebSocket upgrade (the session's own timer takes over). */
  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    stop();
    ctx.channel().attr(RequestCycle.KEY).compareAndSet(this, null);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    start();
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    stop();
    ctx.fireChannelInactive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    long now = now();
    activity(now);
    if (waitingForFirstByte && !inExchange && msg instanceof ByteBuf buf && buf.isReadable()) {
      waitingForFirstByte = false;
      startHeaderClock(now);
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    activity(now());
    ctx.flush();
  }

  /** The connection speaks HTTP/2: its streams have no header phase here (idle stays). */
  void http2() {
    headerPhase = false;
    headerSet = false;
    waitingForFirstByte = false;
    inExchange = true; // no request of its own starts here: the timer need not wake for one
  }

  // ---- RequestCycle: field writes only (a timer move only when a deadline is earlier than it) --

  @Override
  public void read(Object msg) {
    if (msg instanceof HttpRequest request) {
      bodySet = false;
      // A request that failed to decode is answered and closed by the exchange: no body to wait for.
      if (timeouts.bodyNanos() > 0 && !(msg instanceof LastHttpContent) && request.decoderResult().isSuccess()
          && hasBody(request)) {
        bodySet = true;
        bodyDeadline = now() + timeouts.bodyNanos();
        armBy(bodyDeadline);
      }
    }
    if (msg instanceof LastHttpContent) {
      bodySet = false;
    }
  }

  @Override
  public void headersReceived() {
    inExchange = true;
    headerSet = false;
  }

  @Override
  public void responseEnded() {
    inExchange = false;
    waitingForFirstByte = headerPhase;
  }

  private static boolean hasBody(HttpRequest request) {
    return HttpUtil.getContentLength(request, 0L) > 0 || HttpUtil.isTransferEncodingChunked(request);
  }

  // ---- deadlines --------------------------------------------------------------------------------

  private void start() {
    if (started || stopped) {
      return;
    }
    long now = now();
    lastActivity = now;
    startHeaderClock(now); // arms nothing yet: arm() below takes every deadline
    started = true;
    arm(now);
  }

  private void startHeaderClock(long now) {
    if (headerPhase && timeouts.headerNanos() > 0) {
      headerSet = true;
      headerDeadline = now + timeouts.headerNanos();
      armBy(headerDeadline);
    }
  }

  private void activity(long now) {
    lastActivity = now;
    idleFired = false;
  }

  /** When the idle clock is due: a whole timeout after the last activity or idle event. */
  private long idleDue() {
    return lastActivity + timeouts.idleNanos();
  }

  /** The timer: gives the first due timeout's answer, then re-arms itself for what is left. */
  @Override
  public void run() {
    timer = null;
    if (stopped || !ctx.channel().isOpen()) {
      return;
    }
    long now = now();
    if (headerSet && !inExchange && now - headerDeadline >= 0) {
      headerSet = false;
      headerTimeout();
      return; // closing: nothing else to watch
    }
    if (bodySet && now - bodyDeadline >= 0) {
      if (ctx.channel().config().isAutoRead()) {
        bodySet = false;
        arm(now);
        ctx.fireUserEventTriggered(new BodyExpired(Duration.ofNanos(timeouts.bodyNanos())));
        return;
      }
      bodyDeadline = now + timeouts.bodyNanos(); // we are not reading: the wait is ours, not the client's
    }
    if (timeouts.idleNanos() > 0 && now - idleDue() >= 0) {
      IdleStateEvent event = idleFired ? IdleStateEvent.ALL_IDLE_STATE_EVENT : IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT;
      idleFired = true;
      lastActivity = now; // the next event a whole timeout later, unless activity comes first
      arm(now);
      ctx.fireUserEventTriggered(event);
      return;
    }
    arm(now);
  }

  private void headerTimeout() {
    FullHttpResponse response = GatewayErrors.response(ctx.alloc(), ErrorKind.REQUEST_TIMEOUT,
        "the request headers were not received within " + timeouts.headerNanos() / 1_000_000 + "ms");
    // No request id was read: every gateway answer still carries one.
    response.headers().set(ProxyHeaders.X_REQUEST_ID, ProxyHeaders.newRequestId());
    HttpUtil.setKeepAlive(response, false);
    // Written from the tail so it passes through the HTTP encoder.
    ctx.channel().writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
  }

  /** Arms the timer (none is pending) for the earliest deadline, or the waiting step. */
  private void arm(long now) {
    boolean any = false;
    long next = 0;
    if (headerSet) {
      next = headerDeadline;
      any = true;
    }
    if (bodySet && (!any || bodyDeadline - next < 0)) {
      next = bodyDeadline;
      any = true;
    }
    if (timeouts.idleNanos() > 0) {
      long idle = idleDue();
      if (!any || idle - next < 0) {
        next = idle;
        any = true;
      }
    }
    if (!inExchange && timeouts.waitingStep() != Long.MAX_VALUE) {
      long step = now + timeouts.waitingStep();
      if (!any || step - next < 0) {
        next = step;
        any = true;
      }
    }
    if (any) {
      schedule(next, now);
    }
  }

  /** A new deadline: the timer moves only when it would fire after it (or nothing is armed). */
  private void armBy(long deadline) {
    if (!started || stopped) {
      return; // start() arms for it
    }
    if (timer != null) {
      if (deadline - timerDue >= 0) {
        return;
      }
      timer.cancel(false);
      timer = null;
    }
    schedule(deadline, now());
  }

  private void schedule(long due, long now) {
    if (timer != null) {
      timer.cancel(false); // never two timers (not reached: callers schedule only when none is armed)
    }
    timerDue = due;
    timer = ctx.executor().schedule(this, Math.max(0, due - now), TimeUnit.NANOSECONDS);
  }

  private void stop() {
    stopped = true;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /** The pending timer, for tests: requests must not replace it. */
  ScheduledFuture<?> armedTimer() {
    return timer;
  }

  /** The loop's clock: the one its timers run on (a test's frozen clock included). */
  private long now() {
    return ctx.executor().ticker().nanoTime();
  }
}
