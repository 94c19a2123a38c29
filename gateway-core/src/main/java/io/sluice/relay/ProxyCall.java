package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.exchange.ClientLeg;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.http.ErrorKind;
import io.sluice.http.HeadFacts;
import io.sluice.observe.GatewayMetrics;
import io.sluice.sse.SseFramer;
import io.sluice.upstream.FramedChunk;
import io.sluice.upstream.UpstreamHandler;
import io.sluice.usage.UsageTracker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream leg of one HTTP exchange: its attempts, and the upstream's answer relayed to the
 * client as it comes.
 *
 * <pre>
 *   start → {@link Failover} (targets) → {@link UpstreamAttempt} (endpoint, connection, retries)
 *         → send request → response head ({@link ResponseHead}) → commit (head out, {@link StreamPace})
 *         → body: events through the {@link SseFramer}, usage, session ({@link SessionTap})
 *           → {@link EventWriter} (coalesce, gzip) → end ({@link RelayEnd})
 * </pre>
 *
 * <p>Threading: every method runs on the client channel's event loop; the upstream connection is
 * taken from that loop's pool, so both legs share one thread and need no locks.
 *
 * <p>Backpressure: the upstream connection reads only while the client is writable. When the
 * client's outbound buffer passes its high-water mark, upstream auto-read is switched off (so
 * TCP flow control slows the model server down); when it drains below the low-water mark, reading
 * resumes. Memory per stream is therefore bounded by the watermarks plus one read.
 *
 * <p>Streaming: {@code text/event-stream} bodies go through an {@link SseFramer}, whole events
 * only, and every upstream read is flushed as soon as it is processed, so no event ever waits for
 * a later one. Other bodies are relayed chunk by chunk the same way.
 *
 * <p>Failover: while another of the exchange's {@link Targets} is left, the answer is held back
 * and a failure before content moves on to the next target ({@link Failover}).
 *
 * <p>Failure: before any response byte, connect failures and resets are retried by the
 * {@link UpstreamAttempt}; what this call cannot recover from ends the exchange ({@link RelayEnd}:
 * an error response before the response started, never a clean end of a truncated body after).
 * On a route with sessions the stream is a session the client can leave ({@link SessionHandover}).
 */
