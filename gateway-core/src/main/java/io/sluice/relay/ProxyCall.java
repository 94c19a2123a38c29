package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.SseConfig;
import io.sluice.exchange.ClientLeg;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.http.HeadFacts;
import io.sluice.observe.GatewayMetrics;
import io.sluice.session.SessionPlan;
import io.sluice.sse.SseFramer;
import io.sluice.translate.TranslatedError;
import io.sluice.translate.UntranslatableFieldException;
import io.sluice.upstream.Upstream;
import io.sluice.upstream.UpstreamHandler;
import io.sluice.usage.UsageTracker;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream leg of one HTTP exchange and the relay of its response to the client.
 *
 * <pre>
 *   start → {@link UpstreamAttempt} (endpoint, connection, retries) → send request
 *         → response head ({@link ResponseHead}) → body: events through the {@link SseFramer},
 *           usage, session ({@link SessionTap}) → {@link EventWriter} (coalesce, gzip) → end
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
 * <p>Failover: the exchange has {@link Targets} — one for a plain route, an alias's plan for a
 * request naming a model alias. While another target is left, the answer is held back and a
 * failure before content moves on to the next target without the client seeing a byte of the
 * failed attempt ({@link Failover}). The last target's answer is relayed as it comes.
 *
 * <p>Sessions: on a route with resumable streams or long polling, the stream is recorded into a
 * session and handed to it when the client leaves ({@link SessionHandover}).
 *
 * <p>Failure: before the response started, a failure becomes an error response (connect
 * failures and resets before any response byte are retried by the {@link UpstreamAttempt}).
 * After it started, an SSE client gets {@code event: error} and a clean end; any other client
 * gets an aborted connection — never a clean end of a truncated body.
 */
public final class ProxyCall implements UpstreamHandler.Listener, ClientRelay, UpstreamAttempt.Owner, Failover.Owner {
  private static final Logger log = LoggerFactory.getLogger(ProxyCall.class);
  // AsciiString, as Netty's own header names: its hash is kept and its validation reads bytes, where
  // a String name was hashed and validated char by char on every response.
  /** The upstream that served the answer (after failover, the one that did). */
  public static final AsciiString SERVED_BY_UPSTREAM = AsciiString.cached("x-sluice-upstream");
  /** The model the serving upstream was asked for (an alias's target model). */
  public static final AsciiString SERVED_BY_MODEL = AsciiString.cached("x-sluice-model");

  private ClientLeg client;
  private final ChannelHandlerContext clientCtx;
  private final EventLoop loop;
  private final Exchange exchange;
  private final Failover failover;
  private final GatewayMetrics metrics;
  private final Duration routeTimeout;
  private Upstream upstream; // the current attempt's
  private ForwardRequest request;
  private UpstreamAttempt attempt;
  private boolean responseStarted; // upstream response headers arrived
  private boolean done;
  private boolean keepAliveToClient;
  private boolean upstreamKeepAlive; // the upstream's response allows reusing its connection
  private long lastUpstreamRead;
  private ResponseHead head; // the current attempt's
  private BodyRelay body; // from the response head on
  private SilenceWatch silence; // streams and bodies of unknown length
  private SessionHandover session; // the stream as a resumable / pollable session, else null
  private AtomicInteger activeStreams;
  private ScheduledFuture<?> routeTimer;
  private boolean inUpstreamRead; // a message of the upstream's is being handled (its read completes after)
  private boolean headUnflushed; // the head was written during an upstream read, to go with what follows it
  private boolean watchPending; // committed during a read: the silence watch starts when the read is processed
  private long watchFrom; // the commit's time, while watchPending

  public ProxyCall(ClientLeg client, Exchange exchange, Targets targets, Duration routeTimeout, GatewayMetrics metrics) {
    this.client = client;
    this.clientCtx = client.context();
    this.loop = clientCtx.channel().eventLoop();
    this.exchange = exchange;
    this.failover = new Failover(targets, exchange, this);
    this.routeTimeout = routeTimeout;
    this.metrics = metrics;
  }

  /** Starts the first attempt. */
  public void start() {
    if (!routeTimeout.isZero()) {
      routeTimer = loop.schedule(this::onRouteTimeout, routeTimeout.toNanos(), TimeUnit.NANOSECONDS);
    }
    failover.next();
  }

  @Override
  public void attempt(Target target) {
    upstream = target.upstream();
    request = target.request();
    attempt = new UpstreamAttempt(upstream, exchange, loop, this, false, metrics, this);
    attempt.start();
  }

  /** The usage of the attempt that served (or is serving), or null when the route tracks none. */
  public UsageTracker usage() {
    return request == null ? null : request.usage();
  }

