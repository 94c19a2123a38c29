package io.sluice.websocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.Timeout;
import io.sluice.exchange.Exchange;
import io.sluice.relay.StreamTimers;
import io.sluice.usage.Usage;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One open WebSocket session: relays frames between the client and upstream connections, as
 * decoded, without re-assembling messages or touching payloads.
 *
 * <p>Threading: both connections live on the same event loop (the upstream one was opened on the
 * client's loop), so every method runs on it and nothing is locked.
 *
 * <p>Backpressure: a leg reads only while the other leg is writable. When the client's outbound
 * buffer passes its high-water mark, the upstream connection stops reading (TCP flow control then
 * slows the model server) and the other way round. Memory per session is bounded by the two
 * watermarks, one socket read, and one frame being decoded per leg ({@code max-frame-size}).
 *
 * <p>Closing: close frames pass through with their code and reason; when both directions have
 * carried one, both connections are closed. The gateway sends its own close frame only when it
 * ends the session itself: 1009 (frame too large) or 1002/1007 (protocol error) to the peer that
 * caused it and 1001 to the other; 1001 on idle timeout, route timeout and drain; 1014 (bad
 * gateway) to the client when the upstream connection is lost without a close frame; 1001 to the
 * upstream when the client's is.
 *
 * The other side has {@link #CLOSE_ANSWER_NANOS} to answer a close frame; then both connections
 * are closed anyway.
 *
 * <p>Keepalive: a ping goes to the client after {@code ping-interval} without any frame sent to
 * it; its pong is swallowed. The idle timeout counts every other frame, either way.
 */
final class WebSocketSession {
  private static final Logger log = LoggerFactory.getLogger(WebSocketSession.class);
  /** The gateway's pings carry this payload, so their pongs are told apart from the upstream's. */
  private static final byte[] PING = "sluice-keepalive".getBytes(StandardCharsets.US_ASCII);
  /** Registered by IANA for a proxy whose upstream failed (RFC 6455 registry). */
  static final int BAD_GATEWAY = 1014;
  /** How long the other side has to answer a close frame before both connections are closed. */
  static final long CLOSE_ANSWER_NANOS = TimeUnit.SECONDS.toNanos(5);

  enum Side { CLIENT, UPSTREAM }

  /** Told once when the session is over. */
  interface Ending {
    /** @param outcome {@code ok} for a close handshake that passed through, else what ended it */
    void sessionEnded(String outcome);
  }

  private final Channel client;
  private final Channel upstream;
  private final EventLoop loop;
  private final long maxFrameSize;
  private final long pingNanos;
  private final long idleNanos;
  private final long deadlineNanos; // route timeout as an absolute time, 0 = none
  private final RealtimeUsage usage;
  private final Exchange exchange;
  private final Ending ending;

  private final boolean[] closeReceived = new boolean[2];
  private final boolean[] closeSent = new boolean[2];
  private final boolean[] unflushed = new boolean[2];
  private boolean ended;
  private long lastActivityNanos;
  private long lastClientWriteNanos;
  private long closeDeadlineNanos; // once one close frame passed; 0 = none
  private Timeout timer;
  private int timerGeneration; // a timeout cancelled after it fired must not run: see onTimer

  WebSocketSession(Channel client, Channel upstream, Exchange exchange, long maxFrameSize,
      long pingNanos, long idleNanos, long routeTimeoutNanos, RealtimeUsage usage, Ending ending) {
    this.client = client;
    this.upstream = upstream;
    this.loop = client.eventLoop();
    this.exchange = exchange;
    this.maxFrameSize = maxFrameSize;
    this.pingNanos = pingNanos;
    this.idleNanos = idleNanos;
    long now = System.nanoTime();
    this.deadlineNanos = routeTimeoutNanos > 0 ? exchange.startNanos() + routeTimeoutNanos : 0;
    this.usage = usage;
    this.ending = ending;
    this.lastActivityNanos = now;
    this.lastClientWriteNanos = now;
  }

  /** Starts relaying: each leg reads while the other can take what it reads. */
  void start() {
    upstream.config().setAutoRead(client.isWritable());
    client.config().setAutoRead(upstream.isWritable());
    if (upstream.config().isAutoRead()) {
      upstream.read();
    }
    if (client.config().isAutoRead()) {
      client.read();
    }
    arm(System.nanoTime());
  }

  private Channel channel(Side side) {
    return side == Side.CLIENT ? client : upstream;
  }

  private static Side other(Side side) {
    return side == Side.CLIENT ? Side.UPSTREAM : Side.CLIENT;
  }

  // ---- frames -----------------------------------------------------------------------------------

  void onFrame(Side from, WebSocketFrame frame) {
    if (ended || closeReceived[from.ordinal()]) {
      frame.release(); // nothing may follow a close frame (RFC 6455 §5.5.1)
      return;
    }
    long now = System.nanoTime();
    if (from == Side.CLIENT && frame instanceof PongWebSocketFrame && isOurPing(frame.content())) {
      frame.release(); // answers the gateway's keepalive: not the upstream's business, not activity
      return;
    }
    lastActivityNanos = now;
    Side to = other(from);
    int payload = frame.content().readableBytes();
    if (from == Side.CLIENT) {
      exchange.addBytesIn(payload);
    } else {
      exchange.addBytesOut(payload);
      if (frame instanceof TextWebSocketFrame && frame.isFinalFragment() && frame.rsv() == 0) {
        usage.onText(frame.content());
      }
    }
    if (frame instanceof CloseWebSocketFrame) {
      closeReceived[from.ordinal()] = true;
      if (closeSent[to.ordinal()]) {
        frame.release(); // the gateway already closed that side itself
      } else {
        closeSent[to.ordinal()] = true;
        write(from, to, frame);
      }
      if (closeReceived[to.ordinal()]) {
        end("ok"); // both directions closed: the handshake is complete
      } else if (closeDeadlineNanos == 0) {
        closeDeadlineNanos = now + CLOSE_ANSWER_NANOS;
        if (timer != null) {
          timer.cancel();
        }
        arm(now);
      }
      return;
    }
    if (closeSent[to.ordinal()]) {
      frame.release();
      return;
    }
    write(from, to, frame);
  }

  private static boolean isOurPing(ByteBuf payload) {
    return payload.readableBytes() == PING.length && ByteBufUtil.equals(payload, Unpooled.wrappedBuffer(PING));
  }

  private void write(Side from, Side to, WebSocketFrame frame) {
    Channel target = channel(to);
    target.write(frame, target.voidPromise());
    unflushed[to.ordinal()] = true;
    if (to == Side.CLIENT) {
      lastClientWriteNanos = System.nanoTime();
    }
    if (!target.isWritable()) {
      channel(from).config().setAutoRead(false); // resumed by onWritabilityChanged
    }
  }

  /** One read batch is done: what it produced goes out now, never held for the next. */
  void onReadComplete(Side from) {
    flush(other(from));
  }

  private void flush(Side side) {
    if (unflushed[side.ordinal()]) {
      unflushed[side.ordinal()] = false;
      channel(side).flush();
    }
  }

  void onWritabilityChanged(Side side, boolean writable) {
    if (ended) {
      return;
    }
    Channel source = channel(other(side));
    source.config().setAutoRead(writable);
    if (writable) {
      source.read();
    }
  }

  // ---- failures ---------------------------------------------------------------------------------

  void onInactive(Side side) {
    if (ended) {
      return;
    }
    Side to = other(side);
    if (closeReceived[side.ordinal()]) {
      end("ok"); // it closed after its close frame: the rest of the handshake has nobody to reach
    } else if (side == Side.UPSTREAM) {
      sendClose(to, BAD_GATEWAY, "the upstream connection was lost");
      end("upstream_failed");
    } else {
      sendClose(to, WebSocketCloseStatus.ENDPOINT_UNAVAILABLE.code(), "the client went away");
      end("client_closed");
    }
  }

  void onError(Side side, Throwable cause) {
    if (ended) {
      return;
    }
    Side to = other(side);
    if (cause instanceof CorruptedWebSocketFrameException corrupt) {
      WebSocketCloseStatus status = corrupt.closeStatus();
      boolean tooBig = status.code() == WebSocketCloseStatus.MESSAGE_TOO_BIG.code();
      String reason = tooBig ? "frame larger than max-frame-size (" + maxFrameSize + " bytes)" : status.reasonText();
      log.debug("{} of session {} sent a bad frame: {}", side, exchange.requestId(), cause.getMessage());
      sendClose(side, status.code(), reason);
      sendClose(to, WebSocketCloseStatus.ENDPOINT_UNAVAILABLE.code(),
          (side == Side.CLIENT ? "the client" : "the upstream") + " broke the protocol");
      end(tooBig ? "frame_too_large" : "protocol_error");
      return;
    }
    log.debug("{} connection of session {} failed: {}", side, exchange.requestId(), cause.toString());
    channel(side).close(); // onInactive ends the session
  }

  // ---- timers -----------------------------------------------------------------------------------

  private void arm(long now) {
    long next = Long.MAX_VALUE;
    if (pingNanos > 0) {
      next = Math.min(next, lastClientWriteNanos + pingNanos);
    }
    if (idleNanos > 0) {
      next = Math.min(next, lastActivityNanos + idleNanos);
    }
    if (deadlineNanos != 0) {
      next = Math.min(next, deadlineNanos);
    }
    if (closeDeadlineNanos != 0) {
      next = Math.min(next, closeDeadlineNanos);
    }
    if (next != Long.MAX_VALUE) {
      int generation = ++timerGeneration;
      timer = StreamTimers.schedule(loop, () -> onTimer(generation), next - now);
    }
  }

  /** One wheel timeout per session covers pings, the idle timeout and the route timeout. */
  private void onTimer(int generation) {
    if (ended || generation != timerGeneration) {
      return;
    }
    long now = System.nanoTime();
    if (closeDeadlineNanos != 0 && now - closeDeadlineNanos >= 0) {
      end("close_timeout"); // one side closed, the other never answered: nothing more will pass
      return;
    }
    if (deadlineNanos != 0 && now - deadlineNanos >= 0) {
      closeBoth("the route's timeout was reached");
      end("route_timeout");
      return;
    }
    if (idleNanos > 0 && now - lastActivityNanos >= idleNanos) {
      closeBoth("idle timeout");
      end("idle_timeout");
      return;
    }
    if (pingNanos > 0 && now - lastClientWriteNanos >= pingNanos) {
      lastClientWriteNanos = now;
      if (client.isWritable() && !closeSent[Side.CLIENT.ordinal()]) {
        client.writeAndFlush(new PingWebSocketFrame(Unpooled.wrappedBuffer(PING)), client.voidPromise());
      }
    }
    arm(now);
  }

  // ---- endings ----------------------------------------------------------------------------------

  /** The gateway is shutting down: both peers get 1001 (going away). */
  void drain() {
    if (!ended) {
      closeBoth("the gateway is shutting down");
      end("draining");
    }
  }

  private void closeBoth(String reason) {
    int goingAway = WebSocketCloseStatus.ENDPOINT_UNAVAILABLE.code();
    sendClose(Side.CLIENT, goingAway, reason);
    sendClose(Side.UPSTREAM, goingAway, reason);
  }

  private void sendClose(Side to, int code, String reason) {
    if (closeSent[to.ordinal()] || !channel(to).isActive()) {
      return;
    }
    closeSent[to.ordinal()] = true;
    Channel target = channel(to);
    target.write(new CloseWebSocketFrame(code, reason), target.voidPromise());
    unflushed[to.ordinal()] = true;
  }

  /**
   * Ends the session: what was written reaches both sockets, then both close. The exchange
   * (metrics, access log, plugins) is ended by {@link Ending}.
   */
  private void end(String outcome) {
    if (ended) {
      return;
    }
    ended = true;
    if (timer != null) {
      timer.cancel();
    }
    unflushed[Side.UPSTREAM.ordinal()] = false;
    unflushed[Side.CLIENT.ordinal()] = false;
    upstream.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    client.flush(); // the client leg is closed by the exchange once it ended
    ending.sessionEnded(outcome);
  }

  boolean ended() {
    return ended;
  }

  /** The session's token usage so far, or null when the upstream reported none. */
  Usage usage() {
    return usage.usage();
  }
}