public final class ProxyCall implements UpstreamHandler.Listener, ClientRelay, UpstreamAttempt.Owner, Failover.Owner,
    StreamPace.Stream, RelayEnd.Owner {
  private static final Logger log = LoggerFactory.getLogger(ProxyCall.class);

  private final ChannelHandlerContext clientCtx;
  private final Exchange exchange;
  private Failover failover; // until the commit (memory per held stream: nothing of it serves after)
  private final GatewayMetrics metrics;
  private final Duration routeTimeout;
  private final StreamPace pace;
  private final RelayEnd end;
  private ForwardRequest request;
  private UpstreamAttempt attempt;
  private ResponseHead head; // the current attempt's
  private BodyRelay body; // from the response head on
  private ScheduledFuture<?> routeTimer;
  private boolean responseStarted; // upstream response headers arrived
  private boolean upstreamKeepAlive; // the upstream's response allows reusing its connection

  public ProxyCall(ClientLeg client, Exchange exchange, Targets targets, Duration routeTimeout, GatewayMetrics metrics) {
    this.clientCtx = client.context();
    this.exchange = exchange;
    this.routeTimeout = routeTimeout;
    this.metrics = metrics;
    this.pace = new StreamPace(this);
    this.end = new RelayEnd(this, client, exchange, metrics);
    this.failover = new Failover(targets, exchange, this, end);
  }

  /** Starts the first attempt. */
  public void start() {
    if (!routeTimeout.isZero()) {
      routeTimer = clientCtx.channel().eventLoop().schedule(this::onRouteTimeout, routeTimeout.toNanos(),
          TimeUnit.NANOSECONDS);
    }
    failover.next();
  }

  @Override
  public UpstreamAttempt attempt(Target target) {
    request = target.request();
    attempt = new UpstreamAttempt(target.upstream(), exchange, clientCtx.channel().eventLoop(), this, false, metrics,
        this);
    return attempt;
  }

  /** The usage of the attempt that served (or is serving), or null when the route tracks none. */
  public UsageTracker usage() {
    return request == null ? null : request.usage();
  }

  @Override
  public void dropAnswer(String reason) {
    log.debug("route {}: upstream {} failed before content ({}), failing over", exchange.routeName(),
        attempt.upstream().name(), reason);
    if (body != null) {
      body.release(false);
      body = null;
    }
    responseStarted = false;
  }

  @Override
  public void connected(Channel channel) {
    attempt.send(request.method(), request.pathAndQuery(), request.toSend(), request.body().retainedDuplicate());
    if (!clientCtx.channel().isWritable()) {
      channel.config().setAutoRead(false);
    }
  }

  @Override
  public void failed(ErrorKind kind, String message) { // no endpoint of this target left
    failover.failed(kind == ErrorKind.NO_HEALTHY_UPSTREAM ? "no_healthy_upstream" : "connect_error", kind, message);
  }

  @Override
  public void firstByteTimeout() {
    failover.failed("first_byte_timeout", ErrorKind.UPSTREAM_TIMEOUT, attempt.firstByteTimeoutMessage(""));
  }

  // ---- upstream events ------------------------------------------------------------------------

  @Override
  public void onUpstreamMessage(HttpObject msg) {
    if (end.ended()) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg.decoderResult().isFailure()) {
      Throwable cause = msg.decoderResult().cause();
      ReferenceCountUtil.release(msg);
      onUpstreamProtocolError(cause);
      return;
    }
    pace.readStarted(System.nanoTime());
    try {
      if (msg instanceof HttpResponse response) {
        if (response.status().code() < 200 && response.status().code() != 101) {
          return; // an interim 1xx answer: the real one follows
        }
        onResponseHeaders(response);
      }
      if (msg instanceof HttpContent content) {
        if (!responseStarted) {
          content.release();
          return;
        }
        onContent(content);
      }
    } finally {
      pace.messageHandled();
    }
  }

  private void onResponseHeaders(HttpResponse response) {
    attempt.answered();
    responseStarted = true;
    long now = System.nanoTime();
    exchange.mark(Moment.UPSTREAM_RESP_HEADERS_RECEIVED, now);
    int status = response.status().code();
    exchange.status(status);
    attempt.recordStatus(status);
    upstreamKeepAlive = HeadFacts.keepAlive(response);
    if (held() && (status >= 500 || status == 429)) {
      failover.moveOn(status == 429 ? "http_429" : "http_5xx");
      return;
    }

    ResponseHead head = ResponseHead.of(response, request, exchange.requestId());
    ResponseHead.dropCopied(response.headers()); // memory per held stream
    end.answered(head.keepAlive());
    body = request.relay(clientCtx, head, exchange, metrics, pace);
    this.head = head;
    if (held() && status / 100 == 2 && (head.sse() || head.json())) {
      failover.holdUntilContent(body, head.sse(), this::commit);
      return;
    }
    if (request.translation() != null && !head.sse()) {
      body.holdUntilContent(this::commit); // a whole body (an answer or an error) is translated at its end
      return;
    }
    commit();
  }

  /**
   * The answer goes to the client from now on: the head (naming the target that serves), then
   * whatever was held back. No failover after this.
   */
  private void commit() {
    long now = System.nanoTime();
    int status = exchange.status();
    HttpHeaders h = head.head().headers();
    failover.commit(h);
    failover = null;
    if (head.sse() && !end.streamCommitted(request.sessions(), status, h, body, attempt)) {
      return; // a long poll: the client got its 202; the stream fills the session
    }
    end.client().prepareResponseHeaders(status, h);
    pace.headOut(clientCtx, head.head());
    head.sent(); // memory per held stream: neither header set is read after the commit
    request.committed();
    end.client().answerCommitted();
    exchange.mark(Moment.OUT_RESP_HEADERS_SENT, now);
    if (head.sse() || head.chunked()) {
      pace.watch(clientCtx);
    }
  }

  private void onContent(HttpContent content) {
    ByteBuf bytes = content.content();
    boolean last = content instanceof LastHttpContent;
    StreamWatch.Stop stop = bytes.isReadable() ? body.relay(bytes, content instanceof FramedChunk c ? c : null) : null;
    content.release();
    if (body.rejected() != null) {
      attempt.end(null);
      failover.moveOn(body.rejected());
    } else if (stop != null) {
      attempt.cancel(); // the generation stops
      end.stopForBudget(body, stop);
    } else if (last) {
      if (body.holding()) {
        String failure = held() ? body.heldBodyFailure() : null;
        if (failure != null) {
          attempt.release(upstreamKeepAlive); // the answer was complete: the connection may serve again
          attempt.end(null);
          failover.moveOn(failure);
          return;
        }
        body.openGate();
      }
      onUpstreamComplete();
    }
  }

  @Override
  public void onUpstreamReadComplete() {
    if (body != null) {
      body.flush();
    }
    pace.readProcessed(clientCtx);
  }

  @Override
  public void onUpstreamWritabilityChanged(boolean writable) {} // the request body goes in one write

  private void onUpstreamComplete() {
    long now = System.nanoTime();
    exchange.mark(Moment.UPSTREAM_RESP_COMPLETE, now);
    attempt.release(upstreamKeepAlive);
    attempt.end(null);
    body.end(end::complete); // the tail may wait for the plugins to settle the usage (EndGate)
    // The connection was let go (no read completion reaches this call): the head goes now, and the
    // watch too, as the end may wait for the plugins to settle the usage.
    pace.readProcessed(clientCtx);
  }

  @Override
  public void onUpstreamClosed(Throwable cause) {
    if (end.ended()) {
      return;
    }
    String reason = cause == null ? "connection closed" : cause.toString();
    if (held() && responseStarted) { // the answer broke off before its first content
      attempt.forget();
      attempt.end(null);
      failover.moveOn("reset");
      return;
    }
    if (!responseStarted) {
      if (!attempt.retryStaleConnection()) {
        attempt.retry(reason);
      }
      return;
    }
    attempt.forget();
    attempt.end(null);
    log.debug("upstream {} failed mid-response: {}", attempt.endpoint(), reason);
    end.failMidStream(body, ErrorKind.UPSTREAM_FAILED, "the upstream connection failed mid-response");
  }

  /** The upstream sent something that is not valid HTTP (the decoder gave up on it). */
  private void onUpstreamProtocolError(Throwable cause) {
    String reason = "invalid HTTP response: " + (cause == null ? "undecodable" : cause.getMessage());
    if (!responseStarted || held()) {
      // The request reached the endpoint, which may be generating already: not retried on
      // another endpoint — but another target, while nothing reached the client, takes it.
      // The decoder's complaint stays in the log and the endpoint's health, like its address.
      failover.failed("protocol_error", ErrorKind.UPSTREAM_FAILED,
          attempt.protocolError("sent an invalid HTTP response", reason));
      return;
    }
    log.debug("upstream {} sent an {}", attempt.endpoint(), reason);
    attempt.endpoint().recordFailure(reason);
    attempt.end(null);
    attempt.drop();
    end.failMidStream(body, ErrorKind.UPSTREAM_FAILED, "the upstream sent an invalid HTTP message mid-response");
  }

  // ---- client events --------------------------------------------------------------------------

  /** The client's writability changed: resume or pause reading from the upstream. */
  @Override
  public void clientWritabilityChanged(boolean writable) {
    if (body == null || body.attached()) {
      attempt.reading(writable);
    }
  }

  /**
   * Whether the generation goes on without the client: the stream is a session (resume, long
   * polling) that has not ended. Then call {@link #continueWithout} instead of {@link #clientClosed}.
   */
  public boolean outlivesClient() {
    return end.outlivesClient();
  }

  /**
   * The client left; the stream runs on into its session (up to its ttl), read at full speed
   * since nobody is slow now. {@code later} ends the exchange when the generation ends.
   */
  public void continueWithout(ClientLeg later) {
    end.continueWithout(later);
    attempt.reading(true);
  }

  /** {@code retry: 1000}, then the end of the body: the client reconnects and resumes (a drain). */
  public void askClientToReconnect() {
    if (!end.ended()) {
      body.askToReconnect();
    }
  }

  /** The client went away: stop the generation (closing the upstream connection cancels it). */
  @Override
  public void clientClosed() {
    if (end.ended()) {
      return;
    }
    attempt.cancel();
    end.clientClosed();
  }

  /**
   * The gateway is shutting down and the drain timeout is over: end the exchange now, never
   * silently — an SSE client gets {@code event: error} with code {@code draining}.
   */
  @Override
  public void drainNow() {
    if (end.ended()) {
      return;
    }
    attempt.cancel();
    failNow(ErrorKind.DRAINING, "the gateway is shutting down");
  }

  // ---- timeouts -------------------------------------------------------------------------------

  private void onRouteTimeout() {
    if (end.ended()) {
      return;
    }
    attempt.drop();
    attempt.end(null);
    failNow(ErrorKind.UPSTREAM_TIMEOUT, "the route's timeout of " + routeTimeout.toMillis() + "ms was reached");
  }

  /**
   * Ends the exchange as fits where the answer is: mid-stream once it started and is no longer held
   * back ({@code event: error}, or an abort), else with an error response.
   */
  private void failNow(ErrorKind kind, String message) {
    if (responseStarted && !held()) {
      end.failMidStream(body, kind, message);
    } else {
      end.fail(kind, message);
    }
  }

  /** Whether another target is left: a failure before content moves on, the answer is held. */
  private boolean held() {
    return failover != null && failover.held();
  }

  // ---- the end, as RelayEnd asks it ------------------------------------------------------------

  @Override
  public void letGo() {
    pace.end(clientCtx); // whatever ends the exchange (an abort closes the connection), the head sent goes first
    if (failover != null) {
      failover.end();
    }
    if (attempt != null) {
      attempt.close();
    }
    if (routeTimer != null) {
      routeTimer.cancel(false);
    }
    if (body != null) {
      body.release(exchange.at(Moment.UPSTREAM_RESP_COMPLETE) >= 0);
    }
  }

  // ---- the stream, as its pace asks it -------------------------------------------------------

  @Override
  public boolean ended() {
    return end.ended();
  }

  @Override
  public void pauseUpstream() {
    attempt.reading(false);
  }

  @Override
  public long committedAt() {
    return exchange.at(Moment.OUT_RESP_HEADERS_SENT);
  }

  @Override
  public SilenceWatch silenceWatch(EventLoop loop) {
    return new StreamSilence(loop, attempt, body, request.sse(), end);
  }
}
