package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.HeaderOps;
import io.sluice.config.SseConfig;
import io.sluice.usage.UsageTracker;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.http.ProxyHeaders;
import io.sluice.observe.GatewayMetrics;
import io.sluice.session.EventStamper;
import io.sluice.session.SessionEvents;
import io.sluice.session.SessionPlan;
import io.sluice.session.StreamSession;
import io.sluice.upstream.ConnectionPool;
import io.sluice.upstream.Endpoint;
import io.sluice.upstream.Upstream;
import io.sluice.upstream.UpstreamHandler;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream leg of one exchange and the relay of its response to the client.
 *
 * <pre>
 *   start → choose endpoint → acquire connection → send request ─┬─ response headers → relay → end
 *              ↑                                                 │
 *              └──── retry (connect failure, reset before any response byte) ┘
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
 * only; the small events of one upstream read are written as one HTTP chunk, and every read is
 * flushed as soon as it is processed, so no event ever waits for a later one (the bytes and their
 * timing are what the upstream sent; only the chunk framing differs). Other bodies are relayed
 * chunk by chunk the same way.
 *
 * <p>Failure: before the response started, a failure becomes an error response (a connect
 * failure or a reset before any response byte is retried on another endpoint, up to
 * {@code retries}). After it started, an SSE client gets {@code event: error} and a clean end; any
 * other client gets an aborted connection — never a clean end of a truncated body.
 */
public final class ProxyCall implements UpstreamHandler.Listener, ClientRelay {
  private static final Logger log = LoggerFactory.getLogger(ProxyCall.class);
  /** An SSE event larger than this is relayed in fragments rather than held whole. */
  private static final int MAX_HELD_EVENT = 256 * 1024;

  /** What the relay needs from the client side of the exchange. */
  public interface ClientLeg {
    /** The client pipeline's context, for writes that must pass through the HTTP encoder. */
    ChannelHandlerContext context();

    /** Last changes to the response headers (plugins' response hooks) before they are sent. */
    void prepareResponseHeaders(int status, HttpHeaders headers);

    /** Answers with a gateway error (the response has not started) and ends the exchange. */
    void sendError(ErrorKind kind, String message);

    /** Answers with a whole response the gateway made (a long poll's) and ends the exchange. */
    void sendResponse(io.netty.handler.codec.http.FullHttpResponse response);

    /** The response was written completely. */
    void responseComplete(boolean keepAlive);

    /** The response cannot be completed; the connection must be closed. */
    void responseAborted();

    /**
     * The client leaves the exchange while its generation goes on as a stream session: answers
     * it with {@code accepted} (a long-poll start), or nothing when the client is gone. Returns the
     * leg that ends the exchange (metrics, access log, plugins) when the generation ends.
     */
    ClientLeg detach(io.netty.handler.codec.http.FullHttpResponse accepted);
  }

  /** What to send upstream, fixed for the whole exchange. */
  public record Request(
      HttpMethod method,
      String pathAndQuery,
      HttpHeaders headers,
      ByteBuf body,
      boolean clientKeepAlive,
      HttpVersion clientVersion,
      HeaderOps responseHeaders,
      SseConfig sse,
      UsageTracker usage,
      SessionPlan sessions,
      StreamWatch watch) {}

  /**
   * Told the usage after every content event of a stream (the route's plugins' stream hooks);
   * returns a rejection to end the stream with, or null.
   */
  public interface StreamWatch {
    io.sluice.plugin.Decision.Reject onUsage(io.sluice.usage.Usage soFar);
  }

  private ClientLeg client;
  private final ChannelHandlerContext clientCtx;
  private final EventLoop loop;
  private final Exchange exchange;
  private final Upstream upstream;
  private final Request request;
  private final GatewayMetrics metrics;
  private final Duration routeTimeout;
  private final Set<Endpoint> tried = new HashSet<>(2);

