package io.sluice.upstream;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.AbstractScheduledEventExecutor;
import java.net.SocketAddress;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Last handler of an upstream connection's pipeline: hands what the upstream sends to whoever
 * holds the connection now ({@link Listener}), and closes idle pooled connections.
 *
 * <p>Pipeline: {@code [SslHandler →] ChunkedBodyReader → HttpClientCodec → UpstreamHandler}; the
 * body reader learns here what the codec made of each response head.
 *
 * <p>Memory and CPU: the pool's idle limit is one timer armed when the connection goes back to the
 * pool, not an {@code IdleStateHandler} ticking for the whole life of every connection. Taking the
 * connection out of the pool does not cancel it: when it fires it looks at how long the connection
 * has waited since it was last put back, and closes it or re-arms for the rest. A connection reused
 * by request after request then costs one timer per idle limit, not a schedule and a cancel per
 * request (each a sift through the loop's timer queue, ~2 % of a burst's CPU); a held stream's
 * connection keeps no timer once the pending one has fired (gateway-server/docs/memory.md).
 *
 * <p>The same timer watches the exchange's deadline while it holds the connection ({@link #deadline}:
 * the answer's first byte, {@code first-byte-timeout}; then, for a held stream that may still fail
 * over, its first event, {@code first-event-timeout}): the exchange writes it and clears it, and a
 * check that finds it still ahead re-arms for it. A connection reused back to back has its pool
 * check pending (due within the idle limit, sooner than the first byte's 120 s default), so a
 * request arms nothing; only a deadline earlier than the pending check (a new connection, a short
 * timeout) schedules.
 *
 * <p>It is the connect timeout too ({@code connect-timeout}): the check is first armed when the
 * connect starts, and fails the connect if it has not completed by then. Netty's own
 * ({@code CONNECT_TIMEOUT_MILLIS}, left at 0) schedules a task that the channel keeps, cancelled,
 * for its whole life (~64 B per held stream); this one is the connection's pending check, which the
 * first-byte deadline then rides on instead of scheduling its own (gateway-server/docs/memory.md).
 */
public final class UpstreamHandler extends ChannelDuplexHandler {
  /** The current user of the connection (one exchange at a time). All calls on the channel's loop. */
  public interface Listener {
    void onUpstreamMessage(HttpObject msg);

    void onUpstreamReadComplete();

    void onUpstreamWritabilityChanged(boolean writable);

    /** The connection closed or failed; {@code cause} is null for an orderly close. */
    void onUpstreamClosed(Throwable cause);
  }

  private final long pooledIdleNanos;
  private final long connectTimeoutNanos; // 0: no connect timeout
  private final ChunkedBodyReader body; // null when the pipeline has none (tests)
  private ChannelPromise connecting; // the connect, from its start until the first attach, else null
  private ChannelHandlerContext ctx;
  private Listener listener;
  private ScheduledFuture<?> pending; // the check (pool idle limit, the exchange's deadline), or null
  private long checkDue; // when the pending check runs (the loop's clock)
  private long idleSince; // when the connection was last put back in the pool (the loop's clock)
  private Runnable expiry; // the current exchange's timeout while its deadline is set, else null
  private long deadline;

  /**
   * @param pooledIdleNanos how long a connection may wait in the pool before it is closed
   * @param body the connection's chunked-body reader, told what the codec passes on
   */
  UpstreamHandler(long pooledIdleNanos, ChunkedBodyReader body) {
    this(pooledIdleNanos, 0, body);
  }

  /**
   * @param connectTimeoutNanos how long a connect may take before it fails with a
   *     {@link ConnectTimeoutException}; 0 for no limit
   */
  UpstreamHandler(long pooledIdleNanos, long connectTimeoutNanos, ChunkedBodyReader body) {
    this.pooledIdleNanos = pooledIdleNanos;
    this.connectTimeoutNanos = connectTimeoutNanos;
    this.body = body;
  }

  /** The connect starts (after name resolution, as Netty's own timeout): the check is armed for its limit. */
  @Override
  public void connect(ChannelHandlerContext ctx, SocketAddress remote, SocketAddress local, ChannelPromise promise) {
    if (connectTimeoutNanos > 0) {
      connecting = promise;
      long now = now();
      schedule(now + connectTimeoutNanos, now);
    }
    ctx.connect(remote, local, promise);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancelCheck(); // a WebSocket upgrade takes the connection out of the pool's hands
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  /** Called on the channel's loop. A pending idle check stays: it finds the connection busy. */
  void attach(Listener listener) {
    this.listener = listener;
    connecting = null; // connected (and through TLS): from now on the check is the pool's and the exchange's
  }

  /** Called on the channel's loop; the connection goes back to the pool (or is closed by the caller). */
  void detach() {
    this.listener = null;
    connecting = null;
    expiry = null;
    idleSince = now();
    if (pending == null && ctx != null && ctx.channel().isActive()) {
      schedule(idleSince + pooledIdleNanos, idleSince);
    }
  }

  /**
   * A deadline of the exchange holding the connection (one at a time; it replaces the last):
   * {@code timeout} runs on the loop unless {@link #clearDeadline} comes within
   * {@code timeoutNanos} and the connection is still the exchange's (not put back, dropped or
   * closed meanwhile). Called on the channel's loop.
   */
  public void deadline(long timeoutNanos, Runnable timeout) {
    if (ctx == null || !ctx.channel().isActive()) {
      return; // closed: the exchange hears of it from channelInactive
    }
    long now = now();
    expiry = timeout;
    deadline = now + timeoutNanos;
    if (pending != null) {
      if (deadline - checkDue >= 0) {
        return; // the pending check comes first and re-arms for it
      }
      pending.cancel(false);
    }
    schedule(deadline, now);
  }

  /** What the deadline waited for came (or the exchange gave it up): nothing runs. */
  public void clearDeadline() {
    expiry = null;
  }

  /** The one check: the exchange's deadline while in use, the idle limit while pooled. */
  private void check() {
    pending = null;
    long now = now();
    ChannelPromise connect = connecting;
    if (connect != null) {
      // Not handed over yet: the connect is still under way, or it completed and a TLS handshake
      // (with its own timeout) is; the first attach or detach arms what follows.
      if (!connect.isDone() && now - checkDue < 0) {
        schedule(checkDue, now);
      } else if (connect.tryFailure(new ConnectTimeoutException(
          "connection timed out after " + TimeUnit.NANOSECONDS.toMillis(connectTimeoutNanos) + " ms"))) {
        connecting = null;
        ctx.close();
      }
      return;
    }
    if (listener != null) {
      Runnable timeout = expiry;
      if (timeout == null) {
        return; // in use, nothing awaited: the next detach arms the check again
      }
      if (now - deadline >= 0) {
        expiry = null;
        timeout.run();
      } else {
        schedule(deadline, now);
      }
      return;
    }
    long idle = now - idleSince;
    if (idle >= pooledIdleNanos) {
      ctx.close(); // idle in the pool for too long
    } else {
      schedule(idleSince + pooledIdleNanos, now);
    }
  }

  private void schedule(long due, long now) {
    checkDue = due;
    pending = ctx.executor().schedule(this::check, Math.max(0, due - now), TimeUnit.NANOSECONDS);
  }

  /** The loop's clock: the one its timers run on (a test's frozen clock included). */
  private long now() {
    return ctx.executor() instanceof AbstractScheduledEventExecutor loop ? loop.ticker().nanoTime() : System.nanoTime();
  }

  private void cancelCheck() {
    if (pending != null) {
      pending.cancel(false);
      pending = null;
    }
  }

  /**
   * A read request — Netty makes one after every read while auto-read is on, the relay one when it
   * resumes — goes on from the chunked-body reader's context, past the HTTP codec, which only passes
   * a read on: walking the codec's combined handler on every upstream read was ~2 % of the event
   * loop's time under the paced load (perf, issue 15). What lies before the body reader (TLS) still
   * sees it.
   */
  @Override
  public void read(ChannelHandlerContext ctx) {
    ChannelHandlerContext bodyCtx = body == null ? null : body.context();
    (bodyCtx != null ? bodyCtx : ctx).read();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    Listener l = listener;
    if (l == null || !(msg instanceof HttpObject http)) {
      // Bytes on an idle pooled connection: the connection is out of step, drop it.
      ReferenceCountUtil.release(msg);
      ctx.close();
      return;
    }
    if (body != null) {
      body.seen(http);
    }
    l.onUpstreamMessage(http);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    Listener l = listener;
    if (l != null) {
      l.onUpstreamReadComplete();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    Listener l = listener;
    if (l != null) {
      l.onUpstreamWritabilityChanged(ctx.channel().isWritable());
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelCheck();
    Listener l = listener;
    listener = null;
    if (l != null) {
      l.onUpstreamClosed(null);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Listener l = listener;
    listener = null;
    ctx.close();
    if (l != null) {
      l.onUpstreamClosed(cause);
    }
  }
}
