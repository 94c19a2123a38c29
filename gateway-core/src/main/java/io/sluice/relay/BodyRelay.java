package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.sluice.config.RouteConfig.Api;
import io.sluice.exchange.Exchange;
import io.sluice.exchange.Moment;
import io.sluice.observe.GatewayMetrics;
import io.sluice.sse.SseControl;
import io.sluice.sse.SseEvent;
import io.sluice.sse.SseFramer;
import io.sluice.translate.StreamTranslator;
import io.sluice.translate.TranslatedRequest;
import io.sluice.translate.Translation;
import io.sluice.upstream.FramedChunk;
import io.sluice.usage.UsageTracker;

/**
 * A response body on its way to the client, once the head went out: event streams framed into
 * whole events, their usage followed, stamped into the session when there is one, then written
 * ({@link EventWriter}); other bodies written as they come, a JSON one kept for its usage.
 *
 * <pre>
 *   upstream bytes → SseFramer → usage (drop / content: timings, stream watch) → [held until content] → SessionTap → EventWriter
 *                                   └─ nothing to change: written in place, one slice per read ──────────────┘
 * </pre>
 *
 * <p>Holding (failover): while another target could still take the request, the events before
 * the first content event (or a whole JSON body) are held instead of written ({@link HeldAnswer});
 * an error or malformed event among them rejects the attempt ({@link #rejected}), the first
 * content event opens the gate: the owner sends the head, the held events follow, then the stream
 * flows as usual. What is held is bounded by {@link HeldAnswer#MAX_HELD}: past it the answer is
 * let through.
 *
 * <p>Translation (the client speaks another API than the upstream): usage and holding look at
 * the upstream's events; each event is then translated ({@link StreamTranslator}) on its way to
 * the session and the writer, event by event. A whole body (an answer or an error) is held to its
 * end and translated in one piece, its head's status and length set from the translation.
 */
final class BodyRelay implements HeldAnswer.Outlet {
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
  private HeldAnswer held; // the answer held back until its first content (failover), else null
  private final ResponseHead head;
  private final ByteBufAllocator alloc;
  private Translation translation; // the client speaks another API than the upstream, else null
  private StreamTranslator translator; // a translated event stream
  private final EndGate endGate; // holds the tail until the usage is settled, or null