  private int attemptsLeft;
  private Endpoint endpoint;
  private boolean attemptOpen;
  private Channel upstreamChannel;
  private ConnectionPool pool;
  private boolean responseStarted; // upstream response headers arrived
  private boolean sse;
  private boolean chunkedToClient;
  private boolean keepAliveToClient;
  private boolean upstreamKeepAlive; // the upstream's response allows reusing its connection
  private boolean done;
  private boolean wroteSinceFlush;
  /** SSE events of the current upstream read not written yet (see writeToClient), or null. */
  private ByteBuf coalesced;
  private SseFramer framer;
  private AtomicInteger activeStreams;
  private ScheduledFuture<?> firstByteTimer;
  private io.netty.util.Timeout silenceWatch;
  private long lastClientEventNanos; // the last event or ping the client got
  private ScheduledFuture<?> routeTimer;
  private long lastUpstreamReadNanos;
  private boolean staleRetryDone;
  private long lastContentNanos = -1;
  private io.micrometer.core.instrument.Timer tokenGapTimer;
  private String tokenGapModel;
  private io.netty.buffer.CompositeByteBuf jsonBody; // a non-streamed JSON answer, kept for its usage
  private long gzipMinSize = -1; // -1: the route or the client does not want gzip
  private GzipStream gzip;
  private io.sluice.plugin.Decision.Reject budgetStop; // a plugin ends the stream (mid-stream budget)
  private StreamSession session; // the stream as a resumable / pollable session, else null
  private long seq; // the last event's sequence number in the session
  private EventStamper fragmentStamper; // stamps the fragments of the event too large to hold
  private boolean attached = true; // the client that sent the request still reads the response
  /** The original client as the session's live reader: fed directly by this call, not woken. */
  private final StreamSession.Reader clientReader = new StreamSession.Reader() {
    @Override
    public void wake() {}

    @Override
    public void displaced() {
      loop.execute(ProxyCall.this::onDisplaced);
    }
  };

  public ProxyCall(ClientLeg client, Exchange exchange, Upstream upstream, Request request,
      Duration routeTimeout, GatewayMetrics metrics) {
    this.client = client;
    this.clientCtx = client.context();
    this.loop = clientCtx.channel().eventLoop();
    this.exchange = exchange;
    this.upstream = upstream;
    this.request = request;
    this.routeTimeout = routeTimeout;
    this.metrics = metrics;
    this.attemptsLeft = 1 + upstream.config().retries();
  }

  /**
   * Gzip the response when it is not encoded already: always for streams (flushed per event),
   * for other bodies when their length is unknown or at least {@code minSize}. Call before
   * {@link #start}, only when the route enables gzip and the client accepts it.
   */
  public void gzipResponse(long minSize) {
    this.gzipMinSize = minSize;
  }

  /** Starts the first attempt. */
  public void start() {
    if (!routeTimeout.isZero()) {
      routeTimer = loop.schedule(this::onRouteTimeout, routeTimeout.toNanos(), TimeUnit.NANOSECONDS);
    }
    attempt(null);
  }

  private void attempt(String previousFailure) {
    Endpoint next = upstream.choose(tried);
    if (next == null || attemptsLeft-- <= 0) {
      if (tried.isEmpty()) {
        fail(ErrorKind.NO_HEALTHY_UPSTREAM, "no healthy endpoint in upstream '" + upstream.name() + "'");
      } else {
        // Endpoint addresses and OS errors stay in the log: clients learn nothing of the topology.
        log.debug("upstream {} failed: {}", upstream.name(), previousFailure);
        fail(ErrorKind.UPSTREAM_FAILED, "upstream '" + upstream.name() + "' failed before responding");
      }
      return;
    }
    endpoint = next;
    tried.add(next);
    next.activeRequests().incrementAndGet();
    attemptOpen = true;
    exchange.upstream(upstream.name(), next.url());
    pool = upstream.pool(next);
    Endpoint attempted = next;
    pool.acquire(loop, this).addListener((Future<Channel> f) -> {
      if (done) {
        if (f.isSuccess()) {
          pool.discard(f.getNow());
        }
        return;
      }
      if (f.isSuccess()) {
        send(f.getNow());
      } else {
        endAttempt("connect_error");
        if (!(f.cause() instanceof ConnectionPool.PoolExhaustedException)) {
          attempted.recordFailure("connect: " + f.cause().getMessage());
        }
        log.debug("connect to {} failed: {}", attempted, f.cause().toString());
        attempt("connect to " + attempted.url() + " failed (" + f.cause().getMessage() + ")");
      }
    });
  }

