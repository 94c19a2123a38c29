package io.sluice.relay;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.Timeout;
import io.sluice.config.SseConfig;
import io.sluice.exchange.ClientLeg;
import io.sluice.exchange.Exchange;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.http.ProxyHeaders;
import io.sluice.observe.GatewayMetrics;
import io.sluice.session.SessionPlan;
import io.sluice.session.StreamSession;
import io.sluice.sse.SseControl;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A resumed stream (gateway-core/docs/streams.md, resume): the events of a session after the client's
 * {@code Last-Event-ID}, then the live rest as the generation produces it — no second call to
 * the model, no duplicate, no gap.
 *
 * <p>The session is filled by the generation's own event loop; this relay runs on the resuming
 * client's loop and pulls: on every wake-up (hopped over from the producer) and whenever its
 * client becomes writable again, it writes what is new while the client can take it. A client
 * slower than the generation therefore costs no memory beyond the session's bounded buffer; if it
 * falls so far behind that its next event was dropped, it gets {@code event: error} with
 * {@code resume_gap} (and may resume again) rather than a silent gap.
 *
 * <p>The body goes through an {@link EventWriter}, as a first-hand stream does: gzipped (with a
 * zlib sync flush per event) when the route compresses and the resuming client accepts gzip —
 * whether the original client did is not what counts — and the events of one pull in one chunk.
 */
public final class SessionRelay implements ClientRelay, StreamSession.Reader {
  /** Events written per pull before checking writability again. */
  private static final int BATCH = 64;
  private static final byte[] PING = ": ping\n\n".getBytes(StandardCharsets.US_ASCII);

  private final ClientLeg client;
  private final ChannelHandlerContext ctx;
  private final EventLoop loop;
  private final StreamSession session;
  private final Exchange exchange;
  private final SseConfig sse;
  private final GatewayMetrics metrics;
  private final boolean keepAlive;
  private final boolean chunked;
  private final LoopWakeup wakeup;
  private final boolean gzip;
  private EventWriter writer; // from the response head on

  private long cursor;
  private boolean started;
  private boolean done;
  private Timeout heartbeat;
  private long lastWriteNanos;
  private AtomicInteger activeStreams;

  /**
   * @param after the last event the client has (the seq of its {@code Last-Event-ID})
   * @param keepAlive the client's connection may carry another request after this one
   * @param gzip the route compresses and this client accepts gzip
   */
  public SessionRelay(ClientLeg client, StreamSession session, long after, Exchange exchange,
      SseConfig sse, GatewayMetrics metrics, HttpVersion clientVersion, boolean keepAlive, boolean gzip) {
    this.client = client;
    this.ctx = client.context();
    this.loop = ctx.channel().eventLoop();
    this.wakeup = new LoopWakeup(loop, this::pump);
    this.session = session;
    this.cursor = after;
    this.exchange = exchange;
    this.sse = sse;
    this.metrics = metrics;
    this.chunked = clientVersion.equals(HttpVersion.HTTP_1_1);
    this.keepAlive = keepAlive && chunked;
    this.gzip = gzip;
  }

  /** Checks the position, then answers with the missed events and follows the live ones. */
  public void start() {
    StreamSession.Read first = session.readAfter(cursor, 0);
    if (first instanceof StreamSession.Read.Unknown) {
      metrics.streamResume(exchange.routeName(), "not_found");
      exchange.outcome(ErrorKind.STREAM_NOT_FOUND.code());
      done = true;
      client.sendError(ErrorKind.STREAM_NOT_FOUND, "stream " + session.id() + " has no event " + cursor);
      return;
    }
    if (first instanceof StreamSession.Read.Gap) {
      metrics.streamResume(exchange.routeName(), "gap");
      exchange.outcome(ErrorKind.RESUME_GAP.code());
      done = true;
      client.sendError(ErrorKind.RESUME_GAP, "the events after " + session.id() + "." + cursor
          + " are no longer buffered");
      return;
    }
    metrics.streamResume(exchange.routeName(), "resumed");
    HttpResponse out = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    HttpHeaders h = out.headers();
    h.set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
    h.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
    h.set(ProxyHeaders.X_ACCEL_BUFFERING, "no");
    h.set(SessionPlan.STREAM_ID_HEADER, session.id());
    h.set(ProxyHeaders.X_REQUEST_ID, exchange.requestId());
    if (chunked) {
      h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
    }
    if (gzip) {
      h.set(HttpHeaderNames.CONTENT_ENCODING, HttpHeaderValues.GZIP);
      h.add(HttpHeaderNames.VARY, HttpHeaderNames.ACCEPT_ENCODING);
    }
    HttpUtil.setKeepAlive(out, keepAlive);
    exchange.status(200);
    exchange.outcome("resumed");
    exchange.streaming(true);
    client.prepareResponseHeaders(200, h);
    // Every bit of state is set before anything is flushed: a flush can make the client writable
    // and pump this relay from inside the write.
    started = true;
    // The pump checks writability itself between writes, so the writer has nothing to pause.
    writer = new EventWriter(ctx, exchange, gzip, true, chunked, () -> { });
    activeStreams = metrics.activeStreams(exchange.routeName(), "sse");
    activeStreams.incrementAndGet();
    lastWriteNanos = System.nanoTime();
    session.attach(this);
    if (sse.heartbeats()) {
      heartbeat = StreamTimers.schedule(loop, this::onHeartbeat, sse.heartbeat().toNanos());
    }
    ctx.write(out, ctx.voidPromise()); // flushed with the first events, or just below
    pump();
    if (!done) {
      ctx.flush();
    }
  }

