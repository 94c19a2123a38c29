package io.sluice.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An HTTP/2 WebSocket client for tests (RFC 8441), on Netty's own HTTP/2 client codec: it opens
 * one connection (h2c with prior knowledge, or TLS with ALPN {@code h2}), records the server's
 * SETTINGS, and opens streams with an extended CONNECT. After a {@code 200}, WebSocket frames go
 * in the stream's DATA frames, masked as a client's must be; nothing is answered automatically.
 */
public final class H2WsClient implements AutoCloseable {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final CompletableFuture<Http2Settings> settings = new CompletableFuture<>();
  private final int port;
  private final boolean tls;
  private final List<Stream> streams = new CopyOnWriteArrayList<>();
  private Channel connection;

  private H2WsClient(int port, boolean tls) {
    this.port = port;
    this.tls = tls;
  }

  /** h2c with prior knowledge. */
  public static H2WsClient connect(int port) throws Exception {
    H2WsClient c = new H2WsClient(port, false);
    c.open(null);
    return c;
  }

  /** TLS, ALPN {@code h2} only, trusting {@code ca}. */
  public static H2WsClient connectTls(int port, X509Certificate ca) throws Exception {
    H2WsClient c = new H2WsClient(port, true);
    c.open(SslContextBuilder.forClient().trustManager(ca)
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
        .build());
    return c;
  }