  @Override
  public void dropAttempt(String reason) {
    log.debug("route {}: upstream {} failed before content ({}), failing over", exchange.routeName(),
        upstream.name(), reason);
    attempt.drop();
    attempt.end(null);
    attempt.close();
    if (body != null) {
      body.release(false);
      body = null;
    }
    responseStarted = false;
  }

  @Override
  public void firstEventTimedOut() {
    attempt.record("timeout");
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
    if (failover.held()) {
      failover.moveOn(kind == ErrorKind.NO_HEALTHY_UPSTREAM ? "no_healthy_upstream" : "connect_error");
    } else {
      fail(kind, message);
    }
  }

  @Override
  public void watchFirstEvent(long nanos, Runnable timeout) {
    attempt.deadline(nanos, timeout);
  }

  @Override
  public void clearFirstEventWatch() {
    if (attempt != null) {
      attempt.clearDeadline();
    }
  }

  @Override
  public void firstByteTimeout() {
    if (failover.held()) {
      failover.moveOn("first_byte_timeout");
    } else {
      fail(ErrorKind.UPSTREAM_TIMEOUT, attempt.firstByteTimeoutMessage(""));
    }
  }

  // ---- upstream events ------------------------------------------------------------------------

  @Override
  public void onUpstreamMessage(HttpObject msg) {
    if (done) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg.decoderResult().isFailure()) {
      Throwable cause = msg.decoderResult().cause();
      ReferenceCountUtil.release(msg);
      onUpstreamProtocolError(cause);
      return;
    }
    lastUpstreamRead = System.nanoTime();
    if (silence != null) {
      silence.upstreamRead(lastUpstreamRead);
    }
    inUpstreamRead = true;
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
      inUpstreamRead = false;
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
    if (failover.held() && (status >= 500 || status == 429)) {
      failover.moveOn(status == 429 ? "http_429" : "http_5xx");
      return;
    }

    ResponseHead head = ResponseHead.of(response, request, exchange.requestId());
    ResponseHead.dropCopied(response.headers()); // memory per held stream
    keepAliveToClient = head.keepAlive();
    body = new BodyRelay(clientCtx, head, exchange, request.usage(), request.watch(), metrics, () -> attempt.reading(false),
        request.settle());
    this.head = head;
    if (request.translation() != null) {
      body.translate(request.translation(), request.translated());
    }
    if (failover.held() && status / 100 == 2 && (head.sse() || head.json())) {
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
    if (head.sse()) {
      exchange.streaming(true);
      activeStreams = metrics.activeStreams(exchange.routeName(),
          request.sessions() != null && request.sessions().longPoll() ? "long-poll" : "sse");
      activeStreams.incrementAndGet();
      if (request.sessions() != null && status / 100 == 2) {
        startSession(h);
        if (!body.attached()) {
          return; // a long poll: the client got its 202; the stream fills the session
        }
      }
    }
    client.prepareResponseHeaders(status, h);
    if (inUpstreamRead) {
      // Flushed with what follows in this read (the events, or the end): one write to the socket
      // where a flush of its own made two, and the head waits for nothing but the end of the
      // read it came in (onUpstreamReadComplete, onUpstreamComplete or finish flushes it).
      clientCtx.write(head.head(), clientCtx.voidPromise());
      headUnflushed = true;
    } else {
      clientCtx.writeAndFlush(head.head(), clientCtx.voidPromise());
    }
    head.sent(); // memory per held stream: neither header set is read after the commit
    request.committed();
    client.answerCommitted();
    exchange.mark(Moment.OUT_RESP_HEADERS_SENT, now);
    if (head.sse() || head.chunked()) {
      if (inUpstreamRead) {
        // Armed once this read is processed, and only if the stream is still on by then: a short
        // answer that came whole in this read (a burst's) needs no watch, and a wheel timeout
        // scheduled and cancelled per request was two queue hand-offs to the wheel's thread.
        watchPending = true;
        watchFrom = now;
      } else {
        startSilenceWatch(now);
      }
    }
  }

  /** The silence watch of a stream committed during a read, when it goes on after that read. */
  private void startPendingWatch() {
    if (watchPending) {
      watchPending = false;
      if (!done) {
        startSilenceWatch(watchFrom);
      }
    }
  }

