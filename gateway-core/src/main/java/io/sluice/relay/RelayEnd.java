package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.sluice.exchange.ClientLeg;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.observe.GatewayMetrics;
import io.sluice.session.SessionPlan;
import io.sluice.translate.TranslatedError;
import io.sluice.translate.UntranslatableFieldException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How one relayed exchange ends for its client: once, whichever way comes first, with the outcome
 * in the exchange and the client told in the one way that fits what it has seen; then everything
 * the exchange holds is let go. {@link ProxyCall} decides that the exchange ends (a failure, a
 * timeout, the client leaving, the body's end); this class is how.
 *
 * <pre>
 *   before the head went out:   fail → error response          refuse → the refusal as answered
 *   after it went out:          complete → clean end           stopForBudget → event: error, clean end
 *                               failMidStream → event: error and a clean end (SSE), else an abort
 * </pre>
 *
 * <p>Failure: a response that started never ends cleanly truncated. An SSE client gets
 * {@code event: error} (counted in {@code sluice_stream_errors_total}; the status stays the 200
 * sent at the start) and a clean end; any other client gets an aborted connection.
 *
 * <p>It holds what exists to be ended: the client leg the exchange answers through (swapped when a
 * session takes the stream over), and what the commit of a stream opened — its count in
 * {@code sluice_active_streams} and its session ({@link SessionHandover}).
 *
 * <p>Threading: the client channel's event loop, like the call that owns it.
 */
final class RelayEnd {
  /** The call's part of an end. */
  interface Owner {
    /** Lets go of the upstream leg: the attempt, the failover, the stream's pace, the body, the route's timer. */
    void letGo();
  }

  private final Owner call;
  private final Exchange exchange;
  private final GatewayMetrics metrics;
  private ClientLeg client;
  private AtomicInteger activeStreams; // counted while a committed stream runs
  private SessionHandover session; // the stream as a resumable / pollable session, else null
  private boolean keepAlive; // the client connection is reused after the answer
  private boolean done;

  RelayEnd(Owner call, ClientLeg client, Exchange exchange, GatewayMetrics metrics) {
    this.call = call;
    this.client = client;
    this.exchange = exchange;
    this.metrics = metrics;
  }

  /** The client leg the exchange answers through now. */
  ClientLeg client() {
    return client;
  }

  /** Whether the exchange ended. */
  boolean ended() {
    return done;
  }

  /**
   * A stream is committed: it counts in {@code sluice_active_streams} until the end and, on a
   * route with sessions ({@code plan}) and a 2xx status, becomes a session from its head on.
   * Returns false when the client leaves at once (a long poll: it got its 202; the stream fills the
   * session) and the head is not sent.
   *
   * @param attempt the upstream attempt that generates the stream (stopped when the session is
   *     deleted or removed)
   */
  boolean streamCommitted(SessionPlan plan, int status, HttpHeaders head, BodyRelay body, UpstreamAttempt attempt) {
    exchange.streaming(true);
    activeStreams = metrics.activeStreams(exchange.routeName(), plan != null && plan.longPoll() ? "long-poll" : "sse");
    activeStreams.incrementAndGet();
    if (plan == null || status / 100 != 2) {
      return true;
    }
    session = new SessionHandover(plan, client.context(), body, this::ended, why -> stopGeneration(attempt, body, why));
    client = session.start(plan, head, client, exchange.requestId());
    return body.attached();
  }

  /** An answer's head arrived: whether the client connection is reused after it. */
  void answered(boolean keepAlive) {
    this.keepAlive = keepAlive;
  }

  /**
   * Whether the generation goes on without the client: the stream is a session (resume, long
   * polling) that has not ended.
   */
  boolean outlivesClient() {
    return session != null && !done;
  }

  /** The client left a session's stream: {@code later} ends the exchange when the generation ends. */
  void continueWithout(ClientLeg later) {
    client = session.continueWithout(later);
  }

  /** The session was deleted by its owner, or removed from the store: the generation stops. */
  private void stopGeneration(UpstreamAttempt attempt, BodyRelay body, ErrorKind why) {
    if (done) {
      return;
    }
    attempt.cancel();
    failMidStream(body, why, SessionTap.stopMessage(why));
  }

  /** The body went out whole: a clean end. */
  void complete() {
    if (done) {
      return; // the exchange ended while the usage was being settled
    }
    exchange.mark(Moment.OUT_RESP_COMPLETE, System.nanoTime());
    finish();
    client.responseComplete(keepAlive);
  }

  /** The client went away (HTTP 499 in the access log); its upstream call was cancelled. */
  void clientClosed() {
    exchange.outcome("client_closed");
    exchange.status(499);
    finish();
  }

  /** Answers with the client's error for a request no target can take (a field its API cannot carry). */
  void refuse(TranslatedError refusal) {
    exchange.outcome(UntranslatableFieldException.CODE);
    finish();
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(refusal.status()), Unpooled.wrappedBuffer(refusal.body()));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, refusal.body().length);
    client.sendResponse(response);
  }

  /** Ends the exchange with an error response; only before the response started. */
  void fail(ErrorKind kind, String message) {
    exchange.outcome(kind.code());
    finish();
    client.sendError(kind, message);
  }

  /** Ends a response that started: {@code event: error} for an SSE client, else an aborted connection. */
  void failMidStream(BodyRelay body, ErrorKind kind, String message) {
    exchange.outcome(kind.code());
    if (body.sse()) {
      endStreamWithError(body, GatewayErrors.sseEvent(client.context().alloc(), kind, message), kind.code());
    } else {
      finish();
      client.responseAborted();
    }
  }

  /**
   * A plugin ended the stream mid-way (a token budget ran out): the client gets {@code event:
   * error} with the plugin's error, then a clean end.
   */
  void stopForBudget(BodyRelay body, StreamWatch.Stop stop) {
    exchange.outcome(stop.code());
    endStreamWithError(body, GatewayErrors.sseEvent(stop.type(), stop.code(), stop.message()), stop.code());
  }

  /**
   * The stream's last event is {@code event: error} with this code, counted in
   * {@code sluice_stream_errors_total} once per generation, whoever reads it (a reader that later
   * replays the stored event is not counted).
   */
  private void endStreamWithError(BodyRelay body, ByteBuf errorEvent, String code) {
    metrics.streamError(exchange.routeName(), code);
    body.endWithError(errorEvent);
    finish();
    client.responseComplete(keepAlive);
  }

  /** Ends the exchange once, whatever path ends it again. */
  void finish() {
    if (done) {
      return;
    }
    done = true;
    call.letGo();
    if (activeStreams != null) {
      activeStreams.decrementAndGet();
      activeStreams = null; // counted down once, whatever path ends it again
    }
    if (session != null) {
      session.end();
    }
  }
}