  private void send(Channel channel) {
    upstreamChannel = channel;
    exchange.mark(Moment.UPSTREAM_CONNECTED, System.nanoTime());
    HttpHeaders headers = request.headers().copy();
    headers.set(HttpHeaderNames.HOST, endpoint.config().hostHeader());
    FullHttpRequest out = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, request.method(),
        endpoint.config().basePath() + request.pathAndQuery(), request.body().retainedDuplicate(),
        headers, EmptyHttpHeaders.INSTANCE);
    channel.writeAndFlush(out).addListener((ChannelFutureListener) f -> {
      if (f.isSuccess()) {
        exchange.mark(Moment.UPSTREAM_REQ_SENT, System.nanoTime());
      }
    });
    long firstByte = upstream.config().firstByteTimeout().toNanos();
    firstByteTimer = loop.schedule(this::onFirstByteTimeout, firstByte, TimeUnit.NANOSECONDS);
    if (!clientCtx.channel().isWritable()) {
      channel.config().setAutoRead(false);
    }
  }

  // ---- upstream events ------------------------------------------------------------------------

  @Override
  public void onUpstreamMessage(HttpObject msg) {
    if (done) {
      io.netty.util.ReferenceCountUtil.release(msg);
      return;
    }
    if (msg.decoderResult().isFailure()) {
      Throwable cause = msg.decoderResult().cause();
      io.netty.util.ReferenceCountUtil.release(msg);
      onUpstreamProtocolError(cause);
      return;
    }
    lastUpstreamReadNanos = System.nanoTime();
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
  }

  private void onResponseHeaders(HttpResponse response) {
    cancel(firstByteTimer);
    responseStarted = true;
    long now = System.nanoTime();
    exchange.mark(Moment.UPSTREAM_RESP_HEADERS_RECEIVED, now);
    int status = response.status().code();
    exchange.status(status);
    if (status == 502 || status == 503 || status == 504) {
      endpoint.recordFailure("answered " + status);
    } else {
      endpoint.recordSuccess(false);
    }
    metrics.upstreamRequest(upstream.name(), endpoint.url(), status >= 500 ? "http_5xx" : "success");

    upstreamKeepAlive = HttpUtil.isKeepAlive(response);
    HttpHeaders upstreamHeaders = response.headers();
    sse = contentTypeIs(upstreamHeaders.get(HttpHeaderNames.CONTENT_TYPE), "text/event-stream");
    boolean upstreamChunked = HttpUtil.isTransferEncodingChunked(response);
    long contentLength = upstreamChunked ? -1 : HttpUtil.getContentLength(response, -1L);

    HttpResponse out = new DefaultHttpResponse(HttpVersion.HTTP_1_1, response.status());
    HttpHeaders h = out.headers();
    h.set(upstreamHeaders);
    ProxyHeaders.removeHopByHop(h);
    HeaderOps ops = request.responseHeaders();
    ops.remove().forEach(h::remove);
    for (Map.Entry<String, String> e : ops.set().entrySet()) {
      h.set(e.getKey(), e.getValue());
    }
    h.set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
    if (sse) {
      h.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
      h.set(ProxyHeaders.X_ACCEL_BUFFERING, "no");
    }
    boolean bodyless = request.method().equals(HttpMethod.HEAD) || status == 204 || status == 304;
    if (gzipMinSize >= 0 && !bodyless && !h.contains(HttpHeaderNames.CONTENT_ENCODING)
        && (sse || contentLength < 0 || contentLength >= gzipMinSize)) {
      gzip = new GzipStream(clientCtx.alloc());
      h.set(HttpHeaderNames.CONTENT_ENCODING, HttpHeaderValues.GZIP);
      h.add(HttpHeaderNames.VARY, HttpHeaderNames.ACCEPT_ENCODING);
      h.remove(HttpHeaderNames.CONTENT_LENGTH);
      contentLength = -1;
    }
    keepAliveToClient = request.clientKeepAlive();
    if (!bodyless && contentLength < 0) {
      if (request.clientVersion().equals(HttpVersion.HTTP_1_1)) {
        h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        h.remove(HttpHeaderNames.CONTENT_LENGTH);
        chunkedToClient = true;
      } else {
        keepAliveToClient = false; // an HTTP/1.0 client reads the body until the connection closes
      }
    }
    HttpUtil.setKeepAlive(out, keepAliveToClient);
    if (!sse && request.usage() != null && status / 100 == 2
        && contentTypeIs(upstreamHeaders.get(HttpHeaderNames.CONTENT_TYPE), "application/json")) {
      jsonBody = clientCtx.alloc().compositeBuffer();
    }
    if (sse) {
      framer = new SseFramer(clientCtx.alloc(), MAX_HELD_EVENT);
      exchange.streaming(true);
      activeStreams = metrics.activeStreams(exchange.routeName(),
          request.sessions() != null && request.sessions().longPoll() ? "long-poll" : "sse");
      activeStreams.incrementAndGet();
      if (request.sessions() != null && status / 100 == 2) {
        startSession(h);
        if (!attached) {
          return; // a long poll: the client got its 202; the stream fills the session
        }
      }
    }
    client.prepareResponseHeaders(status, h);
    clientCtx.writeAndFlush(out, clientCtx.voidPromise());
    exchange.mark(Moment.OUT_RESP_HEADERS_SENT, now);
    if (sse || chunkedToClient) {
      lastClientEventNanos = now;
      watchSilence(nextSilenceCheck(now));
    }
  }

  /**
   * Makes the stream a session (CONTRACT §3 Resume, Long polling). A long-poll client is answered
   * {@code 202} with the poll URL right away and leaves; otherwise the client reads on, told the
   * stream's id in {@code X-Sluice-Stream-Id} (it resumes with {@code Last-Event-ID: <id>.0}
   * even when it lost the stream before the first event).
   */
  private void startSession(HttpHeaders h) {
    SessionPlan plan = request.sessions();
    session = plan.store().create(plan.owner(), plan.route(), plan.buffer().bufferEvents(),
        plan.buffer().bufferBytes(), plan.buffer().ttl(), plan.buffer().store());
    session.generation(why -> loop.execute(() -> stopGeneration(why)));
    if (plan.longPoll()) {
      gzip = null;
      attached = false;
      client = client.detach(SessionPlan.accepted(clientCtx.alloc(), session, exchange.requestId()));
      return;
    }
    h.set(SessionPlan.STREAM_ID_HEADER, session.id());
    session.attach(clientReader);
  }

  private static boolean contentTypeIs(String contentType, String expected) {
    if (contentType == null) {
      return false;
    }
    int semi = contentType.indexOf(';');
    String base = (semi < 0 ? contentType : contentType.substring(0, semi)).trim();
    return base.equalsIgnoreCase(expected);
  }

  private void onContent(HttpContent content) {
    ByteBuf bytes = content.content();
    boolean last = content instanceof LastHttpContent;
    if (bytes.isReadable()) {
      if (framer != null) {
        framer.feed(bytes.retain(), sseSink);
        if (budgetStop != null) {
          content.release();
          stopForBudget(budgetStop);
          return;
        }
      } else {
        keepForUsage(bytes);
        writeToClient(bytes.retain());
      }
    }
    content.release();
    if (last) {
      onUpstreamComplete();
    }
  }

  /** Keeps a non-streamed JSON answer (up to a cap) to read its usage at the end. */
  private void keepForUsage(ByteBuf bytes) {
    if (jsonBody == null) {
      return;
    }
    if (jsonBody.readableBytes() + bytes.readableBytes() > UsageTracker.MAX_BODY_BYTES) {
      jsonBody.release(); // too large to parse: the usage stays unknown
      jsonBody = null;
      return;
    }
    jsonBody.addComponent(true, bytes.retainedDuplicate());
  }

  private final SseFramer.Sink sseSink = new SseFramer.Sink() {
    @Override
    public void event(ByteBuf event) {
      writeEvent(event);
    }

    @Override
    public void fragment(ByteBuf part, boolean first) {
      relayFragment(part, first);
    }
  };

  /** Tells an EventSource to reconnect after one second (a draining gateway's last words). */
  static final byte[] RECONNECT = "retry: 1000\n\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  /** At most this much of one read's small events is gathered into one write; larger events go as they are. */
  private static final int COALESCE_BYTES = 8192;

  /** An SSE comment: ignored by every client, but bytes on the wire. */
  private static final byte[] PING = ": ping\n\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private void writeEvent(ByteBuf event) {
    if (budgetStop != null) {
      event.release(); // after the event that ran past the budget: not relayed
      return;
    }
    UsageTracker usage = request.usage();
    // Parsed once, only when something needs the fields: usage tracking, or a session (comments
    // are not numbered).
    SseEvent fields = usage != null || session != null ? SseEvent.parse(event) : null;
    if (usage != null) {
      UsageTracker.Verdict verdict = usage.onEvent(fields);
      if (verdict == UsageTracker.Verdict.DROP) {
        event.release(); // the usage chunk the gateway asked for; the client did not
        return;
      }
      if (verdict == UsageTracker.Verdict.CONTENT) {
        onContentEvent(usage);
        if (request.watch() != null) {
          // Acted on once the framer is done with this read (it must not be released under its feet).
          budgetStop = request.watch().onUsage(usage.usage());
        }
      }
    }
    relayEvent(event, fields);
  }

  /** A gateway-made event (an error): never a comment. */
  private void relayEvent(ByteBuf event) {
    relayEvent(event, null);
  }

  /**
   * Passes one whole event on: in a session, stamped with its {@code id: <stream-id>.<seq>} and
   * kept for resumes and polls, then written while the client still reads.
   *
   * @param fields the event parsed, or null when it is known not to be a comment-only block
   */
  private void relayEvent(ByteBuf event, SseEvent fields) {
    if (session != null && (fields == null || !fields.isCommentOnly())) {
      byte[] stamped = SessionEvents.stamp(event, session.id(), ++seq);
      event.release();
      session.append(seq, stamped);
      if (!attached || !session.isReader(clientReader)) {
        return;
      }
      event = Unpooled.wrappedBuffer(stamped);
    }
    if (exchange.at(Moment.OUT_FIRST_EVENT_SENT) < 0) {
      exchange.mark(Moment.OUT_FIRST_EVENT_SENT, System.nanoTime());
    }
    writeToClient(event);
  }

  /**
   * Part of an event too large to hold (MAX_HELD_EVENT), relayed as it comes. In a session it is
   * still numbered and stamped like a whole event — id line first, its own id lines left out — so
   * the client's Last-Event-ID stays ours and the numbering has no hole: a resume from it (or
   * later) works. It cannot be kept, so the session records it lost: a resume from before it gets
   * 410 resume_gap, like one from before an event larger than buffer-bytes.
   */
  private void relayFragment(ByteBuf part, boolean first) {
    if (session != null) {
      if (first) {
        session.lost(++seq);
        fragmentStamper = new EventStamper(session.id(), seq);
      }
      ByteBuf stamped = Unpooled.wrappedBuffer(fragmentStamper.stamp(part));
      part.release();
      part = stamped;
    }
    writeToClient(part);
  }

  /**
   * A plugin ended the stream mid-way (a token budget ran out): the generation is stopped and the
   * client gets {@code event: error} with the plugin's error, then a clean end.
   */
  private void stopForBudget(io.sluice.plugin.Decision.Reject stop) {
    if (upstreamChannel != null) {
      metrics.upstreamRequest(upstream.name(), endpoint.url(), "cancelled");
    }
    dropUpstream();
    endAttempt(null);
    exchange.outcome(stop.code());
    ByteBuf rest = framer.drainRemainder();
    if (rest != null) {
      rest.release();
    }
    byte[] error = ("event: error\ndata: " + GatewayErrors.json(stop.type(), stop.code(), stop.message()) + "\n\n")
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    relayEvent(Unpooled.wrappedBuffer(error));
    endResponse();
    finish();
    client.responseComplete(keepAliveToClient);
  }

  /** Time to first token, then the gap since the previous content event (CONTRACT §5). */
  private void onContentEvent(UsageTracker usage) {
    long now = System.nanoTime();
    String responseModel = usage.model();
    if (tokenGapTimer == null || !java.util.Objects.equals(responseModel, tokenGapModel)) {
      // Per token only a timer record: the label and the timer are looked up when the model changes.
      tokenGapModel = responseModel;
      tokenGapTimer = metrics.interTokenTimer(exchange.routeName(),
          metrics.modelLabel(exchange.routeName(), responseModel));
    }
    if (lastContentNanos < 0) {
      exchange.mark(Moment.OUT_FIRST_TOKEN_SENT, now);
      metrics.timeToFirstToken(exchange.routeName(), metrics.modelLabel(exchange.routeName(), responseModel),
          now - exchange.startNanos());
    } else {
      tokenGapTimer.record(now - lastContentNanos, TimeUnit.NANOSECONDS);
    }
    lastContentNanos = now;
  }

  private void writeToClient(ByteBuf bytes) {
    if (!attached) {
      bytes.release(); // the client left; the session keeps what it needs
      return;
    }
    if (gzip != null) {
      bytes = gzip.encode(bytes);
    }
    exchange.addBytesOut(bytes.readableBytes());
    int size = bytes.readableBytes();
    if (framer != null && size < COALESCE_BYTES) {
      // Small SSE events of one upstream read are copied into one buffer: one HTTP chunk, one
      // outbound entry and one iovec per read instead of three per event. It goes out (and is
      // flushed) when the read is done, so no event waits for a later one.
      // Sized for one event and grown as needed: under backpressure the outbound buffer holds
      // these, and a slow client must not pin 8 KiB per read.
      if (coalesced != null && coalesced.maxWritableBytes() < size) {
        writeCoalesced();
      }
      if (coalesced == null) {
        coalesced = clientCtx.alloc().directBuffer(Math.max(size, 512), COALESCE_BYTES);
      }
      coalesced.writeBytes(bytes);
      bytes.release();
      return;
    }
    writeCoalesced(); // what came before goes first
    writeChunk(bytes);
  }

  /** Writes the events gathered from the current read, if any (not flushed). */
  private void writeCoalesced() {
    ByteBuf out = coalesced;
    if (out != null) {
      coalesced = null;
      writeChunk(out);
    }
  }

  private void writeChunk(ByteBuf bytes) {
    clientCtx.write(new DefaultHttpContent(bytes), clientCtx.voidPromise());
    wroteSinceFlush = true;
    if (!clientCtx.channel().isWritable() && upstreamChannel != null) {
      upstreamChannel.config().setAutoRead(false);
    }
  }

  /** Everything written so far goes on the wire now. */
  private void flushToClient() {
    writeCoalesced();
    if (wroteSinceFlush) {
      wroteSinceFlush = false;
      clientCtx.flush();
    }
  }

  @Override
  public void onUpstreamReadComplete() {
    flushToClient();
  }

  @Override
  public void onUpstreamWritabilityChanged(boolean writable) {
    // The request body is written in one go from memory; nothing to pause on this side.
  }

  private void onUpstreamComplete() {
    long now = System.nanoTime();
    exchange.mark(Moment.UPSTREAM_RESP_COMPLETE, now);
    if (framer != null) {
      ByteBuf rest = framer.drainRemainder();
      if (rest != null) {
        writeToClient(rest); // an unterminated last event is passed on as received
      }
    }
    Channel finished = upstreamChannel;
    upstreamChannel = null;
    if (finished != null) {
      if (upstreamKeepAlive) {
        pool.release(finished);
      } else {
        pool.discard(finished); // "Connection: close" (or HTTP/1.0): the upstream is done with it
      }
    }
    endAttempt(null);
    endResponse();
    exchange.mark(Moment.OUT_RESP_COMPLETE, now);
    finish();
    client.responseComplete(keepAliveToClient);
  }

  @Override
  public void onUpstreamClosed(Throwable cause) {
    if (done) {
      return;
    }
    Channel lost = upstreamChannel;
    upstreamChannel = null;
    String reason = cause == null ? "connection closed" : cause.toString();
    if (!responseStarted) {
      cancel(firstByteTimer);
      if (lost != null && Boolean.TRUE.equals(lost.attr(ConnectionPool.REUSED).get()) && !staleRetryDone
          && attemptsLeft > 0) {
        // Most likely a kept-alive connection the server closed while it sat idle: not the
        // endpoint's fault. Within the retry budget, once, try the same endpoint on a new
        // connection (a plain retry would go to another endpoint, or fail when there is none).
        staleRetryDone = true;
        attemptsLeft--;
        lost.close();
        endAttempt("stale_connection");
        Endpoint same = endpoint;
        same.activeRequests().incrementAndGet();
        attemptOpen = true;
        pool.acquire(loop, this, true).addListener((Future<Channel> f) -> {
          if (done) {
            if (f.isSuccess()) {
              pool.discard(f.getNow());
            }
          } else if (f.isSuccess()) {
            send(f.getNow());
          } else {
            endAttempt("connect_error");
            same.recordFailure("connect: " + f.cause().getMessage());
            attempt("connect to " + same.url() + " failed (" + f.cause().getMessage() + ")");
          }
        });
        return;
      }
      endAttempt("reset");
      endpoint.recordFailure("reset before response: " + reason);
      if (lost != null) {
        lost.close();
      }
      // No byte of the response was seen: inference has not produced anything we would repeat.
      attempt("endpoint " + endpoint.url() + " closed the connection before responding (" + reason + ")");
      return;
    }
    endAttempt(null);
    log.debug("upstream {} failed mid-response: {}", endpoint, reason);
    failMidStream(ErrorKind.UPSTREAM_FAILED, "the upstream connection failed mid-response");
  }

  /** The upstream sent something that is not valid HTTP (the decoder gave up on it). */
  private void onUpstreamProtocolError(Throwable cause) {
    String reason = "invalid HTTP response: " + (cause == null ? "undecodable" : cause.getMessage());
    log.debug("upstream {} sent an {}", endpoint, reason);
    endpoint.recordFailure(reason);
    if (!responseStarted) {
      cancel(firstByteTimer);
      dropUpstream();
      endAttempt("protocol_error");
      // The request reached the endpoint, which may be generating already: not retried.
      // The endpoint's address and the decoder's complaint stay in the debug log above.
      fail(ErrorKind.UPSTREAM_FAILED, "upstream '" + upstream.name() + "' sent an invalid HTTP response");
      return;
    }
    endAttempt(null);
    failMidStream(ErrorKind.UPSTREAM_FAILED, "the upstream sent an invalid HTTP message mid-response");
  }

  // ---- client events --------------------------------------------------------------------------

  /** The client's writability changed: resume or pause reading from the upstream. */
  @Override
  public void clientWritabilityChanged(boolean writable) {
    if (upstreamChannel != null && attached) {
      upstreamChannel.config().setAutoRead(writable);
      if (writable) {
        upstreamChannel.read();
      }
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
    attached = false;
    if (coalesced != null) {
      coalesced.release(); // the client is gone: the session has the events
      coalesced = null;
    }
    client = later;
    session.detach(clientReader);
    if (gzip != null) {
      gzip.close();
      gzip = null;
    }
    if (upstreamChannel != null) {
      upstreamChannel.config().setAutoRead(true);
      upstreamChannel.read();
    }
  }

  /** {@code retry: 1000}, then the end of the body: the client reconnects and resumes (a drain). */
  public void askClientToReconnect() {
    if (attached && !done) {
      writeToClient(Unpooled.wrappedBuffer(RECONNECT));
      endResponse();
    }
  }

  /** A resume took the session over while this client still seemed to read: let it go. */
  private void onDisplaced() {
    if (attached && !done) {
      clientCtx.close(); // the client leg hands over through continueWithout
    }
  }

  /** The session was deleted by its owner, or removed from the store: stop generating. */
  private void stopGeneration(ErrorKind why) {
    if (done) {
      return;
    }
    if (upstreamChannel != null) {
      metrics.upstreamRequest(upstream.name(), endpoint.url(), "cancelled");
    }
    dropUpstream();
    endAttempt(null);
    failMidStream(why, switch (why) {
      case STREAM_CANCELLED -> "the stream was stopped by its owner";
      case DRAINING -> "the gateway is shutting down";
      default -> "the stream's session was removed (memory cap or ttl)";
    });
  }

  /** The client went away: stop the generation (closing the upstream connection cancels it). */
  @Override
  public void clientClosed() {
    if (done) {
      return;
    }
    exchange.outcome("client_closed");
    exchange.status(499);
    if (upstreamChannel != null) {
      metrics.upstreamRequest(upstream.name(), endpoint.url(), "cancelled");
      pool.discard(upstreamChannel);
      upstreamChannel = null;
    }
    endAttempt(null);
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
    String message = "the gateway is shutting down";
    if (upstreamChannel != null && endpoint != null) {
      metrics.upstreamRequest(upstream.name(), endpoint.url(), "cancelled");
    }
    dropUpstream();
    endAttempt(null);
    if (responseStarted) {
      failMidStream(ErrorKind.DRAINING, message);
    } else {
      fail(ErrorKind.DRAINING, message);
    }
  }

  // ---- timeouts -------------------------------------------------------------------------------

  private void onFirstByteTimeout() {
    if (done || responseStarted) {
      return;
    }
    metrics.upstreamRequest(upstream.name(), endpoint.url(), "timeout");
    dropUpstream();
    endAttempt(null);
    fail(ErrorKind.UPSTREAM_TIMEOUT, "the upstream did not answer within "
        + upstream.config().firstByteTimeout().toMillis() + "ms");
  }

  private void watchSilence(long delayNanos) {
    silenceWatch = StreamTimers.schedule(loop, this::onSilenceCheck, delayNanos);
  }

  /** Nanoseconds until the next heartbeat or idle deadline, whichever comes first. */
  private long nextSilenceCheck(long now) {
    long idleLeft = upstream.config().streamIdleTimeout().toNanos() - (now - lastUpstreamReadNanos);
    if (sse && request.sse().heartbeats()) {
      long pingLeft = request.sse().heartbeat().toNanos() - (now - Math.max(lastUpstreamReadNanos, lastClientEventNanos));
      return Math.min(idleLeft, pingLeft);
    }
    return idleLeft;
  }

  /**
   * The stream's silence watch (one wheel timeout per stream, re-armed for the time left):
   * sends {@code : ping} when the upstream has been silent for {@code sse.heartbeat} — also
   * while a reasoning model thinks before its first token — so idle timeouts of load balancers and
   * browsers never cut a healthy stream; ends the stream at {@code stream-idle-timeout}.
   */
  private void onSilenceCheck() {
    if (done) {
      return;
    }
    long now = System.nanoTime();
    if (upstreamChannel != null && !upstreamChannel.config().isAutoRead()) {
      // We paused the upstream for a slow client: that silence is ours, not the upstream's, and a
      // client that cannot take data needs no ping.
      lastUpstreamReadNanos = now;
      watchSilence(nextSilenceCheck(now));
      return;
    }
    long silent = now - lastUpstreamReadNanos;
    if (silent >= upstream.config().streamIdleTimeout().toNanos()) {
      metrics.upstreamRequest(upstream.name(), endpoint.url(), "timeout");
      dropUpstream();
      endAttempt(null);
      failMidStream(ErrorKind.UPSTREAM_TIMEOUT, "the upstream sent nothing for "
          + upstream.config().streamIdleTimeout().toMillis() + "ms");
      return;
    }
    if (sse && attached && request.sse().heartbeats()
        && now - Math.max(lastUpstreamReadNanos, lastClientEventNanos) >= request.sse().heartbeat().toNanos()) {
      writeToClient(Unpooled.wrappedBuffer(PING));
      flushToClient();
      lastClientEventNanos = now;
    }
    watchSilence(nextSilenceCheck(now));
  }

  private void onRouteTimeout() {
    if (done) {
      return;
    }
    dropUpstream();
    endAttempt(null);
    String message = "the route's timeout of " + routeTimeout.toMillis() + "ms was reached";
    if (responseStarted) {
      failMidStream(ErrorKind.UPSTREAM_TIMEOUT, message);
    } else {
      fail(ErrorKind.UPSTREAM_TIMEOUT, message);
    }
  }

  // ---- endings --------------------------------------------------------------------------------

  /** Ends the exchange with an error response; only before the response started. */
  private void fail(ErrorKind kind, String message) {
    exchange.outcome(kind.code());
    finish();
    client.sendError(kind, message);
  }

  private void failMidStream(ErrorKind kind, String message) {
    exchange.outcome(kind.code());
    dropUpstream();
    if (sse) {
      ByteBuf rest = framer.drainRemainder();
      if (rest != null) {
        rest.release(); // half an event the client never saw: it cannot be completed
      }
      relayEvent(GatewayErrors.sseEvent(clientCtx.alloc(), kind, message));
      endResponse();
      finish();
      client.responseComplete(keepAliveToClient);
    } else {
      finish();
      client.responseAborted();
    }
  }

  /** The body's end to a client still reading: the gzip trailer, then the last chunk. */
  private void endResponse() {
    if (attached) {
      writeCoalesced();
      writeGzipTrailer();
      clientCtx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT, clientCtx.voidPromise());
    }
  }

  /** Ends the gzip member (CRC and length) so that the client can check the body is whole. */
  private void writeGzipTrailer() {
    if (gzip != null) {
      ByteBuf trailer = gzip.finish();
      gzip = null;
      exchange.addBytesOut(trailer.readableBytes());
      clientCtx.write(new DefaultHttpContent(trailer), clientCtx.voidPromise());
    }
  }

  private void dropUpstream() {
    if (upstreamChannel != null) {
      pool.discard(upstreamChannel);
      upstreamChannel = null;
    }
  }

  /** Ends the current attempt's bookkeeping; {@code outcome} is recorded when not yet counted. */
  private void endAttempt(String outcome) {
    if (!attemptOpen) {
      return;
    }
    attemptOpen = false;
    endpoint.activeRequests().decrementAndGet();
    if (outcome != null) {
      metrics.upstreamRequest(upstream.name(), endpoint.url(), outcome);
    }
  }

  private void finish() {
    if (done) {
      return;
    }
    done = true;
    cancel(firstByteTimer);
    if (silenceWatch != null) {
      silenceWatch.cancel();
    }
    cancel(routeTimer);
    if (framer != null) {
      framer.release();
    }
    if (coalesced != null) {
      coalesced.release(); // an aborted response: what was gathered will not be written
      coalesced = null;
    }
    if (gzip != null) {
      gzip.close(); // an aborted response: free the native zlib state now
      gzip = null;
    }
    if (activeStreams != null) {
      activeStreams.decrementAndGet();
      activeStreams = null; // counted down once, whatever path ends it again
    }
    if (session != null) {
      session.detach(clientReader);
      session.end();
    }
    if (jsonBody != null) {
      if (exchange.at(Moment.UPSTREAM_RESP_COMPLETE) >= 0 && request.usage() != null) {
        request.usage().onBody(io.netty.buffer.ByteBufUtil.getBytes(jsonBody));
      }
      jsonBody.release();
      jsonBody = null;
    }
  }

  private static void cancel(ScheduledFuture<?> timer) {
    if (timer != null) {
      timer.cancel(false);
    }
  }
}
