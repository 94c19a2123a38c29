package io.sluice.server;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import io.sluice.http.ErrorKind;
import io.sluice.http.GatewayErrors;
import io.sluice.http.ProxyHeaders;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Enforces {@code max-connections} (per listener) and {@code max-connections-per-ip}: an excess
 * connection is accepted, answered with 503 and closed, so the client learns why rather than
 * seeing a refused or hanging connect.
 *
 * <p>Pipeline: first handler of every client channel; shared by the listener's channels.
 */
@ChannelHandler.Sharable
public final class ConnectionLimiter extends ChannelInboundHandlerAdapter {
  private static final AttributeKey<InetAddress> COUNTED_IP = AttributeKey.valueOf("sluice.countedIp");

  private final int maxConnections;
  private final int maxPerIp;
  private final AtomicInteger open = new AtomicInteger();
  private final ConcurrentHashMap<InetAddress, AtomicInteger> perIp = new ConcurrentHashMap<>();

  /** @param maxPerIp 0 = unlimited */
  public ConnectionLimiter(int maxConnections, int maxPerIp) {
    this.maxConnections = maxConnections;
    this.maxPerIp = maxPerIp;
  }

  public int openConnections() {
    return open.get();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    boolean overListener = open.incrementAndGet() > maxConnections;
    boolean overIp = false;
    if (maxPerIp > 0 && ctx.channel().remoteAddress() instanceof InetSocketAddress remote) {
      InetAddress ip = remote.getAddress();
      ctx.channel().attr(COUNTED_IP).set(ip);
      overIp = perIp.computeIfAbsent(ip, k -> new AtomicInteger()).incrementAndGet() > maxPerIp;
    }
    if (overListener || overIp) {
      String body = GatewayErrors.json(ErrorKind.OVERLOADED,
          overListener ? "too many connections" : "too many connections from this address");
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      String head = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
          + "content-length: " + bytes.length + "\r\nx-request-id: " + ProxyHeaders.newRequestId()
          + "\r\nconnection: close\r\n\r\n";
      ctx.writeAndFlush(Unpooled.wrappedBuffer(head.getBytes(StandardCharsets.US_ASCII), bytes))
          .addListener(ChannelFutureListener.CLOSE);
      ctx.channel().config().setAutoRead(false);
      return; // the rest of the pipeline never sees this connection
    }
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    // Counted in channelActive: Netty fires channelInactive once, and only after channelActive, so
    // no mark per connection is needed (an attribute would stay with every connection for its life).
    open.decrementAndGet();
    InetAddress ip = ctx.channel().attr(COUNTED_IP).getAndSet(null);
    if (ip != null) {
      perIp.computeIfPresent(ip, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
    }
    ctx.fireChannelInactive();
  }
}
