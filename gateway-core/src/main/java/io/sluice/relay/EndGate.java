package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.sluice.sse.SseEvent;
import io.sluice.usage.Usage;
import io.sluice.usage.UsageTracker;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the last bytes of a response until the route's plugins have settled its final usage
 * ({@link UsageHook}): a token or budget reservation is reconciled before the client can see the
 * end and send its next request. See {@code gateway-core/docs/usage.md}.
 *
 * <p>What is held: for an event stream, everything from the event that makes the usage final on
 * (the usage chunk, {@code data: [DONE]}, Anthropic's {@code message_delta} / {@code message_stop},
 * Responses' {@code response.completed}) — SDKs stop reading at the terminal event, so it must
 * wait too; for a JSON body, its newest chunk (each chunk is written when the next one arrives, so
 * the last one waits for the end, when the body's usage is parsed).
 *
 * <p>Sessions: a held event has not entered the stream's session either — it is handed to the
 * {@code events} sink (which stamps it into the session, then writes it) only when the gate
 * opens, so a client that resumes (or polls) meanwhile cannot read the end before the usage is
 * settled any more than the original client can.
 *
 * <p>Threading: on the exchange's event loop. A hook that completes at once (local counters)
 * opens the gate in the same call; one that waits for Redis opens it on the event loop when the
 * store answered (or timed out) — nothing blocks the loop.
 *
 * <p>Backpressure: at most {@value #MAX_HELD} bytes are held; an upstream that goes on sending
 * past its end stops being held (its tail is then written as it comes, and the usage is settled
 * only at the exchange's end, as without a gate).
 *
 * <p>Failure: a hook whose stage fails still opens the gate (the plugin chain logs it). When the
 * exchange ends otherwise first (the client left, a timeout) the held bytes are released unwritten.
 */
final class EndGate {
  private static final Logger log = LoggerFactory.getLogger(EndGate.class);
  static final int MAX_HELD = 64 * 1024;

  private final UsageHook hook;
  private final EventLoop loop;
  private final EventWriter writer;
  private final BiConsumer<ByteBuf, SseEvent> events;
  private final ArrayDeque<Held> held = new ArrayDeque<>(4);
  private int heldBytes;
  private boolean holding;
  private ByteBuf lastChunk; // JSON: the newest chunk, written when the next one comes
  private boolean closed; // the tail went out, or was dropped

  /** A gate whose events go straight to the {@code writer} (a stream without a session). */
  EndGate(UsageHook hook, EventLoop loop, EventWriter writer) {
    this(hook, loop, writer, (event, fields) -> writer.write(event));
  }

  /**
   * @param events where a stream event goes once it may: into the session, if any, then to the
   *     client (takes ownership of the event)
   */
  EndGate(UsageHook hook, EventLoop loop, EventWriter writer, BiConsumer<ByteBuf, SseEvent> events) {
    this.hook = hook;
    this.loop = loop;
    this.writer = writer;
    this.events = events;
  }

  /** Held bytes: a stream event (goes to {@code events}) or raw bytes (go to the writer). */
  private record Held(ByteBuf bytes, SseEvent fields, boolean event) {}

  /** From now on, stream events are held (the usage just became final). */
  void hold() {
    if (!closed) {
      holding = true;
    }
  }

  /** Whether events are held now (the usage is final and not settled yet). */
  boolean holding() {
    return holding;
  }

  /** Bytes of the stream that are no event of it (an unterminated rest): written, or held. Takes ownership. */
  void write(ByteBuf bytes) {
    pass(new Held(bytes, null, false));
  }

  /**
   * An event of the stream: passed to the session and the client, or held when the end was
   * reached. Takes ownership.
   *
   * @param fields the event parsed, or null (as {@code SessionTap.record} takes it)
   */
  void event(ByteBuf event, SseEvent fields) {
    pass(new Held(event, fields, true));
  }

  private void pass(Held h) {
    if (!holding) {
      out(h);
      return;
    }
    held.add(h);
    heldBytes += h.bytes().readableBytes();
    if (heldBytes > MAX_HELD) {
      holding = false; // not an end after all: let the stream through
      writeHeld();
    }
  }

  /** A chunk of a JSON body: the previous chunk goes out, this one waits. Takes ownership. */
  void writeKeepingLast(ByteBuf chunk) {
    ByteBuf previous = lastChunk;
    lastChunk = chunk;
    if (previous != null) {
      writer.write(previous);
    }
  }

  /**
   * The upstream's body ended: the hook is told the final usage, then what is held is written with
   * the end of the body, then {@code written} runs — at once or later on the event loop.
   */
  void end(UsageTracker tracker, Runnable written) {
    // An estimate may need the tokenizer's vocabulary, loaded off the loop on first need.
    tracker.whenUsageReady(loop, () -> end(tracker::usage, written));
  }

  /** {@link #end(UsageTracker, Runnable)} with the usage at hand. */
  void end(Supplier<Usage> usage, Runnable written) {
    CompletableFuture<Void> settled;
    try {
      Usage u = usage.get();
      settled = u == null ? CompletableFuture.completedFuture(null) : hook.usageFinal(u).toCompletableFuture();
    } catch (RuntimeException e) {
      log.warn("settling the usage failed", e);
      settled = CompletableFuture.completedFuture(null);
    }
    if (settled.isDone()) {
      open(written);
    } else {
      settled.whenComplete((v, e) -> loop.execute(() -> open(written)));
    }
  }

  private void open(Runnable written) {
    if (closed) {
      return; // the exchange ended meanwhile
    }
    closed = true;
    holding = false;
    writeHeld();
    if (lastChunk != null) {
      writer.write(lastChunk);
      lastChunk = null;
    }
    writer.end();
    written.run();
  }

  private void writeHeld() {
    Held h;
    while ((h = held.poll()) != null) {
      out(h);
    }
    heldBytes = 0;
  }

  private void out(Held h) {
    if (h.event()) {
      events.accept(h.bytes(), h.fields());
    } else {
      writer.write(h.bytes());
    }
  }

  /** The response ends another way (an error event, a reconnect request, an abort): drop what is held. */
  void drop() {
    closed = true;
    holding = false;
    Held h;
    while ((h = held.poll()) != null) {
      h.bytes().release();
    }
    heldBytes = 0;
    if (lastChunk != null) {
      lastChunk.release();
      lastChunk = null;
    }
  }
}
