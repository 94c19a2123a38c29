package io.sluice.translate;

import io.netty.buffer.ByteBuf;
import io.sluice.sse.SseFramer;

/**
 * Translates one streamed response, event by event: each whole SSE event of the upstream's API in
 * (as {@link SseFramer} frames it, terminating blank line included), zero or more whole SSE events
 * of the client's API out, at once — nothing is held back for a later event except what the
 * target API can only say at its end (see {@code gateway-core/docs/translation.md}).
 *
 * <p>Whole events only: an event longer than the framer's limit reaches the relay in fragments
 * ({@link SseFramer.Sink#fragment}), and a fragment is not JSON the translator can read — it
 * answers it with the client API's error event and ends the stream, so
 * the framer's limit bounds the largest translatable event.
 *
 * <p>Ownership: {@link #translate} does not release the event it is given (the caller may still
 * read it, e.g. for usage); every buffer handed to {@code out} belongs to {@code out}.
 *
 * <p>Threading: not thread-safe; one instance per stream, used on that stream's event loop.
 */
public interface StreamTranslator {

  /** Translates one upstream event into {@code out}. */
  void translate(ByteBuf event, SseFramer.Sink out);

  /**
   * The upstream's stream ended (cleanly, at its last byte): emits what is still owed — for a
   * stream that stopped before its terminal event, an error event in the client's API, so the
   * client never takes a truncated answer for a whole one.
   */
  void end(SseFramer.Sink out);

  /** True once the client-side stream is complete (its terminal event or an error was emitted). */
  boolean finished();
}
