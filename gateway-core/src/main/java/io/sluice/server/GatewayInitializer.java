package io.sluice.server;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.sluice.config.LimitsConfig;
import io.sluice.config.ListenerConfig;
import io.sluice.net.CidrSet;
import io.sluice.net.ClientIdentity;
import io.sluice.exchange.ExchangeHandler;
import io.sluice.exchange.GatewayContext;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Builds a client connection's pipeline; reads as the request flow:
 * connection limits → PROXY protocol → TLS → timeouts → HTTP codec → exchange (route, relay).
 */
final class GatewayInitializer extends ChannelInitializer<SocketChannel> {
  /** Room for the method and version around the URI on the request line. */
  private static final int REQUEST_LINE_SLACK = 64;

  private final ListenerConfig listener;
  private final ConnectionLimiter limiter;
  private final LimitsConfig limits;
  private final Supplier<GatewayContext> contexts;
  private final ClientIdentity identity;
  private final ServerTls tls;

  GatewayInitializer(ListenerConfig listener, ConnectionLimiter limiter, LimitsConfig limits,
      Supplier<GatewayContext> contexts, ServerTls tls) {
    this.tls = tls;
    this.listener = listener;
    this.limiter = limiter;
    this.limits = limits;
    this.contexts = contexts;
    this.identity = new ClientIdentity(CidrSet.of(listener.trustedProxies()));
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    ChannelPipeline p = ch.pipeline();
    addConnectionHandlers(p);
    addTlsHandlers(p);
    addTimeoutHandlers(p);
    addHttpHandlers(p);
    addGatewayHandlers(p);
  }

  private void addConnectionHandlers(ChannelPipeline p) {
    p.addLast(PipelineNames.CONNECTION_LIMIT, limiter);
    if (listener.proxyProtocol()) {
      p.addLast(PipelineNames.PROXY_PROTOCOL_DECODER, new HAProxyMessageDecoder());
      p.addLast(PipelineNames.PROXY_PROTOCOL, new ProxyProtocolHandler());
    }
  }

  /** TLS sits after the PROXY header (sent in clear by the balancer) and before everything HTTP. */
  private void addTlsHandlers(ChannelPipeline p) {
    if (tls != null) {
      p.addLast(PipelineNames.TLS, tls.newHandler(p.channel().alloc()));
      p.addLast(PipelineNames.TLS_HANDSHAKE_LOG, TlsHandshakeLogger.INSTANCE);
    }
  }

  private void addTimeoutHandlers(ChannelPipeline p) {
    if (!limits.idleTimeout().isZero()) {
      p.addLast(PipelineNames.IDLE_TIMEOUT,
          new IdleStateHandler(0, 0, limits.idleTimeout().toNanos(), TimeUnit.NANOSECONDS));
    }
    p.addLast(PipelineNames.HEADER_TIMEOUT, new RequestHeaderTimeoutHandler(limits.requestHeaderTimeout()));
  }

  private void addHttpHandlers(ChannelPipeline p) {
    p.addLast(PipelineNames.HTTP_CODEC, new HttpServerCodec(new HttpDecoderConfig()
        .setMaxInitialLineLength(limits.maxUriLength() + REQUEST_LINE_SLACK)
        .setMaxHeaderSize(limits.maxHeaderSize())
        .setMaxChunkSize(64 * 1024)));
  }

  private void addGatewayHandlers(ChannelPipeline p) {
    p.addLast(PipelineNames.EXCHANGE, new ExchangeHandler(contexts, tls == null ? "http" : "https", identity));
  }
}
