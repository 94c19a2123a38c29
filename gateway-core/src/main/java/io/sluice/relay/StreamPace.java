package io.sluice.relay;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpResponse;

/**
 * When a committed answer's head and its silence watch go out, in step with the upstream's reads:
 * the pace of one exchange's answer between the upstream connection and the client's socket.
 * {@link ProxyCall} tells it where each upstream read starts and ends and when the commit comes.
 *
 * <p>Head: committed while an upstream read is being handled, the head is written without a flush
 * and goes with what follows it in that read (the events, or the end): one write to the socket
 * where a flush of its own made two. It waits for nothing but the end of that read: the read's
 * completion or the body's end ({@link #readProcessed}), or the exchange's end ({@link #end}).
 *
 * <p>Silence: a stream, or a body of unknown length, is watched from its commit
 * ({@link SilenceWatch}: heartbeats and the stream-idle timeout). Committed during a read, the watch
 * is armed once that read is processed, and only if the stream is still on by then: a short answer
 * that came whole in the read (a burst's) needs no watch, and a wheel timeout scheduled and
 * cancelled per request was two queue hand-offs to the wheel's thread.
 *
 * <p>Backpressure: this is also the event writer's pause hook ({@link #run}): the upstream stops
 * being read while the client's outbound buffer is past its high-water mark, and the watch counts
 * that silence as the gateway's, not the upstream's.
 *
 * <p>Threading: the client channel's event loop. Memory: one per exchange, made of fields the call
 * no longer has; being the pause hook and the watch's one binding, it replaces a lambda and two
 * captured references per stream (gateway-server/docs/memory.md).
 */
final class StreamPace implements Runnable {
  /** What the pace asks of the exchange's stream. */
  interface Stream {
    /** Whether the exchange ended (a pending watch is not armed, a running one stops). */
    boolean ended();

    /** Stops reading the upstream: the client cannot take more. */
    void pauseUpstream();

    /** Whether reading the upstream is paused for a slow client. */
    boolean upstreamPaused();

    /** The upstream sent nothing for the stream-idle timeout: ends the stream. */
    void silentTooLong();

    /** Sends a heartbeat; false when nobody reads the stream. */
    boolean ping();

    /** The stream-idle timeout, in nanoseconds. */
    long idleNanos();

    /** The heartbeat interval, in nanoseconds; 0 for none. */
    long heartbeatNanos();
  }

  private static final long NONE = Long.MIN_VALUE;

  private final Stream stream;
  private SilenceWatch silence; // armed for streams and bodies of unknown length
  private long lastUpstreamRead;
  private long watchFrom = NONE; // committed during a read: the commit's time, until the watch is armed
  private boolean inUpstreamRead; // a message of the upstream's is being handled (its read completes after)
  private boolean headUnflushed; // the head was written during an upstream read, to go with what follows it

  StreamPace(Stream stream) {
    this.stream = stream;
  }

  /** A message of the upstream's arrived at {@code now} and is being handled. */
  void readStarted(long now) {
    lastUpstreamRead = now;
    if (silence != null) {
      silence.upstreamRead(now);
    }
    inUpstreamRead = true;
  }

  /** The message is handled (the read it came in completes later). */
  void messageHandled() {
    inUpstreamRead = false;
  }

  /**
   * The committed head goes to the client: during an upstream read, written now and flushed with
   * what follows it in the read; else written and flushed now.
   */
  void headOut(ChannelHandlerContext ctx, HttpResponse head) {
    if (inUpstreamRead) {
      ctx.write(head, ctx.voidPromise());
      headUnflushed = true;
    } else {
      ctx.writeAndFlush(head, ctx.voidPromise());
    }
  }

  /** The answer committed at {@code committedAt} is watched for silence: now, or after the read it came in. */
  void watch(ChannelHandlerContext ctx, long committedAt) {
    if (inUpstreamRead) {
      watchFrom = committedAt;
    } else {
      startWatch(ctx, committedAt);
    }
  }

  /**
   * The upstream read is processed (its events written and flushed), or the body ended and its
   * connection was let go (no read completion follows): the head and the watch go now.
   */
  void readProcessed(ChannelHandlerContext ctx) {
    flushHead(ctx);
    startPendingWatch(ctx);
  }

  /** The exchange ended: a head still unflushed goes first (an abort closes the connection), the watch stops. */
  void end(ChannelHandlerContext ctx) {
    flushHead(ctx);
    if (silence != null) {
      silence.cancel();
    }
  }

  /** The event writer's pause hook: the client's buffer is full. */
  @Override
  public void run() {
    stream.pauseUpstream();
  }

  /** Whether a silence watch runs (for tests). */
  boolean watching() {
    return silence != null;
  }

  /** A head written during an upstream read and not on the wire yet goes now (at most once per exchange). */
  private void flushHead(ChannelHandlerContext ctx) {
    if (headUnflushed) {
      headUnflushed = false;
      // Often a flush of nothing (the body's own flush took the head along): cheap, and what is
      // pending cannot be told from here (a TLS handler holds writes until the flush).
      ctx.flush();
    }
  }

  private void startPendingWatch(ChannelHandlerContext ctx) {
    if (watchFrom != NONE) {
      long from = watchFrom;
      watchFrom = NONE;
      if (!stream.ended()) {
        startWatch(ctx, from);
      }
    }
  }

  /** Watches the stream's silence from {@code from} (its commit): heartbeats and the stream-idle timeout. */
  private void startWatch(ChannelHandlerContext ctx, long from) {
    silence = new SilenceWatch(ctx.channel().eventLoop()) {
      @Override
      long idleNanos() {
        return stream.idleNanos();
      }

      @Override
      long heartbeatNanos() {
        return stream.heartbeatNanos();
      }

      @Override
      boolean ended() {
        return stream.ended();
      }

      @Override
      boolean readingPaused() {
        return stream.upstreamPaused();
      }

      @Override
      void silentTooLong() {
        stream.silentTooLong();
      }

      @Override
      boolean ping() {
        return stream.ping();
      }
    };
    silence.upstreamRead(lastUpstreamRead);
    silence.start(from);
  }
}
