package io.sluice.relay;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
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
 * no longer has; being the event writer's pause hook, it replaces a lambda per stream
 * (gateway-server/docs/memory.md).
 */
final class StreamPace implements Runnable {
  /** What the pace asks of the exchange's stream. */
  interface Stream {
    /** Whether the exchange ended (a pending watch is not armed then). */
    boolean ended();

    /** Stops reading the upstream: the client cannot take more. */
    void pauseUpstream();

    /** When the answer was committed (its head went out): the watch measures silence from then. */
    long committedAt();

    /** The stream's silence watch, not started: what it asks the stream, and the timeouts it keeps. */
    SilenceWatch silenceWatch(EventLoop loop);
  }

  private final Stream stream;
  private SilenceWatch silence; // armed for streams and bodies of unknown length
  private long lastUpstreamRead;
  private boolean inUpstreamRead; // a message of the upstream's is being handled (its read completes after)
  private boolean headUnflushed; // the head was written during an upstream read, to go with what follows it
  private boolean watchPending; // committed during a read: the watch is armed when the read is processed

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

  /** The committed answer is watched for silence: now, or once the read it came in is processed. */
  void watch(ChannelHandlerContext ctx) {
    if (inUpstreamRead) {
      watchPending = true;
    } else {
      startWatch(ctx);
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
    if (watchPending) {
      watchPending = false;
      if (!stream.ended()) {
        startWatch(ctx);
      }
    }
  }

  /** Watches the stream's silence from its commit: heartbeats and the stream-idle timeout. */
  private void startWatch(ChannelHandlerContext ctx) {
    silence = stream.silenceWatch(ctx.channel().eventLoop());
    silence.upstreamRead(lastUpstreamRead);
    silence.start(stream.committedAt());
  }
}
