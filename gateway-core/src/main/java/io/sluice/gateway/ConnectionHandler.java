package io.sluice.gateway;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.sluice.net.ClientIdentity;
import io.sluice.server.DrainEvent;
import io.sluice.server.ClientTimeoutHandler;
import io.sluice.server.RequestCycle;
import java.util.ArrayDeque;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last handler of a client pipeline (an HTTP/1.1 connection, or one HTTP/2 stream): runs its
 * requests one at a time, each as an {@link ExchangeRun}.
 *
 * <p>Pipeline: {@code … → ClientTimeoutHandler → HttpServerCodec → RequestFramingHandler →
 * ConnectionHandler}.
 *
 * <pre>
 *   IDLE ──request head──→ READING ──admitted──→ PROXYING ──response ends──→ IDLE (next request)
 *                            │  └─ answered by the gateway before the body ─→ DISCARDING ─→ IDLE
 *                            └──── the connection cannot go on ───────────→ CLOSING
 * </pre>
 *
 * <p>Pipelining: the connection keeps reading while a response streams, so a client that goes
 * away is noticed at once and its generation stopped; a pipelined next request is held (and
 * reading paused) until the current response ends.
 *
 * <p>Drain: on {@link DrainEvent#BEGIN} an idle connection closes and a busy one closes after its
 * exchange; on {@link DrainEvent#NOW} the running exchange ends at once, never silently.
 *
 * <p>Talks to the other handlers by user events — {@link DrainEvent},
 * {@link ClientTimeoutHandler.BodyExpired} and idle events in — and tells the connection's
 * timeouts where a request is through its {@link RequestCycle} (field writes, no event per request).
 */
public final class ConnectionHandler extends ChannelInboundHandlerAdapter implements ExchangeRun.Connection {
  private static final Logger log = LoggerFactory.getLogger(ConnectionHandler.class);

  private enum State { IDLE, READING, PROXYING, DISCARDING, CLOSING }

  private final Supplier<GatewayContext> contexts;
  private final String scheme;
  private final ClientIdentity identity;
  // Pipelined requests are rare: the queue is made when the first one comes, not kept empty by
  // every connection for its whole life (gateway-server/docs/memory.md).
  private ArrayDeque<Object> held; // null until something is held

  private ChannelHandlerContext ctx;
  private State state = State.IDLE;
  private boolean draining;
  private ExchangeRun run; // the current exchange, or null between requests
  private RequestCycle cycle = RequestCycle.NONE;

  /**
   * @param contexts the current gateway snapshot (read once per request)
   * @param scheme {@code http} or {@code https}
   * @param identity how the client's address is found (peer, PROXY protocol, trusted proxies)
   */
  public ConnectionHandler(Supplier<GatewayContext> contexts, String scheme, ClientIdentity identity) {
    this.contexts = contexts;
    this.scheme = scheme;
    this.identity = identity;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    this.cycle = RequestCycle.of(ctx.channel());
  }

  /**
   * The pipeline is torn down (the channel deregistered): whatever buffers are still held go now,
   * even when the event loop was shut down before {@link #channelInactive} could run.
   */
  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (run != null) {
      run.releaseUnlessRelaying(); // a running exchange may still send its body (a retry): channelInactive ends it
    }
    releaseHeld();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    cycle.read(msg); // as it arrives, held or not: the body timeout's clock
    read(msg, false);
  }

  /** @param replay a held message, taken in turn: the messages held behind it do not hold it again */
  private void read(Object msg, boolean replay) {
    if (state == State.CLOSING) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (state == State.PROXYING || (!replay && held != null && !held.isEmpty())
        || (msg instanceof HttpRequest && state != State.IDLE)) {
      if (held == null) {
        held = new ArrayDeque<>(1);
      }
      held.add(msg); // pipelined: answered after the current response
      ctx.channel().config().setAutoRead(false);
      return;
    }
    if (msg instanceof HttpRequest request) {
      cycle.headersReceived();
      state = State.READING;
      run = new ExchangeRun(this, ctx, contexts.get(), request, identity, scheme);
      run.begin();
    }
    if (msg instanceof HttpContent content) {
      onBody(content);
    } else if (!(msg instanceof HttpRequest)) {
      ReferenceCountUtil.release(msg);
    }
  }

  private void onBody(HttpContent content) {
    if (state == State.DISCARDING) {
      boolean last = content instanceof LastHttpContent;
      content.release();
      if (last) {
        nextRequest();
      }
    } else if (state == State.READING && run != null) {
      run.body(content);
    } else {
      content.release();
    }
  }

  // ---- ExchangeRun.Connection -------------------------------------------------------------------

  @Override
  public void holdInput(boolean hold) {
    state = hold ? State.PROXYING : State.READING;
  }

  @Override
  public void ended(ExchangeRun.Next next) {
    run = null;
    switch (next) {
      case NOTHING -> { }
      case NEXT_REQUEST -> nextRequest();
      case SKIP_BODY -> state = State.DISCARDING;
      case CLOSING -> state = State.CLOSING;
      case CLOSE_AFTER_FLUSH -> {
        state = State.CLOSING;
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      }
      case CLOSE_NOW -> {
        state = State.CLOSING;
        ctx.close();
      }
    }
  }

  @Override
  public boolean draining() {
    return draining;
  }

  // ---- connection events ------------------------------------------------------------------------

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (run != null) {
      run.clientWritabilityChanged(ctx.channel().isWritable());
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (run != null) {
      run.clientLeft();
      run = null;
    }
    state = State.CLOSING;
    releaseHeld();
    ctx.fireChannelInactive();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ClientTimeoutHandler.BodyExpired expired) {
      // A gateway answer with a body still unread always closes, so only READING is left.
      if (state == State.READING && run != null) {
        run.bodyTimeout(expired.timeout());
      }
    } else if (evt == DrainEvent.BEGIN) {
      draining = true;
      if (state == State.IDLE && run == null) {
        state = State.CLOSING;
        ctx.close();
      }
    } else if (evt == DrainEvent.NOW) {
      draining = true;
      if ((run == null || !run.drainNow()) && state != State.CLOSING) {
        state = State.CLOSING;
        ctx.close();
      }
    } else if (evt instanceof IdleStateEvent) {
      log.debug("closing {} after idle-timeout", ctx.channel());
      ctx.close();
    } else {
      ctx.fireUserEventTriggered(evt);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("client connection {} failed: {}", ctx.channel(), cause.toString());
    ctx.close();
  }

  /** Back to waiting for a request; replays one that was pipelined meanwhile. */
  private void nextRequest() {
    state = State.IDLE;
    cycle.responseEnded();
    // Replays what was held, in order: a request, the rest of its body (or of a body being
    // skipped); a further request waits until the replayed one is answered (this runs again then).
    while (held != null && !held.isEmpty()
        && (state == State.IDLE || state == State.READING || state == State.DISCARDING)
        && (state == State.IDLE || !(held.peek() instanceof HttpRequest))) {
      read(held.poll(), true);
    }
    if ((held == null || held.isEmpty()) && state != State.CLOSING) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  private void releaseHeld() {
    if (held != null) {
      held.forEach(ReferenceCountUtil::release);
      held.clear();
    }
  }
}
