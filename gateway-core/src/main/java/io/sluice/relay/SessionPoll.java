package io.sluice.relay;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.exchange.ClientLeg;
import io.sluice.exchange.Exchange;
import io.sluice.http.ErrorKind;
import io.sluice.observe.GatewayMetrics;
import io.sluice.session.SessionPlan;
import io.sluice.session.StreamSession;
import io.sluice.sse.SseEvent;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One long poll (gateway-core/docs/streams.md, long polling): {@code GET /sluice/streams/<id>/events?after=N}
 * answers the session's events after {@code N} at once when there are any, else waits up to
 * {@code wait} for the next ones:
 * {@code {"events": [{"id", "event", "data"}], "next": "<cursor>", "done": false}}.
 * {@code next} is the cursor of the following poll; {@code done: true} once the stream ended and
 * every event was handed out.
 *
 * <p>Threading: runs on the polling client's event loop; the session wakes it from the
 * generation's loop and it hops back.
 */
public final class SessionPoll implements ClientRelay, StreamSession.Reader {
  /** At most this many events per answer (the client polls again from {@code next}). */
  static final int MAX_EVENTS = 512;
  /** And about this many bytes of them. */
  static final int MAX_BYTES = 1024 * 1024;
  private static final JsonFactory JSON = new JsonFactory();

  private final ClientLeg client;
  private final ChannelHandlerContext ctx;
  private final EventLoop loop;
  private final StreamSession session;
  private final long after;
  private final Duration wait;
  private final Exchange exchange;
  private final GatewayMetrics metrics;
  private final LoopWakeup wakeup;
  private boolean waiting;
  private boolean done;
  private ScheduledFuture<?> timer;

  public SessionPoll(ClientLeg client, StreamSession session, long after, Duration wait,
      Exchange exchange, GatewayMetrics metrics) {
    this.client = client;
    this.ctx = client.context();
    this.loop = ctx.channel().eventLoop();
    this.wakeup = new LoopWakeup(loop, () -> poll());
    this.session = session;
    this.after = after;
    this.wait = wait;
    this.exchange = exchange;
    this.metrics = metrics;
  }

  /** Answers now when there is news, else waits for it (or for {@code wait}). */
  public void start() {
    if (poll()) {
      return;
    }
    if (!session.await(this)) {
      fail(ErrorKind.STREAM_NOT_FOUND, "stream " + session.id() + " is gone", "not_found");
      return;
    }
    waiting = true;
    timer = loop.schedule(() -> answer(List.of(), false), wait.toNanos(), TimeUnit.NANOSECONDS);
    poll(); // an event may have come between the first look and the registration
  }

  /** Answers when the session has something after the cursor; false when it has nothing yet. */
  private boolean poll() {
    if (done) {
      return true;
    }
    StreamSession.Read read = session.readAfter(after, MAX_EVENTS);
    if (read instanceof StreamSession.Read.Unknown) {
      fail(ErrorKind.STREAM_NOT_FOUND, "stream " + session.id() + " has no event " + after, "not_found");
      return true;
    }
    if (read instanceof StreamSession.Read.Gap) {
      fail(ErrorKind.RESUME_GAP, "the events after " + after + " are no longer buffered", "gap");
      return true;
    }
    StreamSession.Read.Events events = (StreamSession.Read.Events) read;
    if (events.events().isEmpty() && !events.ended()) {
      return false;
    }
    answer(events.events(), events.ended());
    return true;
  }

  private void answer(List<StreamSession.Event> events, boolean ended) {
    if (done) {
      return;
    }
    finish();
    metrics.streamResume(exchange.routeName(), "polled");
    long next = after;
    int bytes = 0;
    int count = 0;
    for (StreamSession.Event event : events) {
      if (count > 0 && bytes + event.bytes().length > MAX_BYTES) {
        ended = false; // the rest comes with the next poll
        break;
      }
      bytes += event.bytes().length;
      count++;
      next = event.seq();
    }
    ByteBuf body = ctx.alloc().buffer(bytes + 64 * count + 64);
    try (JsonGenerator json = JSON.createGenerator((OutputStream) new ByteBufOutputStream(body))) {
      json.writeStartObject();
      json.writeArrayFieldStart("events");
      for (StreamSession.Event event : events.subList(0, count)) {
        SseEvent parsed = SseEvent.parse(Unpooled.wrappedBuffer(event.bytes()));
        json.writeStartObject();
        json.writeStringField("id", parsed.id());
        json.writeStringField("event", parsed.event() == null ? "message" : parsed.event());
        json.writeStringField("data", parsed.data() == null ? "" : parsed.data());
        json.writeEndObject();
      }
      json.writeEndArray();
      json.writeStringField("next", Long.toString(next));
      json.writeBooleanField("done", ended);
      json.writeEndObject();
    } catch (IOException e) {
      body.release();
      throw new UncheckedIOException(e);
    }
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    response.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
    response.headers().set(SessionPlan.STREAM_ID_HEADER, session.id());
    response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    exchange.outcome("polled");
    client.sendResponse(response);
  }

  private void fail(ErrorKind kind, String message, String outcome) {
    finish();
    metrics.streamResume(exchange.routeName(), outcome);
    exchange.outcome(kind.code());
    client.sendError(kind, message);
  }

  private void finish() {
    done = true;
    if (waiting) {
      waiting = false;
      session.stopWaiting(this);
    }
    if (timer != null) {
      timer.cancel(false);
    }
  }

  @Override
  public void wake() {
    wakeup.wake();
  }

  @Override
  public void clientWritabilityChanged(boolean writable) {
    // One small answer: nothing to pause.
  }

  @Override
  public void clientClosed() {
    if (!done) {
      finish();
    }
  }

  @Override
  public void drainNow() {
    answer(List.of(), false); // the client polls again, elsewhere
  }
}