  /** Writes what is new while the client can take it. */
  private void pump() {
    if (done) {
      return;
    }
    boolean wrote = false;
    while (ctx.channel().isWritable()) {
      StreamSession.Read read = session.readAfter(cursor, BATCH);
      if (!(read instanceof StreamSession.Read.Events events)) {
        // Only a gap can appear once started: this client fell behind the buffer.
        metrics.streamError(exchange.routeName(), ErrorKind.RESUME_GAP.code());
        write(GatewayErrors.sseEventBytes(ErrorKind.RESUME_GAP, "the client fell behind the stream's buffer; "
            + "resume from " + session.id() + "." + cursor));
        end();
        return;
      }
      for (StreamSession.Event event : events.events()) {
        write(event.bytes());
        cursor = event.seq();
        wrote = true;
      }
      if (events.ended()) {
        end();
        return;
      }
      if (events.events().isEmpty()) {
        break;
      }
    }
    if (wrote) {
      writer.flush();
    }
  }

  private void write(byte[] bytes) {
    writer.write(Unpooled.wrappedBuffer(bytes)); // counted in the exchange's bytes out as sent
    lastWriteNanos = System.nanoTime();
  }

  private void end() {
    // Done before the last write: its flush may make the client writable again, and the
    // writability event would pump (and end) this relay a second time from inside the write.
    EventWriter last = writer;
    writer = null;
    finish();
    last.end(); // the gzip trailer (when compressed), then the last chunk
    client.responseComplete(keepAlive);
  }

  private void finish() {
    done = true;
    if (writer != null) {
      writer.release(); // an unfinished body: the gathered bytes and the zlib state go now
      writer = null;
    }
    session.detach(this);
    if (heartbeat != null) {
      heartbeat.cancel();
    }
    if (activeStreams != null) {
      activeStreams.decrementAndGet();
      activeStreams = null; // counted down once, whatever path ends it again
    }
  }

  private void onHeartbeat() {
    if (done) {
      return;
    }
    long now = System.nanoTime();
    long quiet = now - lastWriteNanos;
    long interval = sse.heartbeat().toNanos();
    if (quiet >= interval && ctx.channel().isWritable()) {
      write(PING);
      writer.flush();
      quiet = 0;
    }
    heartbeat = StreamTimers.schedule(loop, this::onHeartbeat, interval - quiet);
  }

  // ---- the session tells ------------------------------------------------------------------------

  @Override
  public void wake() {
    wakeup.wake();
  }

  @Override
  public void displaced() {
    loop.execute(() -> {
      if (!done && started) {
        finish();
        client.responseAborted(); // another connection resumed the stream: this one is stale
      }
    });
  }

  // ---- the client's connection tells ----------------------------------------------------------

  @Override
  public void clientWritabilityChanged(boolean writable) {
    if (writable) {
      pump();
    }
  }

  @Override
  public void clientClosed() {
    if (!done) {
      finish();
    }
  }

  /** The gateway stops: {@code retry: 1000} and the end — the client resumes elsewhere (README, graceful drain). */
  @Override
  public void drainNow() {
    if (!done && started) {
      write(SseControl.RECONNECT);
      end();
    }
  }
}
