package io.sluice.relay;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.sluice.exchange.Exchange;
import io.sluice.http.ErrorKind;
import io.sluice.telemetry.GenAiNames;
import java.time.Duration;

/**
 * The held/commit step of one exchange across its {@link Targets}: which target is tried now,
 * whether its answer is still held back (another target is left), the first-event timer of a held
 * stream, rejecting an attempt that failed before content and moving on to the next target (or,
 * with none left, ending the exchange with the error: {@link RelayEnd}), and the commit that makes
 * the current target the one that serves (the head names it).
 *
 * <p>It exists apart from {@link ProxyCall} so that the relay of one attempt reads straight: the
 * call asks {@link #held()} where a failure could still move on; moving on tears the attempt down
 * here and has the call drop its answer ({@link Owner}). Nothing of it serves after the commit,
 * so the call lets go of it then (memory per held stream).
 *
 * <p>Failover: while another target is left, the answer is held back (head and events before the
 * first content event, or a whole JSON body: {@link HeldAnswer}) and a failure before content —
 * connect failure, 5xx, 429, first-byte timeout, an error or malformed first event, an empty body,
 * no content within {@code first-event-timeout} — moves on to the next target without the client
 * seeing a byte of the failed attempt. The last target's answer is relayed as it comes.
 *
 * <p>Threading: the client channel's event loop (the first-event deadline is watched by the
 * attempt's upstream connection, on the same loop), like the {@link ProxyCall} that owns it.
 */
final class Failover {
  // AsciiString, as Netty's own header names: its hash is kept and its validation reads bytes, where
  // a String name was hashed and validated char by char on every response.
  /** The upstream that served the answer (after failover, the one that did). */
  static final AsciiString SERVED_BY_UPSTREAM = AsciiString.cached("x-sluice-upstream");
  /** The model the serving upstream was asked for (an alias's target model). */
  static final AsciiString SERVED_BY_MODEL = AsciiString.cached("x-sluice-model");

  /** What the call does for a target: make its attempt, or drop its answer. */
  interface Owner {
    /** An attempt at {@code target}, not started yet: the call sends its request and relays its answer. */
    UpstreamAttempt attempt(Target target);

    /** The current attempt failed before content ({@code reason}) and is torn down: its answer, if any, is dropped. */
    void dropAnswer(String reason);
  }

  private Targets targets; // null after the commit
  private final Exchange exchange;
  private final Owner owner;
  private final RelayEnd end; // where the exchange ends when no target is left
  private Target target; // the current attempt's; null after the commit
  private UpstreamAttempt attempt; // the current one
  private boolean held; // another target is left: the answer waits for its first content
  private boolean watching; // the first-event deadline is set on the attempt's connection
  private boolean ended;

  Failover(Targets targets, Exchange exchange, Owner owner, RelayEnd end) {
    this.targets = targets;
    this.exchange = exchange;
    this.owner = owner;
    this.end = end;
  }

  /** The current attempt's target (null after the commit). */
  Target target() {
    return target;
  }

  /** Whether another target is left: a failure before content moves on, the answer is held. */
  boolean held() {
    return held;
  }

  /** Tries the next target (the first one at the start), skipping those the request cannot go to. */
  void next() {
    target = targets.next();
    exchange.genAi(GenAiNames.served(exchange.genAi(), target.upstream().config().provider()));
    held = targets.hasNext();
    if (target.refused() != null) { // the request cannot go to this target (a field its API cannot carry)
      if (held) {
        targets.failed(target, "untranslatable");
        exchange.failedOver();
        next();
      } else {
        end.refuse(target.refused());
      }
      return;
    }
    attempt = owner.attempt(target);
    attempt.start();
  }

  /**
   * The current attempt failed before its answer could start ({@code reason}): while another target
   * is left, the next one tries; else the client gets this error response.
   */
  void failed(String reason, ErrorKind kind, String message) {
    if (held) {
      moveOn(reason);
    } else {
      end.fail(kind, message);
    }
  }

  /**
   * The current attempt failed before content while another target is left: nothing of it
   * reached the client, so it is dropped (its partial usage with it) and the next target tries.
   */
  void moveOn(String reason) {
    targets.failed(target, reason);
    exchange.failedOver();
    cancelFirstEventTimer();
    attempt.drop();
    attempt.end(null);
    attempt.close();
    owner.dropAnswer(reason);
    next();
  }

  /**
   * A 2xx stream or JSON body while another target is left: held until its first content (then
   * {@code commit}); a stream that shows none within {@code first-event-timeout} moves on.
   */
  void holdUntilContent(BodyRelay body, boolean stream, Runnable commit) {
    body.holdUntilContent(commit);
    Duration firstEvent = targets.firstEventTimeout();
    if (stream && !firstEvent.isZero()) {
      watching = true;
      // On the attempt's connection timer: no schedule per request on a reused connection.
      attempt.deadline(firstEvent.toNanos(), this::onFirstEventTimeout);
    }
  }

  private void onFirstEventTimeout() {
    watching = false;
    if (!ended && held) {
      attempt.record("timeout");
      moveOn("first_event_timeout");
    }
  }

  /**
   * The answer goes to the client from now on: no failover after this. The head names the target
   * that serves ({@link #SERVED_BY_UPSTREAM}, {@link #SERVED_BY_MODEL}), and so does the exchange.
   * The call lets go of this object then: nothing of it is kept for the stream's life.
   */
  void commit(HttpHeaders head) {
    cancelFirstEventTimer();
    held = false;
    head.set(SERVED_BY_UPSTREAM, target.upstream().name());
    if (target.model() != null) {
      head.set(SERVED_BY_MODEL, target.model());
    }
    exchange.model(target.model());
    // No target follows a commit: what chose them is not kept for the stream's life
    // (gateway-server/docs/memory.md).
    target = null;
    targets = null;
  }

  /** The exchange ended: no more moving on. */
  void end() {
    ended = true;
    cancelFirstEventTimer();
  }

  private void cancelFirstEventTimer() {
    if (watching) {
      watching = false;
      attempt.clearDeadline();
    }
  }
}
