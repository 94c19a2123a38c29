package io.sluice.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.sluice.config.LimitsConfig;
import io.sluice.config.ListenerConfig;
import io.sluice.http.TrailerHeaders;
import io.sluice.net.CidrSet;
import io.sluice.net.ClientIdentity;

/**
 * Builds a client connection's pipeline; reads as the request flow:
 * connection limits → PROXY protocol → TLS → timeouts (header, body, idle: one handler) → HTTP codec
 * → framing checks → exchange (route, relay).
 */
final class GatewayInitializer extends ChannelInitializer<SocketChannel> {
  /** Room for the method and version around the URI on the request line. */
  private static final int REQUEST_LINE_SLACK = 64;

  private final ListenerConfig listener;
  private final ConnectionLimiter limiter;
  private final LimitsConfig limits;
  private final RequestHandlerFactory handlers;
  private final ClientIdentity identity;
  private final ChannelGroup clients;
  private final ServerTls tls;
  private final ClientTimeoutHandler.Timeouts timeouts;

  GatewayInitializer(ListenerConfig listener, ConnectionLimiter limiter, LimitsConfig limits,
      RequestHandlerFactory handlers, ServerTls tls, ChannelGroup clients) {
    this.tls = tls;
    this.listener = listener;
    this.clients = clients;
    this.limiter = limiter;
    this.limits = limits;
    this.handlers = handlers;
    this.identity = new ClientIdentity(CidrSet.of(listener.trustedProxies()));
    this.timeouts = ClientTimeoutHandler.Timeouts.of(limits.requestHeaderTimeout(), limits.requestBodyTimeout(),
        limits.idleTimeout());
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    clients.add(ch); // removed by the group when it closes; drained on shutdown
    ChannelPipeline p = ch.pipeline();
    addConnectionHandlers(p);
    addTlsHandlers(p);
    addTimeoutHandlers(p);
    if (!listener.http2()) {
      addHttpHandlers(p);
      addGatewayHandlers(p);
    } else if (tls != null) {
      p.addLast(PipelineNames.PROTOCOL_SELECT, new AlpnHandler());
    } else {
      p.addLast(PipelineNames.PROTOCOL_SELECT, new PriorKnowledgeDetector(new PriorKnowledgeDetector.Choice() {
        @Override
        public void http1(ChannelPipeline pipeline) {
          addHttpHandlers(pipeline);
          addGatewayHandlers(pipeline);
        }

        @Override
        public void http2(ChannelPipeline pipeline) {
          addHttp2Handlers(pipeline);
        }
      }));
    }
  }

  /** On TLS listeners with {@code http2}: the protocol the client chose by ALPN ({@code h2} or HTTP/1.1). */
  private final class AlpnHandler extends ApplicationProtocolNegotiationHandler {
    AlpnHandler() {
      super(ApplicationProtocolNames.HTTP_1_1);
    }

    @Override
    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
      if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
        addHttp2Handlers(ctx.pipeline());
      } else {
        addHttpHandlers(ctx.pipeline());
        addGatewayHandlers(ctx.pipeline());
      }
    }

    @Override
    protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // logged by the handshake logger
    }
  }

  private void addHttp2Handlers(ChannelPipeline p) {
    Http2Pipeline.configure(p, limits.maxHeaderSize(), handlers, tls == null ? "http" : "https", identity);
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
    p.addLast(PipelineNames.TIMEOUTS, new ClientTimeoutHandler(timeouts));
  }

  private void addHttpHandlers(ChannelPipeline p) {
    p.addLast(PipelineNames.HTTP_CODEC, new HttpServerCodec(new HttpDecoderConfig()
        .setMaxInitialLineLength(limits.maxUriLength() + REQUEST_LINE_SLACK)
        .setMaxHeaderSize(limits.maxHeaderSize())
        .setMaxChunkSize(64 * 1024)
        // Each header line is copied into this buffer, which grows to the longest line and stays
        // with the connection: start it at 64 bytes, not 128 (gateway-server/docs/memory.md).
        .setInitialBufferSize(64)
        .setTrailersFactory(TrailerHeaders.INSTANCE))); // one (empty) trailer set per request body
    p.addLast(PipelineNames.REQUEST_FRAMING, RequestFramingHandler.INSTANCE);
  }

  private void addGatewayHandlers(ChannelPipeline p) {
    p.addLast(PipelineNames.EXCHANGE, handlers.newHandler(tls == null ? "http" : "https", identity));
  }
}