  BodyRelay(ChannelHandlerContext ctx, ResponseHead head, Exchange exchange, UsageTracker usage, StreamWatch watch,
      GatewayMetrics metrics, Runnable pauseUpstream, UsageHook settle) {
    this.exchange = exchange;
    this.head = head;
    this.alloc = ctx.alloc();
    this.usage = usage;
    this.watch = watch;
    this.timings = new TokenTimings(exchange, metrics, System::nanoTime);
    this.writer = new EventWriter(ctx, exchange, head.gzip(), head.sse(), head.chunked(), pauseUpstream);
    this.framer = head.sse() ? new SseFramer(ctx.alloc(), MAX_HELD_EVENT) : null;
    if (head.json() && usage != null) {
      jsonBody = new JsonBodyUsage(ctx.alloc(), usage);
    }
    // Only a model's answer that is a stream or a JSON body has a usage to settle before its end.
    this.endGate = settle != null && usage != null && (framer != null || jsonBody != null)
        ? new EndGate(settle, ctx.channel().eventLoop(), writer, this::deliverEvent) : null;
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
   * stop now (a stream watch), else null. {@code asItCame}: the upstream chunk these bytes came in
   * whole, framing intact (null if not), which the writer may pass on as it came.
   */
  StreamWatch.Stop relay(ByteBuf bytes, FramedChunk asItCame) {
    if (framer != null) {
      writer.relaying(asItCame, bytes);
      framer.feed(bytes.retain(), sink);
      writer.relaying(null, null);
      return stop;
    }
    if (jsonBody != null) {
      jsonBody.add(bytes);
    }
    ByteBuf chunk = bytes.retain();
    if (held != null) {
      if (held.hold(chunk, null)) {
        return null;
      }
      openGate(); // past the limit: the answer is let through
    }
    writeBody(chunk);
    return null;
  }

  /** A chunk of a body that is not a stream; with an end gate its last chunk waits for the usage to settle. */
  private void writeBody(ByteBuf chunk) {
    if (endGate != null) {
      endGate.writeKeepingLast(chunk);
    } else {
      writer.write(chunk);
    }
  }

  /**
   * The answer is in another API than the client's: events are translated one by one; a whole
   * body must be held ({@link #holdUntilContent}) and is translated when the gate opens at its end.
   */
  void translate(Translation translation, TranslatedRequest request) {
    this.translation = translation;
    if (framer != null) {
      translator = translation.stream(request, alloc);
    }
  }

  /** Holds what the upstream sends until {@code commit} is called by {@link #openGate} (failover). */
  void holdUntilContent(Runnable commit) {
    held = new HeldAnswer(commit, translation != null && framer == null
        ? new HeldAnswer.WholeBody(translation, head, exchange) : null);
  }

  /** Whether the answer is still held back. */
  boolean holding() {
    return held != null;
  }

  /** Why the held answer failed before content (a failover reason), or null. */
  String rejected() {
    return held == null ? null : held.rejected();
  }

  /** A held body at its end: why it is no answer (empty, an error), or null when it is one. */
  String heldBodyFailure() {
    return held.bodyFailure(framer != null);
  }

  /** The answer is good: the head goes out (the owner's commit), then everything held, in order. */
  void openGate() {
    HeldAnswer answer = held;
    held = null;
    answer.open(this);
  }

  @Override
  public void heldEvent(ByteBuf event, SseEvent fields) {
    relayEvent(event, fields);
  }

  @Override
  public void heldBody(ByteBuf chunk) {
    writeBody(chunk);
  }

  private final SseFramer.Sink sink = new SseFramer.Sink() {
    @Override
    public void event(ByteBuf buffer, int index, int length) {
      onEvent(buffer, index, length, null, 0);
    }

    @Override
    public void event(ByteBuf buffer, int index, int length, byte[] bytes, int offset) {
      onEvent(buffer, index, length, bytes, offset);
    }

    @Override
    public void endOfRead() {
      timings.endOfRead();
      writer.endOfRead();
    }

    @Override
    public void event(ByteBuf event) {
      try {
        onEvent(event, event.readerIndex(), event.readableBytes(), null, 0);
        timings.endOfRead();
        writer.endOfRead();
      } finally {
        event.release();
      }
    }

    @Override
    public void fragment(ByteBuf part, boolean first) {
      writer.write(session != null ? session.fragment(part, first) : part);
    }
  };

  /**
   * One whole event, bytes {@code [index, index + length)} of the framer's buffer. Usage reads it
   * in place; an event that goes out as it came is written in place too (no buffer of its own);
   * one that is held, stamped or translated is taken as a slice of its own. Usage reads the
   * event from {@code bytes[offset, offset + length)} when the framer gave its array (else null).
   */
  private void onEvent(ByteBuf buffer, int index, int length, byte[] bytes, int offset) {
    if (stop != null || (held != null && held.rejected() != null)) {
      return; // after the event that ran past the budget, or failed the attempt: not relayed
    }
    UsageTracker.Verdict verdict = usage == null ? null
        : bytes != null ? usage.onEvent(bytes, offset, length) : usage.onEvent(buffer, index, length);
    if (endGate != null && usage.endReached()) {
      endGate.hold(); // from the usage chunk / terminal event on, until the usage is settled
    }
    if (verdict == UsageTracker.Verdict.DROP) {
      return; // the usage chunk the gateway asked for; the client did not
    }
    if (session == null && held == null && translator == null && (endGate == null || !endGate.holding())) {
      if (verdict == UsageTracker.Verdict.CONTENT) {
        contentEvent();
      }
      markFirstEventSent();
      writer.writeInPlace(buffer, index, length);
      return;
    }
    ByteBuf event = buffer.retainedSlice(index, length);
    // The fields are parsed only for a session (comments are not numbered) or while the answer is
    // held for failover (events before the first content).
    SseEvent fields = session != null || held != null ? SseEvent.parse(event) : null;
    if (held != null) {
      // Without usage tracking (a passthrough route) the first event with data counts as content.
      boolean content = usage != null ? verdict == UsageTracker.Verdict.CONTENT : fields.data() != null;
      if (!content && held.rejects(fields)) {
        event.release();
        return;
      }
      if (!content && held.hold(event, fields)) {
        return; // kept until the first content
      }
      openGate(); // the first content, or past the limit: the answer is let through
    }
    if (verdict == UsageTracker.Verdict.CONTENT) {
      contentEvent();
    }
    relayEvent(event, fields);
  }

  /** A content event goes out: token timings, and the stream watch told the usage so far. */
  private void contentEvent() {
    timings.contentEvent(usage.model());
    if (watch != null && usage.usageReady()) { // not while the tokenizer loads (first estimate only)
      // Acted on once the framer is done with this read (it must not be released under its feet).
      stop = watch.onUsage(usage.usage());
    }
  }

  private void markFirstEventSent() {
    if (exchange.at(Moment.OUT_FIRST_EVENT_SENT) < 0) {
      exchange.mark(Moment.OUT_FIRST_EVENT_SENT, System.nanoTime());
    }
  }

  /**
   * Passes one whole event on: in a session, stamped and kept for resumes and polls, then
   * written while the client still reads.
   *
   * @param fields the event parsed, or null when it is known not to be a comment-only block
   */
  private void relayEvent(ByteBuf event, SseEvent fields) {
    if (translator != null) {
      translator.translate(event, translated);
      event.release();
      return;
    }
    writeEvent(event, fields);
  }

  /** The client's events of a translated stream. */
  private final SseFramer.Sink translated = new SseFramer.Sink() {
    @Override
    public void event(ByteBuf event) {
      writeEvent(event, session != null ? SseEvent.parse(event) : null);
    }

    @Override
    public void fragment(ByteBuf part, boolean first) {
      writer.write(part);
    }
  };

  /** One event in the client's API: through the end gate (which may hold it), else delivered now. */
  private void writeEvent(ByteBuf event, SseEvent fields) {
    if (endGate != null) {
      endGate.event(event, fields); // the tail enters the session, too, only once the usage is settled
    } else {
      deliverEvent(event, fields);
    }
  }

  /** Delivers one event: stamped and kept in the session first, if there is one, then written. */
  private void deliverEvent(ByteBuf event, SseEvent fields) {
    if (session != null) {
      event = session.record(event, fields, writer.attached());
      if (event == null) {
        return;
      }
    }
    markFirstEventSent();
    writer.write(event);
  }

  /** The upstream read is processed: what it gave goes on the wire. */
  void flush() {
    writer.flush();
  }

  /**
   * The upstream's body ended: an unterminated last event is passed on as received (or, translated,
   * dropped: the translator's end says the stream broke off), a JSON body's usage is read, then —
   * once the route's plugins settled the usage ({@link EndGate}) — the end; {@code written} runs
   * after it, at once or later on the event loop.
   */
  void end(Runnable written) {
    if (framer != null) {
      ByteBuf rest = framer.drainRemainder();
      if (rest != null && translator != null) {
        rest.release();
      } else if (rest != null) {
        if (endGate != null) {
          endGate.write(rest);
        } else {
          writer.write(rest);
        }
      }
    }
    if (translator != null) {
      translator.end(translated);
    }
    if (jsonBody != null) {
      jsonBody.end(true);
      jsonBody = null;
    }
    if (endGate != null) {
      endGate.end(usage, written);
      return;
    }
    writer.end();
    written.run();
  }

  /** The last event of a broken stream: half an event the client never saw is dropped. */
  void endWithError(ByteBuf errorEvent) {
    if (endGate != null) {
      endGate.drop();
    }
    ByteBuf rest = framer.drainRemainder();
    if (rest != null) {
      rest.release();
    }
    // The gateway's own error event is OpenAI-style: as it is for an OpenAI client, translated
    // (it is then in the upstream's API) for an Anthropic one.
    if (translator != null && translation.client() == Api.OPENAI_CHAT) {
      writeEvent(errorEvent, null);
    } else {
      relayEvent(errorEvent, null);
    }
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
      // The end gate keeps what it holds: the client leaves now (the exchange detaches it), and
      // the session gets the tail once the usage is settled.
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
    if (held != null) {
      held.release();
      held = null;
    }
    if (framer != null) {
      framer.release();
    }
    if (endGate != null) {
      endGate.drop();
    }
    writer.release(); // an aborted response: what was gathered will not be written
    if (jsonBody != null) {
      jsonBody.end(complete);
      jsonBody = null;
    }
  }
}
