package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.exchange.Exchange;
import io.sluice.sse.SseEvent;
import io.sluice.translate.Translation;
import java.util.ArrayList;
import java.util.List;

/**
 * An answer held back before its first content, while another target could still take the
 * request (failover), or a whole body held to be translated at its end. It owns what is held —
 * events with their parsed fields, or body chunks — and their size, the verdict on an attempt
 * that failed before content ({@link #rejected}), and the order things go out in when the gate
 * opens: the owner's commit (the head), then everything held.
 *
 * <p>It exists apart from {@link BodyRelay} because holding is the exception (a failover route, a
 * translated whole body): the relay's per-event path only asks whether there is one.
 *
 * <p>Threading: the exchange's event loop, like the {@link BodyRelay} that owns it.
 *
 * <p>Backpressure: at most {@link #MAX_HELD} bytes are held; past it {@link #hold} keeps nothing
 * and the owner opens the gate: the answer is let through. A whole body held for translation is
 * bounded by {@link TranslatedBody#MAX_BYTES}; past it the rest is dropped and the client gets the
 * translation's error.
 */
final class HeldAnswer {
  /** At most this much of an answer is held back before its first content; beyond, it is let through. */
  static final int MAX_HELD = 1024 * 1024;

  /** Where what was held goes when the gate opens (the {@link BodyRelay}). */
  interface Outlet {
    /** A held event, on its way to translation, the session and the writer. */
    void heldEvent(ByteBuf event, SseEvent fields);

    /** A held body chunk (or a translated whole body). */
    void heldBody(ByteBuf chunk);
  }

  private final Runnable commit; // sends the head when the gate opens
  private final WholeBody wholeBody; // a whole body to translate at its end, else null
  private List<Object> held = new ArrayList<>(4); // events (HeldEvent) or body chunks (ByteBuf)
  private int heldBytes;
  private boolean tooLarge; // a whole body too large to translate: the client gets an error, the rest is dropped
  private String rejected; // the held answer failed before content (a failover reason)

  /** What a whole body held for translation is translated with. */
  record WholeBody(Translation translation, ResponseHead head, Exchange exchange) {}

  /**
   * @param commit the owner's commit: sends the head when the gate opens
   * @param wholeBody set when the answer is a whole body (not a stream) in another API than the
   *     client's: it is held to its end, however large, and translated in one piece; else null
   */
  HeldAnswer(Runnable commit, WholeBody wholeBody) {
    this.commit = commit;
    this.wholeBody = wholeBody;
  }

  /** Why the held answer failed before content (a failover reason), or null. */
  String rejected() {
    return rejected;
  }

  /**
   * An event before any content: records why it fails the attempt ({@link FirstContent}); true when
   * it does (the caller drops it and the owner moves on).
   */
  boolean rejects(SseEvent fields) {
    rejected = FirstContent.failure(fields);
    return rejected != null;
  }

  /**
   * Keeps {@code bytes} back (taking its reference); false (nothing kept, the reference still the
   * caller's) when the limit is reached: the caller opens the gate and passes it on.
   */
  boolean hold(ByteBuf bytes, SseEvent fields) {
    if (wholeBody != null) {
      if (tooLarge || heldBytes + bytes.readableBytes() > TranslatedBody.MAX_BYTES) {
        tooLarge = true; // too large to translate: answered with an error when the gate opens
        bytes.release();
        return true;
      }
      heldBytes += bytes.readableBytes();
      held.add(bytes);
      return true;
    }
    if (heldBytes + bytes.readableBytes() > MAX_HELD) {
      return false;
    }
    heldBytes += bytes.readableBytes();
    held.add(fields == null ? bytes : new HeldEvent(bytes, fields));
    return true;
  }

  /** A held body at its end: why it is no answer (empty, an error), or null when it is one. */
  String bodyFailure(boolean stream) {
    if (stream) {
      return FirstContent.EMPTY_BODY; // a stream that ended without content
    }
    CompositeByteBuf whole = Unpooled.compositeBuffer(Math.max(2, held.size()));
    for (Object o : held) {
      whole.addComponent(true, ((ByteBuf) o).retainedDuplicate());
    }
    try {
      return FirstContent.bodyFailure(whole);
    } finally {
      whole.release();
    }
  }

  /** The answer is good: the head goes out (the owner's commit), then everything held, in order. */
  void open(Outlet out) {
    List<Object> items = held;
    held = null;
    heldBytes = 0;
    if (wholeBody != null) {
      byte[] translated = TranslatedBody.translate(wholeBody.translation(), wholeBody.head(), wholeBody.exchange(),
          items.stream().map(ByteBuf.class::cast).toList(), tooLarge);
      commit.run();
      out.heldBody(Unpooled.wrappedBuffer(translated));
      return;
    }
    commit.run();
    for (int i = 0; i < items.size(); i++) {
      if (items.get(i) instanceof HeldEvent e) {
        out.heldEvent(e.event(), e.fields());
      } else {
        out.heldBody((ByteBuf) items.get(i));
      }
    }
  }

  /** The exchange ended with the answer still held: frees what is held. */
  void release() {
    if (held != null) {
      for (Object o : held) {
        ((ByteBuf) (o instanceof HeldEvent e ? e.event() : o)).release();
      }
      held = null;
    }
  }

  private record HeldEvent(ByteBuf event, SseEvent fields) {}
}