  private void open(SslContext ssl) throws Exception {
    connection = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            if (ssl != null) {
              ch.pipeline().addLast(ssl.newHandler(ch.alloc(), "localhost", port));
            }
            ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().initialSettings(Http2Settings.defaultSettings())
                .build());
            ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2SettingsFrame s) {
                  settings.complete(s.settings());
                }
                ReferenceCountUtil.release(msg);
              }
            });
          }
        })
        .connect("127.0.0.1", port).sync().channel();
  }

  /** The server's first SETTINGS frame. */
  public Http2Settings serverSettings() throws Exception {
    return settings.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Opens a stream with an extended CONNECT ({@code :protocol websocket}) for {@code path} and
   * waits for the answer; {@code headers} are {@code "name: value"} lines.
   */
  public Stream connect(String path, String... headers) throws Exception {
    return open(HttpMethodHeaders.connect(tls ? "https" : "http", "127.0.0.1:" + port, path), headers);
  }

  /**
   * Like {@link #connect}, but sends {@code first} in a DATA frame right behind the HEADERS, before
   * the answer — as a client that does not wait for the {@code 200} does.
   */
  public Stream connectEagerly(String path, WebSocketFrame first) throws Exception {
    EmbeddedChannel encoder = new EmbeddedChannel(
        new WebSocket08FrameEncoder(true));
    encoder.writeOutbound(first);
    ByteBuf bytes = Unpooled.buffer();
    for (ByteBuf part; (part = encoder.readOutbound()) != null; ) {
      bytes.writeBytes(part);
      part.release();
    }
    encoder.finishAndReleaseAll();
    return open(HttpMethodHeaders.connect(tls ? "https" : "http", "127.0.0.1:" + port, path), bytes);
  }

  /** Opens a stream with these request headers (pseudo-headers included) and waits for the answer. */
  public Stream open(Http2Headers request, String... headers) throws Exception {
    return open(request, null, headers);
  }

  private Stream open(Http2Headers request, ByteBuf early, String... headers) throws Exception {
    serverSettings(); // RFC 8441 §4: not before the server said it takes extended CONNECT
    Stream stream = new Stream();
    Http2StreamChannel ch = new Http2StreamChannelBootstrap(connection).handler(stream.handler).open()
        .get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    stream.channel = ch;
    streams.add(stream);
    for (String h : headers) {
      int colon = h.indexOf(':');
      request.set(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
    }
    ch.write(new DefaultHttp2HeadersFrame(request, false));
    if (early != null) {
      ch.write(new DefaultHttp2DataFrame(early, false));
    }
    ch.flush();
    stream.answer.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    return stream;
  }

  public boolean awaitClosed(Duration timeout) {
    return connection.closeFuture().awaitUninterruptibly(timeout.toMillis());
  }

  @Override
  public void close() {
    // Streams first, each on its own: what they hold (queued frames, partial frames) is released.
    streams.forEach(s -> s.channel.close().awaitUninterruptibly());
    connection.close().awaitUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Request headers for an extended CONNECT. */
  public static final class HttpMethodHeaders {
    private HttpMethodHeaders() {}

    public static Http2Headers connect(String scheme, String authority, String path) {
      Http2Headers h = new DefaultHttp2Headers();
      h.method("CONNECT").scheme(scheme).authority(authority).path(path);
      h.set(Http2Headers.PseudoHeaderName.PROTOCOL.value(), "websocket");
      h.set("sec-websocket-version", "13");
      return h;
    }
  }

  /** One stream: its answer, then the WebSocket frames received on it. */
  public static final class Stream {
    private final BlockingQueue<WsFrame> frames = new LinkedBlockingQueue<>();
    private final CompletableFuture<Http2Headers> answer = new CompletableFuture<>();
    private final CompletableFuture<String> body = new CompletableFuture<>();
    private final StringBuilder bodyText = new StringBuilder();
    private final CompletableFuture<Boolean> ended = new CompletableFuture<>();
    private volatile Http2Error reset;
    private Http2StreamChannel channel;
    private Http2Headers headers;

    private final ChannelInboundHandlerAdapter handler = new ChannelInboundHandlerAdapter() {
      @Override
      public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame h && headers == null) {
          headers = h.headers();
          if ("200".contentEquals(h.headers().status())) {
            ctx.pipeline().addBefore(ctx.name(), "bytes", new DataFrameBytes(Stream.this));
            ctx.pipeline().addBefore(ctx.name(), "ws-encoder", new WebSocket08FrameEncoder(true));
            ctx.pipeline().addBefore(ctx.name(), "ws-decoder", new WebSocket08FrameDecoder(WsFrame.rawDecoder(false)));
          } else if (h.isEndStream()) {
            body.complete("");
            ended.complete(true);
          }
          answer.complete(h.headers());
          return;
        }
        if (msg instanceof WebSocketFrame f) {
          frames.add(WsFrame.of(f));
          return;
        }
        if (msg instanceof Http2DataFrame data) { // the body of a refusal
          bodyText.append(data.content().toString(StandardCharsets.UTF_8));
          if (data.isEndStream()) {
            body.complete(bodyText.toString());
            ended.complete(true);
          }
        }
        ReferenceCountUtil.release(msg);
      }

      @Override
      public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2ResetFrame r) {
          reset = Http2Error.valueOf(r.errorCode());
        }
        ctx.fireUserEventTriggered(evt);
      }

      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
      }
    };

    /** The answer's {@code :status}. */
    public int status() {
      return Integer.parseInt(headers.status().toString());
    }

    public String header(String name) {
      CharSequence v = headers.get(name);
      return v == null ? null : v.toString();
    }

    /** The body of a non-200 answer. */
    public String body() throws Exception {
      return body.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    public Stream send(WebSocketFrame frame) {
      if (!channel.writeAndFlush(frame).awaitUninterruptibly(WAIT.toMillis())) {
        throw new AssertionError("write did not complete within " + WAIT);
      }
      return this;
    }

    /** Stops (false) or resumes (true) reading the stream: its flow-control window stays shut. */
    public void reading(boolean on) {
      channel.config().setAutoRead(on);
    }

    /** Ends the client's side of the stream (END_STREAM): its TCP FIN. */
    public void endStream() {
      channel.writeAndFlush(new DefaultHttp2DataFrame(true)).awaitUninterruptibly(WAIT.toMillis());
    }

    /** Resets the stream (RST_STREAM CANCEL), as a client that goes away does. */
    public void reset() {
      channel.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL)).awaitUninterruptibly(WAIT.toMillis());
    }

    public WsFrame next() throws InterruptedException {
      WsFrame f = frames.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      if (f == null) {
        throw new AssertionError("no frame reached the client within " + WAIT);
      }
      return f;
    }

    /** Whether the server ended its side with END_STREAM within the timeout. */
    public boolean awaitEndStream(Duration timeout) throws Exception {
      try {
        return ended.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        return false;
      }
    }

    /** The stream's channel closed (both ends done, or a reset). */
    public boolean awaitClosed(Duration timeout) {
      return channel.closeFuture().awaitUninterruptibly(timeout.toMillis());
    }

    /** The error code of a RST_STREAM the server sent, or null. */
    public Http2Error resetCode() {
      return reset;
    }
  }

  /** Between DATA frames and the bytes the WebSocket codec reads and writes. */
  private static final class DataFrameBytes extends ChannelDuplexHandler {
    private final Stream stream;

    DataFrameBytes(Stream stream) {
      this.stream = stream;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Http2DataFrame data) {
        if (data.isEndStream()) {
          stream.ended.complete(true);
        }
        if (data.content().isReadable()) {
          ctx.fireChannelRead(data.content());
        } else {
          data.release();
        }
        return;
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      ctx.write(msg instanceof ByteBuf b ? new DefaultHttp2DataFrame(b, false) : msg, promise);
    }
  }
}
