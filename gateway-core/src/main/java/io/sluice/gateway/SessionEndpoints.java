package io.sluice.gateway;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.sluice.config.SseConfig;
import io.sluice.exchange.ClientLeg;
import io.sluice.exchange.Exchange;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.relay.ClientRelay;
import io.sluice.relay.SessionPoll;
import io.sluice.relay.SessionRelay;
import io.sluice.route.Route;
import io.sluice.session.SessionEvents;
import io.sluice.session.SessionPlan;
import io.sluice.session.StreamSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requests answered from a stream session instead of an upstream: a resume ({@code Last-Event-ID}
 * naming one of the gateway's streams, on a route with {@code sse.resume}), a long poll
 * ({@code GET /sluice/streams/<id>/events?after=N}) and a stop ({@code DELETE /sluice/streams/<id>}).
 *
 * <p>Only the stream's owner may — its consumer, else its client address; to anyone else the
 * stream does not exist. A stream another instance runs is found through the shared store
 * (Redis) when the route names one.
 */
final class SessionEndpoints {
  private static final Logger log = LoggerFactory.getLogger(SessionEndpoints.class);

  /** The connection that answers: a client leg that can also refuse, wait and relay. */
  interface Host extends ClientLeg {
    /** Answers with a gateway error; the exchange ends. */
    void reject(ErrorKind kind, String message);

    /** Answers with this response; the exchange ends. */
    void respond(FullHttpResponse response);

    /** While the shared store is asked: anything the client sends meanwhile waits. */
    void holdInput(boolean hold);

    /** The session answers the client from now on. */
    void serving(ClientRelay relay);

    /** Whether {@code exchange} is still the one the connection runs (the client did not leave). */
    boolean runs(Exchange exchange);

    /** Whether the gateway is draining (the answer then closes the connection). */
    boolean draining();
  }

  /** {@code GET /sluice/streams/<id>/events} (a poll) or {@code DELETE /sluice/streams/<id>}. */
  record Target(StreamSession session, boolean poll) {}

  /**
   * The session a request to {@code /sluice/streams/…} is about, with the route it started on;
   * null when the request was refused (answered through {@code host}).
   */
  static Target target(GatewayContext gateway, String path, String method, Host host) {
    String rest = path.substring(SessionPlan.PATH_PREFIX.length());
    boolean poll = rest.endsWith("/events");
    String id = poll ? rest.substring(0, rest.length() - "/events".length()) : rest;
    if (!id.matches("[0-9a-f]{32}")) {
      host.reject(ErrorKind.STREAM_NOT_FOUND, "no stream at " + path);
      return null;
    }
    String allowed = poll ? "GET" : "DELETE";
    if (!method.equals(allowed)) {
      FullHttpResponse response = GatewayErrors.response(host.context().alloc(), ErrorKind.METHOD_NOT_ALLOWED,
          method + " is not allowed on " + path);
      response.headers().set(HttpHeaderNames.ALLOW, allowed);
      host.respond(response);
      return null;
    }
    StreamSession session = gateway.sessions().get(id);
    if (session == null || gateway.router().named(session.route()) == null) {
      gateway.metrics().streamResume("none", "not_found");
      host.reject(ErrorKind.STREAM_NOT_FOUND, "no stream " + id);
      return null;
    }
    return new Target(session, poll);
  }

  /** The route a session's own endpoints take: the one its stream started on. */
  static Route startedOn(GatewayContext gateway, Target target) {
    return gateway.router().named(target.session().route());
  }

  private final GatewayContext gateway;
  private final Exchange exchange;
  private final IncomingRequest request;
  private final Admission admission;
  private final Target target; // null for a resume
  private final Host host;

  SessionEndpoints(GatewayContext gateway, Exchange exchange, IncomingRequest request, Admission admission,
      Target target, Host host) {
    this.gateway = gateway;
    this.exchange = exchange;
    this.request = request;
    this.admission = admission;
    this.target = target;
    this.host = host;
  }

  /** Answers the admitted request from the session (the route's plugins let it through). */
  void serve() {
    SessionEvents.Position resumeFrom = admission.resumeFrom();
    StreamSession session = target != null ? target.session() : gateway.sessions().get(resumeFrom.streamId());
    SseConfig.Resume resume = admission.route().config().sse().resume();
    if (session == null && target == null && resume.store() != null) {
      // Not ours: perhaps another instance runs it and shares it through Redis.
      host.holdInput(true);
      gateway.sessions().openShared(resume.store(), resumeFrom.streamId(), resumeFrom.seq(), resume.bufferEvents(),
          resume.bufferBytes()).whenComplete((shared, error) -> host.context().executor().execute(() -> {
            if (!host.runs(exchange)) {
              return; // the client went away meanwhile
            }
            host.holdInput(false);
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
    Route route = admission.route();
    String owner = SessionPlan.owner(admission.pluginRequest().consumer(), exchange.clientIp());
    if (session == null || !session.owner().equals(owner) || !session.route().equals(route.name())) {
      gateway.metrics().streamResume(route.name(), "not_found");
      host.reject(ErrorKind.STREAM_NOT_FOUND, "no stream "
          + (target != null ? target.session().id() : admission.resumeFrom().streamId()) + " for this client");
      return;
    }
    if (target != null && !target.poll()) {
      gateway.sessions().remove(session);
      exchange.outcome("deleted");
      host.respond(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NO_CONTENT,
          Unpooled.EMPTY_BUFFER));
      return;
    }
    SseConfig sse = route.config().sse();
    if (target != null) {
      long after = pollCursor();
      if (after < 0) {
        host.reject(ErrorKind.MALFORMED_REQUEST, "'after' must be an event number (the 'next' of the previous poll)");
        return;
      }
      SessionPoll poll = new SessionPoll(host, session, after, sse.longPoll().maxWait(), exchange, gateway.metrics());
      host.serving(poll);
      poll.start();
    } else {
      SessionRelay relay = new SessionRelay(host, session, admission.resumeFrom().seq(), exchange, sse,
          gateway.metrics(), request.head().protocolVersion(),
          HttpUtil.isKeepAlive(request.head()) && !host.draining(),
          route.config().compression().gzip() && UpstreamRequests.acceptsGzip(request.head().headers()));
      host.serving(relay);
      relay.start();
    }
  }

  /** The poll's {@code after} (default 0), or -1 when it is not a number. */
  private long pollCursor() {
    String after = admission.pluginRequest().queryParam("after");
    if (after == null || after.isEmpty()) {
      return 0;
    }
    if (after.length() > 18 || !after.chars().allMatch(Character::isDigit)) {
      return -1;
    }
    return Long.parseLong(after);
  }
}
