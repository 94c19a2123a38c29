package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.sluice.http.ErrorKind;
import io.sluice.session.EventStamper;
import io.sluice.session.SessionEvents;
import io.sluice.session.SessionPlan;
import io.sluice.session.StreamSession;
import io.sluice.sse.SseEvent;
import java.util.function.Consumer;

/**
 * A relayed stream recorded as a session (resume with {@code Last-Event-ID}, long polling): each
 * event is stamped {@code id: <stream-id>.<seq>} and kept, so that a client that reconnects —
 * here or, with a shared store, on another instance — reads on from where it was.
 *
 * <p>The original client is the session's first reader and is fed by the relay directly; a
 * resume that takes the session over displaces it.
 */
final class SessionTap {
  private final StreamSession session;
  private long seq; // the last event's sequence number
  private EventStamper fragmentStamper; // stamps the fragments of the event too large to hold
  private final StreamSession.Reader clientReader;

  /**
   * @param displaced run on {@code loop} when a resume takes the session over from the client
   * @param stop run on {@code loop} when the session is deleted or removed: stop generating
   */
  SessionTap(SessionPlan plan, EventLoop loop, Runnable displaced, Consumer<ErrorKind> stop) {
    this.session = plan.store().create(plan.owner(), plan.route(), plan.buffer().bufferEvents(),
        plan.buffer().bufferBytes(), plan.buffer().ttl(), plan.buffer().store());
    this.clientReader = new StreamSession.Reader() {
      @Override
      public void wake() {} // fed directly by the relay, not woken

      @Override
      public void displaced() {
        loop.execute(displaced);
      }
    };
    session.generation(why -> loop.execute(() -> stop.accept(why)));
  }

  StreamSession session() {
    return session;
  }

  /** The original client reads the stream live. */
  void attachClient() {
    session.attach(clientReader);
  }

  /** The original client left (or never read: a long poll); the session goes on for others. */
  void detachClient() {
    session.detach(clientReader);
  }

  /**
   * Records one whole event; returns what the original client gets of it — the stamped event —
   * or null when it is not its reader any more.
   *
   * @param fields the event parsed, or null when it is known not to be a comment-only block
   */
  ByteBuf record(ByteBuf event, SseEvent fields, boolean clientAttached) {
    if (fields != null && fields.isCommentOnly()) {
      return event; // comments are not numbered
    }
    byte[] stamped = SessionEvents.stamp(event, session.id(), ++seq);
    event.release();
    session.append(seq, stamped);
    if (!clientAttached || !session.isReader(clientReader)) {
      return null;
    }
    return Unpooled.wrappedBuffer(stamped);
  }

  /**
   * Part of an event too large to hold (the framer's limit), relayed as it comes; returns it as
   * the client gets it. It is still numbered and stamped like a whole event — id line first, its
   * own id lines left out — so the client's {@code Last-Event-ID} stays the gateway's and the
   * numbering has no hole: a resume from it (or later) works. It cannot be kept, so the session
   * records it lost: a resume from before it gets 410 {@code resume_gap}, like one from before an
   * event larger than {@code buffer-bytes}.
   *
   * @param first whether this is the event's first fragment
   */
  ByteBuf fragment(ByteBuf part, boolean first) {
    if (first) {
      session.lost(++seq);
      fragmentStamper = new EventStamper(session.id(), seq);
    }
    ByteBuf stamped = Unpooled.wrappedBuffer(fragmentStamper.stamp(part));
    part.release();
    return stamped;
  }

  /** The client's error when the session stops its generation. */
  static String stopMessage(ErrorKind why) {
    return switch (why) {
      case STREAM_CANCELLED -> "the stream was stopped by its owner";
      case DRAINING -> "the gateway is shutting down";
      default -> "the stream's session was removed (memory cap or ttl)";
    };
  }

  /** The stream ended (whatever way): readers see its end. */
  void end() {
    session.detach(clientReader);
    session.end();
  }
}
