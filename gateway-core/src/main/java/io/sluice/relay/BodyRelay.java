package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.observe.GatewayMetrics;
import io.sluice.sse.SseControl;
import io.sluice.sse.SseEvent;
import io.sluice.sse.SseFramer;
import io.sluice.usage.UsageTracker;

/**
 * A response body on its way to the client, once the head went out: event streams framed into
 * whole events, their usage followed, stamped into the session when there is one, then written
 * ({@link EventWriter}); other bodies written as they come, a JSON one kept for its usage.
 *
 * <pre>
 *   upstream bytes → SseFramer → usage (drop / content: timings, stream watch) → SessionTap → EventWriter
 * </pre>
 */
final class BodyRelay {
  /** An SSE event larger than this is relayed in fragments rather than held whole. */
  private static final int MAX_HELD_EVENT = 256 * 1024;

  private final Exchange exchange;
  private final EventWriter writer;
  private final UsageTracker usage;
  private final StreamWatch watch;
  private final TokenTimings timings;
  private final SseFramer framer; // event streams only
  private JsonBodyUsage jsonBody; // a non-streamed JSON answer, kept for its usage
  private SessionTap session; // the stream as a resumable / pollable session, else null
  private StreamWatch.Stop stop; // a stream watch ended the stream (mid-stream budget)

  BodyRelay(ChannelHandlerContext ctx, ResponseHead head, Exchange exchange, UsageTracker usage, StreamWatch watch,
      GatewayMetrics metrics, Runnable pauseUpstream) {
    this.exchange = exchange;
    this.usage = usage;
    this.watch = watch;
    this.timings = new TokenTimings(exchange, metrics);
    this.writer = new EventWriter(ctx, exchange, head.gzip(), head.sse(), pauseUpstream);
    this.framer = head.sse() ? new SseFramer(ctx.alloc(), MAX_HELD_EVENT) : null;
    if (head.json() && usage != null) {
      jsonBody = new JsonBodyUsage(ctx.alloc(), usage);
    }
  }

  boolean sse() {
    return framer != null;
  }

  /** Records the stream into a session from now on. */
  void recordInto(SessionTap tap) {
    this.session = tap;
  }

  /**
   * Relays one read of the body (taking a reference of its own); returns why the stream must
   * stop now (a stream watch), else null.
   */
  StreamWatch.Stop relay(ByteBuf bytes) {
    if (framer != null) {
      framer.feed(bytes.retain(), sink);
      return stop;
    }
    if (jsonBody != null) {
      jsonBody.add(bytes);
    }
    writer.write(bytes.retain());
    return null;
  }

  private final SseFramer.Sink sink = new SseFramer.Sink() {
    @Override
    public void event(ByteBuf event) {
      onEvent(event);
    }

    @Override
    public void fragment(ByteBuf part, boolean first) {
      writer.write(session != null ? session.fragment(part, first) : part);
    }
  };

  private void onEvent(ByteBuf event) {
    if (stop != null) {
      event.release(); // after the event that ran past the budget: not relayed
      return;
    }
    // Usage reads the event from its bytes; only a session parses its fields (comments are not numbered).
    SseEvent fields = session != null ? SseEvent.parse(event) : null;
    if (usage != null) {
      UsageTracker.Verdict verdict = usage.onEvent(event);
      if (verdict == UsageTracker.Verdict.DROP) {
        event.release(); // the usage chunk the gateway asked for; the client did not
        return;
      }
      if (verdict == UsageTracker.Verdict.CONTENT) {
        timings.contentEvent(usage.model(), System.nanoTime());
        if (watch != null) {
          // Acted on once the framer is done with this read (it must not be released under its feet).
          stop = watch.onUsage(usage.usage());
        }
      }
    }
    relayEvent(event, fields);
  }

  /**
   * Passes one whole event on: in a session, stamped and kept for resumes and polls, then
   * written while the client still reads.
   *
   * @param fields the event parsed, or null when it is known not to be a comment-only block
   */
  private void relayEvent(ByteBuf event, SseEvent fields) {
    if (session != null) {
      event = session.record(event, fields, writer.attached());
      if (event == null) {
        return;
      }
    }
    if (exchange.at(Moment.OUT_FIRST_EVENT_SENT) < 0) {
      exchange.mark(Moment.OUT_FIRST_EVENT_SENT, System.nanoTime());
    }
    writer.write(event);
  }

  /** The upstream read is processed: what it gave goes on the wire. */
  void flush() {
    writer.flush();
  }

  /** The upstream's body ended: an unterminated last event is passed on as received, then the end. */
  void end() {
    if (framer != null) {
      ByteBuf rest = framer.drainRemainder();
      if (rest != null) {
        writer.write(rest);
      }
    }
    writer.end();
  }

  /** The last event of a broken stream: half an event the client never saw is dropped. */
  void endWithError(ByteBuf errorEvent) {
    ByteBuf rest = framer.drainRemainder();
    if (rest != null) {
      rest.release();
    }
    relayEvent(errorEvent, null);
    writer.end();
  }

  /** A heartbeat for a client still reading; false when it left. */
  boolean ping() {
    if (!writer.attached()) {
      return false;
    }
    writer.write(Unpooled.wrappedBuffer(SseControl.PING));
    writer.flush();
    return true;
  }

  /** {@code retry: 1000}, then the end of the body: the client reconnects and resumes. */
  void askToReconnect() {
    if (writer.attached()) {
      writer.write(Unpooled.wrappedBuffer(SseControl.RECONNECT));
      writer.end();
    }
  }

  boolean attached() {
    return writer.attached();
  }

  /** The client left; the session (if any) goes on without it. */
  void detachClient() {
    writer.detach();
    if (session != null) {
      session.detachClient();
    }
  }

  /** The exchange ended: frees what is held; a JSON body's usage is read when it was complete. */
  void release(boolean complete) {
    if (framer != null) {
      framer.release();
    }
    writer.release(); // an aborted response: what was gathered will not be written
    if (jsonBody != null) {
      jsonBody.end(complete);
      jsonBody = null;
    }
  }
}