  /** Watches the stream's silence from {@code from} (its commit): heartbeats and the stream-idle timeout. */
  private void startSilenceWatch(long from) {
    SseConfig sse = request.sse();
    long heartbeat = head.sse() && sse.heartbeats() ? sse.heartbeat().toNanos() : 0;
    UpstreamAttempt reading = attempt;
    BodyRelay relay = body; // those of the commit, as bound before
    silence = new SilenceWatch(loop, upstream.config().streamIdleTimeout().toNanos(), heartbeat) {
      @Override
      boolean ended() {
        return done;
      }

      @Override
      boolean readingPaused() {
        return reading.readingPaused();
      }

      @Override
      void silentTooLong() {
        onStreamIdle();
      }

      @Override
      boolean ping() {
        return relay.ping();
      }
    };
    silence.upstreamRead(lastUpstreamRead);
    silence.start(from);
  }

  private void startSession(HttpHeaders h) {
    SessionPlan plan = request.sessions();
    session = new SessionHandover(plan, clientCtx, body, () -> done, this::stopGeneration);
    client = session.start(plan, h, client, exchange.requestId());
  }

  private void onContent(HttpContent content) {
    ByteBuf bytes = content.content();
    boolean last = content instanceof LastHttpContent;
    StreamWatch.Stop stop = bytes.isReadable() ? body.relay(bytes) : null;
    content.release();
    if (body.rejected() != null) {
      attempt.end(null);
      failover.moveOn(body.rejected());
    } else if (stop != null) {
      stopForBudget(stop);
    } else if (last) {
      if (body.holding()) {
        String failure = failover.held() ? body.heldBodyFailure() : null;
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
    flushHead();
    startPendingWatch();
  }

  /** A head written during an upstream read and not on the wire yet goes now (at most once per exchange). */
  private void flushHead() {
    if (headUnflushed) {
      headUnflushed = false;
      // Often a flush of nothing (the body's own flush took the head along): cheap, and what is
      // pending cannot be told from here (a TLS handler holds writes until the flush).
      clientCtx.flush();
    }
  }

  @Override
  public void onUpstreamWritabilityChanged(boolean writable) {} // the request body goes in one write

  private void onUpstreamComplete() {
    long now = System.nanoTime();
    exchange.mark(Moment.UPSTREAM_RESP_COMPLETE, now);
    attempt.release(upstreamKeepAlive);
    attempt.end(null);
    body.end(this::onBodyWritten); // the tail may wait for the plugins to settle the usage (EndGate)
    flushHead(); // the connection was let go (no read completion reaches this call): the head goes now
    startPendingWatch(); // the end may wait for the plugins to settle the usage: watched meanwhile
  }

  private void onBodyWritten() {
    if (done) {
      return; // the exchange ended while the usage was being settled
    }
    exchange.mark(Moment.OUT_RESP_COMPLETE, System.nanoTime());
    finish();
    client.responseComplete(keepAliveToClient);
  }

  @Override
  public void onUpstreamClosed(Throwable cause) {
    if (done) {
      return;
    }
    String reason = cause == null ? "connection closed" : cause.toString();
    if (failover.held() && responseStarted) { // the answer broke off before its first content
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
    failMidStream(ErrorKind.UPSTREAM_FAILED, "the upstream connection failed mid-response");
  }

  /** The upstream sent something that is not valid HTTP (the decoder gave up on it). */
  private void onUpstreamProtocolError(Throwable cause) {
    String reason = "invalid HTTP response: " + (cause == null ? "undecodable" : cause.getMessage());
    if (!responseStarted || failover.held()) {
      // The request reached the endpoint, which may be generating already: not retried on
      // another endpoint — but another target, while nothing reached the client, takes it.
      // The decoder's complaint stays in the log and the endpoint's health, like its address.
      String message = attempt.protocolError("sent an invalid HTTP response", reason);
      if (failover.held()) {
        failover.moveOn("protocol_error");
      } else {
        fail(ErrorKind.UPSTREAM_FAILED, message);
      }
      return;
    }
    log.debug("upstream {} sent an {}", attempt.endpoint(), reason);
    attempt.endpoint().recordFailure(reason);
    attempt.end(null);
    failMidStream(ErrorKind.UPSTREAM_FAILED, "the upstream sent an invalid HTTP message mid-response");
  }

  // ---- client events --------------------------------------------------------------------------

  private boolean attached() {
    return body == null || body.attached();
  }

  /** The client's writability changed: resume or pause reading from the upstream. */
  @Override
  public void clientWritabilityChanged(boolean writable) {
    if (attached()) {
      attempt.reading(writable);
    }
  }

  /**
   * Whether the generation goes on without the client: the stream is a session (resume, long
   * polling) that has not ended. Then call {@link #continueWithout} instead of {@link #clientClosed}.
   */
  public boolean outlivesClient() {
    return session != null && !done;
  }

  /**
   * The client left; the stream runs on into its session (up to its ttl), read at full speed
   * since nobody is slow now. {@code later} ends the exchange when the generation ends.
   */
  public void continueWithout(ClientLeg later) {
    client = session.continueWithout(later);
    attempt.reading(true);
  }

  /** {@code retry: 1000}, then the end of the body: the client reconnects and resumes (a drain). */
  public void askClientToReconnect() {
    if (!done) {
      body.askToReconnect();
    }
  }

  /** The session was deleted by its owner, or removed from the store: stop generating. */
  private void stopGeneration(ErrorKind why) {
    if (done) {
      return;
    }
    attempt.cancel();
    failMidStream(why, SessionTap.stopMessage(why));
  }

  /** The client went away: stop the generation (closing the upstream connection cancels it). */
  @Override
  public void clientClosed() {
    if (done) {
      return;
    }
    exchange.outcome("client_closed");
    exchange.status(499);
    attempt.cancel();
    finish();
  }

  /**
   * The gateway is shutting down and the drain timeout is over: end the exchange now, never
   * silently — an SSE client gets {@code event: error} with code {@code draining}.
   */
  @Override
  public void drainNow() {
    if (done) {
      return;
    }
    attempt.cancel();
    if (responseStarted && !failover.held()) {
      failMidStream(ErrorKind.DRAINING, "the gateway is shutting down");
    } else {
      fail(ErrorKind.DRAINING, "the gateway is shutting down");
    }
  }

  // ---- timeouts -------------------------------------------------------------------------------

  private void onStreamIdle() {
    attempt.record("timeout");
    attempt.drop();
    attempt.end(null);
    failMidStream(ErrorKind.UPSTREAM_TIMEOUT, "the upstream sent nothing for "
        + upstream.config().streamIdleTimeout().toMillis() + "ms");
  }

  private void onRouteTimeout() {
    if (done) {
      return;
    }
    attempt.drop();
    attempt.end(null);
    String message = "the route's timeout of " + routeTimeout.toMillis() + "ms was reached";
    if (responseStarted && !failover.held()) {
      failMidStream(ErrorKind.UPSTREAM_TIMEOUT, message);
    } else {
      fail(ErrorKind.UPSTREAM_TIMEOUT, message);
    }
  }

  // ---- endings --------------------------------------------------------------------------------

  /** Answers with the client's error for a request no target can take (a field its API cannot carry). */
  @Override
  public void refuse(TranslatedError refusal) {
    exchange.outcome(UntranslatableFieldException.CODE);
    finish();
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(refusal.status()), Unpooled.wrappedBuffer(refusal.body()));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, refusal.body().length);
    client.sendResponse(response);
  }

  /** Ends the exchange with an error response; only before the response started. */
  private void fail(ErrorKind kind, String message) {
    exchange.outcome(kind.code());
    finish();
    client.sendError(kind, message);
  }

  private void failMidStream(ErrorKind kind, String message) {
    exchange.outcome(kind.code());
    attempt.drop();
    if (body.sse()) {
      endStreamWithError(GatewayErrors.sseEvent(clientCtx.alloc(), kind, message), kind.code());
    } else {
      finish();
      client.responseAborted();
    }
  }

  /**
   * A plugin ended the stream mid-way (a token budget ran out): the generation is stopped and the
   * client gets {@code event: error} with the plugin's error, then a clean end.
   */
  private void stopForBudget(StreamWatch.Stop stop) {
    attempt.cancel();
    exchange.outcome(stop.code());
    endStreamWithError(GatewayErrors.sseEvent(stop.type(), stop.code(), stop.message()), stop.code());
  }

  /**
   * The stream's last event is {@code event: error} with this code, counted in
   * {@code sluice_stream_errors_total} (the status stays the 200 sent at the start) once per
   * generation, whoever reads it (a reader that later replays the stored event is not counted).
   */
  private void endStreamWithError(ByteBuf errorEvent, String code) {
    metrics.streamError(exchange.routeName(), code);
    body.endWithError(errorEvent);
    finish();
    client.responseComplete(keepAliveToClient);
  }

  private void finish() {
    if (done) {
      return;
    }
    done = true;
    flushHead(); // whatever ends the exchange (an abort closes the connection), the head sent goes first
    failover.end();
    if (attempt != null) {
      attempt.close();
    }
    if (silence != null) {
      silence.cancel();
    }
    if (routeTimer != null) {
      routeTimer.cancel(false);
    }
    if (body != null) {
      body.release(exchange.at(Moment.UPSTREAM_RESP_COMPLETE) >= 0);
    }
    if (activeStreams != null) {
      activeStreams.decrementAndGet();
      activeStreams = null; // counted down once, whatever path ends it again
    }
    if (session != null) {
      session.end();
    }
  }
}
