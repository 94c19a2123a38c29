package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.VoidChannelPromise;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.Future;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.http.ErrorKind;
import io.sluice.observe.GatewayMetrics;
import io.sluice.telemetry.ExchangeTrace;
import io.sluice.upstream.ConnectionPool;
import io.sluice.upstream.Endpoint;
import io.sluice.upstream.Upstream;
import io.sluice.upstream.UpstreamHandler;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Getting one exchange's request to an endpoint of its upstream: choose an endpoint, acquire a
 * connection, wait for the first byte of the answer, try another endpoint while it is safe to.
 * Shared by the HTTP relay ({@link ProxyCall}) and WebSocket upgrades, so both retry, count and
 * word their failures the same way.
 *
 * <pre>
 *   start ─→ choose endpoint ─→ acquire ─→ owner.connected(channel) ─→ first byte ─→ owner's relay
 *              ↑                   │ connect failure                      │ reset before it
 *              └───────────────────┴──────────────────────────────────────┘ retry()
 * </pre>
 *
 * <p>Failure: when no endpoint is left (none healthy, or the retry budget is spent) the owner
 * is told {@link Owner#failed} with an error that names the upstream only. Endpoint addresses and
 * operating-system errors go to the debug log and the endpoint's health, never to a client.
 *
 * <p>Threading: every method runs on the client channel's event loop, which also runs the
 * upstream connection (each loop has its own pools), so nothing here needs a lock.
 */
public final class UpstreamAttempt {
  private static final Logger log = LoggerFactory.getLogger(UpstreamAttempt.class);

  /** The side that sends the request once connected and relays the answer. */
  public interface Owner {
    /** A connection to {@link #endpoint()} is ready: send the request on it. */
    void connected(Channel channel);

    /** No attempt is left; answer the client with this error (the response has not started). */
    void failed(ErrorKind kind, String message);

    /** The first byte did not come within the upstream's {@code first-byte-timeout}. */
    void firstByteTimeout();
  }

  private final Upstream upstream;
  private final Exchange exchange;
  private final EventLoop loop;
  private final UpstreamHandler.Listener listener;
  private final GatewayMetrics metrics;
  private final Owner owner;
  /** Every attempt on a new connection (a WebSocket session owns its connection to the end). */
  private final boolean freshConnections;
  // The endpoints tried: none (an immutable empty set), one (an immutable set of one: most
  // exchanges make one attempt, and a HashSet was four objects per request), then a HashSet.
  // Emptied once answered (memory per held stream): no attempt follows an answer.
  private Set<Endpoint> tried = Set.of();

  private int attemptsLeft;
  private Endpoint endpoint;
  private ConnectionPool pool;
  private Channel channel;
  private boolean open; // the current attempt counts in its endpoint's active requests
  private boolean closed;
  private boolean staleRetryDone;

  public UpstreamAttempt(Upstream upstream, Exchange exchange, EventLoop loop, UpstreamHandler.Listener listener,
      boolean freshConnections, GatewayMetrics metrics, Owner owner) {
    this.upstream = upstream;
    this.exchange = exchange;
    this.loop = loop;
    this.listener = listener;
    this.freshConnections = freshConnections;
    this.metrics = metrics;
    this.owner = owner;
    this.attemptsLeft = 1 + upstream.config().retries();
  }

  /** Starts the first attempt. */
  public void start() {
    next(null, null);
  }

  /**
   * The connection failed before any byte of the answer: the client has seen nothing, so the
   * request is tried again within {@code retries} — on another endpoint while one is left, else on
   * a new connection to the same endpoint while it is still available (a reset is usually one
   * connection's fate, not the server's: a single-endpoint upstream must not turn it into a 502).
   * As Envoy's {@code retry_on: reset} does (nginx retries a POST only with {@code non_idempotent},
   * and only on another server); an endpoint that keeps resetting is ejected by its health and
   * then not tried again.
   */
  public void retry(String why) {
    cancelFirstByteTimer();
    drop();
    end("reset");
    endpoint.recordFailure("reset before response: " + why);
    next("endpoint " + endpoint.url() + " closed the connection before responding (" + why + ")", endpoint);
  }

  /**
   * Whether a connection lost before any answer byte was a kept-alive one the server had closed
   * while it sat idle — not the endpoint's fault; then it is retried once on the same endpoint
   * with a new connection (a plain retry would go to another endpoint, or fail when there is
   * none) and this returns true.
   */
  public boolean retryStaleConnection() {
    Channel lost = channel;
    if (lost == null || !Boolean.TRUE.equals(lost.attr(ConnectionPool.REUSED).get()) || staleRetryDone
        || attemptsLeft <= 0) {
      return false;
    }
    cancelFirstByteTimer();
    staleRetryDone = true;
    attemptsLeft--;
    channel = null;
    lost.close();
    end("stale_connection");
    acquire(endpoint, true);
    return true;
  }

  /**
   * The next attempt: an endpoint not tried yet, else {@code again} (the endpoint that just reset,
   * when it is still available), within the attempts left.
   */
  private void next(String previousFailure, Endpoint again) {
    Endpoint chosen = upstream.choose(tried);
    boolean sameAgain = chosen == null && again != null && again.available();
    if (sameAgain) {
      chosen = again;
    }
    if (chosen == null || attemptsLeft-- <= 0) {
      closed = true;
      if (tried.isEmpty()) {
        owner.failed(ErrorKind.NO_HEALTHY_UPSTREAM, "no healthy endpoint in upstream '" + upstream.name() + "'");
      } else {
        log.debug("upstream {} failed: {}", upstream.name(), previousFailure);
        owner.failed(ErrorKind.UPSTREAM_FAILED, "upstream '" + upstream.name() + "' failed before responding");
      }
      return;
    }
    tried(chosen);
    acquire(chosen, freshConnections || sameAgain); // a pooled connection might be the next to reset
  }

  private void tried(Endpoint chosen) {
    if (tried.isEmpty()) {
      tried = Set.of(chosen);
    } else {
      if (!(tried instanceof HashSet)) {
        tried = new HashSet<>(tried);
      }
      tried.add(chosen);
    }
  }

  private void acquire(Endpoint target, boolean fresh) {
    endpoint = target;
    target.activeRequests().incrementAndGet();
    open = true;
    exchange.upstream(upstream.name(), target.url());
    exchange.trace().attemptStarted(upstream.name(), target.config().host(), target.config().port(), exchange.genAi());
    pool = upstream.pool(target);
    ConnectionPool from = pool;
    Channel idle = fresh ? null : from.takeIdle(loop, listener);
    if (idle != null) {
      connected(idle); // at once, as the already completed future of acquire would have
      return;
    }
    from.acquire(loop, listener, true).addListener((Future<Channel> f) -> {
      if (closed) {
        if (f.isSuccess()) {
          from.discard(f.getNow());
        }
        return;
      }
      if (f.isSuccess()) {
        connected(f.getNow());
        return;
      }
      // A reset that lands while the connect completes (the server accepted, then dropped the
      // connection) fails the connect, but it is a reset: tried again like one, on the same
      // endpoint too. A refusal, a timeout, a full pool or a failed TLS handshake is not.
      boolean reset = isReset(f.cause());
      end(reset ? "reset" : "connect_error");
      if (!(f.cause() instanceof ConnectionPool.PoolExhaustedException)) {
        target.recordFailure("connect: " + f.cause().getMessage());
      }
      log.debug("connect to {} failed: {}", target, f.cause().toString());
      next("connect to " + target.url() + " failed (" + f.cause().getMessage() + ")", reset ? target : null);
    });
  }

  private void connected(Channel connection) {
    channel = connection;
    exchange.mark(Moment.UPSTREAM_CONNECTED, System.nanoTime());
    owner.connected(connection);
  }

  /**
   * Whether a failed connect was a reset (ECONNRESET while the connect completed): the transports
   * report it as a {@code ConnectException} like a refusal, so only its message tells ("Connection
   * reset by peer" from the native transport, "Connection reset" from NIO).
   */
  private static boolean isReset(Throwable cause) {
    if (cause instanceof ConnectionPool.PoolExhaustedException || cause instanceof ConnectionPool.TlsHandshakeException) {
      return false;
    }
    for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t.getMessage() != null && t.getMessage().contains("Connection reset")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Sends the request on the connection, to the endpoint's {@code Host} and base path; the
   * answer's first byte is awaited from now for {@code first-byte-timeout}.
   *
   * @param headers the request's headers (the endpoint's {@code Host} is set on them)
   */
  public void send(HttpMethod method, String pathAndQuery, HttpHeaders headers, ByteBuf body) {
    headers.set(HttpHeaderNames.HOST, endpoint.config().hostHeader());
    ExchangeTrace trace = exchange.trace();
    if (trace != ExchangeTrace.NONE) {
      trace.inject(headers::set); // the attempt's span is the upstream's parent
    }
    String base = endpoint.config().basePath();
    HttpRequest out = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method,
        base.isEmpty() ? pathAndQuery : base + pathAndQuery, headers);
    Channel sent = channel; // a failed write may already have moved the attempt on when it returns
    // The head and the body as two writes with a promise that is neither allocated nor listened
    // to: a FullHttpRequest whose body does not fit the encoder's head buffer (most chat requests)
    // is split by Netty into two writes under a PromiseCombiner, three promises per request. A
    // write that fails closes the connection (channelInactive: the attempt is retried), which is
    // all the old promise's failure ever led to; the moment is marked once the socket took it.
    ChannelPromise quiet = new VoidChannelPromise(sent, false);
    sent.write(out, quiet);
    LastHttpContent end;
    if (body.isReadable()) {
      end = new DefaultLastHttpContent(body, EmptyHttpHeaders.INSTANCE); // no trailer set of its own
    } else {
      body.release();
      end = LastHttpContent.EMPTY_LAST_CONTENT; // a GET, an upgrade: the shared constant
    }
    sent.writeAndFlush(end, quiet);
    if (sent.isActive()) {
      exchange.mark(Moment.UPSTREAM_REQ_SENT, System.nanoTime());
    }
    // On the connection's own timer (its pool check), which re-arms for the deadline: no schedule
    // and cancel per request on a reused connection.
    UpstreamHandler handler = sent.pipeline().get(UpstreamHandler.class);
    if (handler != null) {
      handler.deadline(upstream.config().firstByteTimeout().toNanos(), this::onFirstByteTimeout);
    }
  }

  /**
   * After the first byte: {@code timeout} runs unless {@link #clearDeadline} comes within
   * {@code nanos} — on the connection's own timer, as the first-byte timeout.
   */
  public void deadline(long nanos, Runnable timeout) {
    UpstreamHandler handler = channel == null ? null : channel.pipeline().get(UpstreamHandler.class);
    if (handler != null) {
      handler.deadline(nanos, timeout);
    }
  }

  /** What the deadline waited for came. */
  public void clearDeadline() {
    cancelFirstByteTimer();
  }

  /** The answer started: no more retries or first-byte timeout. */
  public void answered() {
    cancelFirstByteTimer();
    tried = Set.of(); // not after an answer; were it ever, the endpoints are tried afresh
  }

  private void onFirstByteTimeout() {
    if (closed) {
      return;
    }
    record("timeout");
    drop();
    end(null);
    closed = true;
    owner.firstByteTimeout();
  }

  /** The client's error for a first-byte timeout. */
  public String firstByteTimeoutMessage(String what) {
    return "the upstream did not answer " + what + "within " + upstream.config().firstByteTimeout().toMillis() + "ms";
  }

  /**
   * The endpoint answered something that is not a valid answer (broken HTTP, a bad WebSocket
   * handshake): recorded against it with the {@code detail}; returns the client's message, which
   * names the upstream and the {@code problem} only.
   */
  public String protocolError(String problem, String detail) {
    cancelFirstByteTimer();
    log.debug("upstream {} endpoint {}: {}", upstream.name(), endpoint, detail);
    endpoint.recordFailure(detail);
    drop();
    end("protocol_error");
    return "upstream '" + upstream.name() + "' " + problem;
  }

  /** The status line arrived: 502/503/504 count against the endpoint's health, the rest for it. */
  public void recordStatus(int status) {
    if (status == 502 || status == 503 || status == 504) {
      endpoint.recordFailure("answered " + status);
    } else {
      endpoint.recordSuccess(false);
    }
    exchange.trace().attemptStatus(status);
    record(status >= 500 ? "http_5xx" : "success");
  }

  /** Counts one upstream request outcome ({@code sluice_upstream_requests_total}). */
  public void record(String outcome) {
    metrics.upstreamRequest(upstream.name(), endpoint.url(), outcome);
    exchange.trace().attemptOutcome(outcome);
  }

  /** The exchange stops while an upstream connection is open: counted as {@code cancelled}. */
  public void cancel() {
    if (channel != null && endpoint != null) {
      record("cancelled");
    }
    drop();
    end(null);
    close();
  }

  /** The connection is broken or unwanted: closed, never reused. */
  public void drop() {
    if (channel != null) {
      pool.discard(channel);
      channel = null;
    }
  }

  /** The answer is complete: the connection goes back to the pool when the upstream allows it. */
  public void release(boolean reusable) {
    Channel finished = channel;
    channel = null;
    if (finished != null) {
      if (reusable) {
        pool.release(finished);
      } else {
        pool.discard(finished); // "Connection: close" (or HTTP/1.0): the upstream is done with it
      }
    }
  }

  /**
   * The connection is no longer this attempt's to give back: it closed by itself, or it is
   * someone else's now (a WebSocket session closes it).
   */
  public void forget() {
    channel = null;
  }

  /** Ends the current attempt's bookkeeping; {@code outcome} is counted when not counted yet. */
  public void end(String outcome) {
    if (!open) {
      return;
    }
    open = false;
    endpoint.activeRequests().decrementAndGet();
    if (outcome != null) {
      record(outcome);
    }
    exchange.trace().attemptEnded();
  }

  /** No more attempts: a connection still being acquired is discarded when it comes. */
  public void close() {
    closed = true;
    cancelFirstByteTimer();
  }

  private void cancelFirstByteTimer() {
    UpstreamHandler handler = channel == null ? null : channel.pipeline().get(UpstreamHandler.class);
    if (handler != null) {
      handler.clearDeadline();
    }
  }

  /**
   * Reads the upstream connection (resumed: at once) or stops reading it, so that TCP flow
   * control slows the upstream down while the client cannot take more.
   */
  public void reading(boolean on) {
    if (channel != null) {
      channel.config().setAutoRead(on);
      if (on) {
        channel.read();
      }
    }
  }

  /** Whether reads of an open connection are paused (for a slow client). */
  public boolean readingPaused() {
    return channel != null && !channel.config().isAutoRead();
  }

  /** The open connection, or null between attempts and after the answer. */
  public Channel channel() {
    return channel;
  }

  /** The endpoint of the current (or last) attempt. */
  public Endpoint endpoint() {
    return endpoint;
  }

  public Upstream upstream() {
    return upstream;
  }
}
