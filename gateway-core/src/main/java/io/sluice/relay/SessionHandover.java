package io.sluice.relay;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpHeaders;
import io.sluice.exchange.ClientLeg;
import io.sluice.http.ErrorKind;
import io.sluice.session.SessionPlan;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The hand-over of one relayed stream between its client and its session
 * ({@code session/StreamSession}): the stream is recorded into the session from the commit on,
 * handed to it when the client leaves (a long poll at once, a reader that disconnects or is asked
 * to reconnect later), and taken from the client when a resume displaces it.
 *
 * <p>It exists apart from {@link ProxyCall} because only a route with sessions has one: the
 * exchange's end ({@link RelayEnd}) holds it or null, ends it with the exchange, and asks it
 * whether the generation outlives the client.
 *
 * <p>Threading: the client channel's event loop; the session's callbacks (displaced, stop) are
 * run on that loop by {@link SessionTap}.
 */
final class SessionHandover {
  private final SessionTap tap;
  private final BodyRelay body;
  private final ChannelHandlerContext clientCtx;
  private final BooleanSupplier ended;

  /**
   * Records the stream of {@code body} into a new session of {@code plan}.
   *
   * @param ended whether the exchange ended
   * @param stop run on the client's loop when the session is deleted or removed: stop generating
   */
  SessionHandover(SessionPlan plan, ChannelHandlerContext clientCtx, BodyRelay body, BooleanSupplier ended,
      Consumer<ErrorKind> stop) {
    this.clientCtx = clientCtx;
    this.body = body;
    this.ended = ended;
    this.tap = new SessionTap(plan, clientCtx.channel().eventLoop(), this::onDisplaced, stop);
    body.recordInto(tap);
  }

  /**
   * The stream becomes a session. A long-poll client is answered {@code 202} with the poll URL
   * right away and leaves: the returned leg ends the exchange when the generation ends. Otherwise
   * the client reads on, told the stream's id in {@code X-Sluice-Stream-Id} (it resumes with
   * {@code Last-Event-ID: <id>.0} even when it lost the stream before the first event), and
   * {@code client} is returned.
   */
  ClientLeg start(SessionPlan plan, HttpHeaders head, ClientLeg client, String requestId) {
    if (plan.longPoll()) {
      body.detachClient();
      return client.detach(SessionPlan.accepted(clientCtx.alloc(), tap.session(), requestId));
    }
    head.set(SessionPlan.STREAM_ID_HEADER, tap.session().id());
    tap.attachClient();
    return client;
  }

  /**
   * The client left; the stream runs on into its session (up to its ttl). {@code later} ends the
   * exchange when the generation ends: it is the call's client leg from now on.
   */
  ClientLeg continueWithout(ClientLeg later) {
    body.detachClient(); // the client is gone: the session has the events
    return later;
  }

  /** A resume took the session over while this client still seemed to read: let it go. */
  private void onDisplaced() {
    if (body.attached() && !ended.getAsBoolean()) {
      clientCtx.close(); // the client leg hands over through ProxyCall#continueWithout
    }
  }

  /** The stream ended (whatever way): readers see its end. */
  void end() {
    tap.end();
  }
}
