package io.sluice.server;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.sluice.exchange.ExchangeHandler;
import io.sluice.exchange.GatewayContext;
import io.sluice.net.ClientIdentity;
import java.util.function.Supplier;

/**
 * Turns a connection into an HTTP/2 one: a frame codec and a multiplexer whose child pipelines
 * ({@code ExtendedConnectHandler → Http2StreamFrameToHttpObjectCodec → ExchangeHandler}) let every
 * stream be served by the same exchange code as HTTP/1.1 — same routes, plugins, errors. The
 * connection advertises {@code SETTINGS_ENABLE_CONNECT_PROTOCOL} (RFC 8441), so a stream may also
 * carry a WebSocket session ({@link ExtendedConnectHandler}).
 *
 * <p>Backpressure: a stream channel is writable while its HTTP/2 flow-control window and the
 * connection's outbound buffer allow, so the relay pauses the upstream per stream exactly as it
 * does per HTTP/1.1 connection.
 *
 * <p>Limits: at most {@link #MAX_CONCURRENT_STREAMS} streams per connection (SETTINGS), header
 * lists capped like HTTP/1.1 headers, and the codec's RST_STREAM flood protection ("rapid reset",
 * CVE-2023-44487): more than {@link #MAX_RST_PER_WINDOW} resets in {@link #RST_WINDOW_SECONDS}
 * seconds closes the connection with GOAWAY.
 */
final class Http2Pipeline {
  static final int MAX_CONCURRENT_STREAMS = 128;
  static final int MAX_RST_PER_WINDOW = 200;
  static final int RST_WINDOW_SECONDS = 30;

  private Http2Pipeline() {}

  static void configure(ChannelPipeline p, int maxHeaderSize, Supplier<GatewayContext> contexts, String scheme,
      ClientIdentity identity) {
    if (p.get(PipelineNames.HEADER_TIMEOUT) != null) {
      p.remove(PipelineNames.HEADER_TIMEOUT);
    }
    p.addLast(PipelineNames.H2_CODEC, Http2FrameCodecBuilder.forServer()
        .initialSettings(Http2Settings.defaultSettings()
            .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
            .maxHeaderListSize(maxHeaderSize)
            // RFC 8441: WebSocket over HTTP/2 streams. Always on, whatever the routes: SETTINGS
            // are fixed for a connection's life while routes change on reload, and an extended
            // CONNECT on a route without websocket gets an ordinary JSON error.
            .connectProtocolEnabled(true))
        .decoderEnforceMaxRstFramesPerWindow(MAX_RST_PER_WINDOW, RST_WINDOW_SECONDS)
        .build());
    p.addLast(PipelineNames.H2_MULTIPLEX, new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
      @Override
      protected void initChannel(Http2StreamChannel ch) {
        // The PROXY protocol source was recorded on the connection.
        String proxied = ch.parent().attr(ClientIdentity.PROXIED_SOURCE).get();
        if (proxied != null) {
          ch.attr(ClientIdentity.PROXIED_SOURCE).set(proxied);
        }
        ch.pipeline().addLast(PipelineNames.H2_EXTENDED_CONNECT, new ExtendedConnectHandler());
        ch.pipeline().addLast(PipelineNames.H2_STREAM_TO_HTTP, new Http2StreamFrameToHttpObjectCodec(true));
        ch.pipeline().addLast(PipelineNames.EXCHANGE, new ExchangeHandler(contexts, scheme, identity));
      }
    }));
  }
}
