package io.sluice.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.sluice.net.ClientIdentity;
import io.netty.util.AttributeKey;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Turns a connection into an HTTP/2 one: a frame codec and a multiplexer whose child pipelines
 * ({@code ExtendedConnectHandler → Http2StreamFrameToHttpObjectCodec → request handler}) let every
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

  /** The connection's open stream channels, so that a drain reaches their exchanges. */
  private static final AttributeKey<Set<Channel>> STREAMS = AttributeKey.valueOf("sluice.h2.streams");
  /** Set once the drain sent GOAWAY: the connection closes when its last stream does. */
  private static final AttributeKey<Boolean> DRAINING = AttributeKey.valueOf("sluice.h2.draining");

  private Http2Pipeline() {}

  /**
   * Whether this is an HTTP/2 connection (a drain reaches its streams through {@link #eachStream}).
   */
  static boolean isHttp2(Channel connection) {
    return connection.attr(STREAMS).get() != null;
  }

  /**
   * The gateway drains: GOAWAY tells the client to open no new streams, the running ones go on,
   * and the connection closes when the last of them does. (Closing it at once would cut them: the
   * codec's graceful-shutdown wait is 0.) Call on the connection's event loop.
   */
  static void goAway(Channel connection) {
    connection.attr(DRAINING).set(Boolean.TRUE);
    if (connection.attr(STREAMS).get().isEmpty()) {
      connection.close();
    } else {
      connection.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR));
    }
  }

  /**
   * Runs {@code action} on each open stream of an HTTP/2 connection (none for another connection).
   * Call on the connection's event loop.
   */
  static void eachStream(Channel connection, Consumer<Channel> action) {
    Set<Channel> streams = connection.attr(STREAMS).get();
    if (streams != null) {
      List.copyOf(streams).forEach(action); // a copy: the action may close streams
    }
  }

  static void configure(ChannelPipeline p, int maxHeaderSize, RequestHandlerFactory handlers, String scheme,
      ClientIdentity identity) {
    if (p.get(PipelineNames.TIMEOUTS) instanceof ClientTimeoutHandler timeouts) {
      timeouts.http2(); // streams have no header phase here; the connection's idle timeout stays
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
    Set<Channel> streams = new HashSet<>(); // only touched on the connection's event loop
    p.channel().attr(STREAMS).set(streams);
    p.addLast(PipelineNames.H2_MULTIPLEX, new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
      @Override
      protected void initChannel(Http2StreamChannel ch) {
        streams.add(ch);
        ch.closeFuture().addListener(f -> {
          streams.remove(ch);
          if (streams.isEmpty() && Boolean.TRUE.equals(ch.parent().attr(DRAINING).get())) {
            ch.parent().close();
          }
        });
        // The PROXY protocol source was recorded on the connection.
        String proxied = ch.parent().attr(ClientIdentity.PROXIED_SOURCE).get();
        if (proxied != null) {
          ch.attr(ClientIdentity.PROXIED_SOURCE).set(proxied);
        }
        ch.pipeline().addLast(PipelineNames.H2_EXTENDED_CONNECT, new ExtendedConnectHandler());
        ch.pipeline().addLast(PipelineNames.H2_STREAM_TO_HTTP, new Http2StreamFrameToHttpObjectCodec(true));
        ch.pipeline().addLast(PipelineNames.EXCHANGE, handlers.newHandler(scheme, identity));
      }
    }));
  }
}
