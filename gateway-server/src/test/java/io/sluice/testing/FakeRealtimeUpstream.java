package io.sluice.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A realtime model server for WebSocket tests, built on Netty's raw frame codec (no
 * {@code WebSocketServerProtocolHandler}, no aggregation, no compression handler) so a test sees
 * every frame as the gateway sent it: fragments, RSV bits, control frames. It answers upgrades as
 * told ({@link #accept}, {@link #refuse}) and sends frames only when the test says so.
 */
public final class FakeRealtimeUpstream implements UpstreamFake {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final BlockingQueue<Session> sessions = new LinkedBlockingQueue<>();
  // Every accepted connection, closed (and waited for) before the event loop shuts down: a
  // connection still holding unsent frames (a flood the gateway stopped reading) releases them when
  // it closes on a running loop; closed by the loop's shutdown instead, a close that Netty defers
  // while a flush is under way never runs, and the frames' buffers leak.
  private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final AtomicInteger connections = new AtomicInteger();
  private final Channel server;
  private volatile String protocol;
  private volatile String extensions;
  private volatile int refuseStatus;
  private volatile String refuseBody;
  private volatile boolean garbage;

  private final boolean tls;

  private FakeRealtimeUpstream(SslContext sslContext) throws InterruptedException {
    this.tls = sslContext != null;
    server = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            connections.incrementAndGet();
            children.add(ch);
            if (sslContext != null) {
              ch.pipeline().addLast(sslContext.newHandler(ch.alloc()));
            }
            ch.pipeline().addLast("codec", new HttpServerCodec());
            ch.pipeline().addLast("aggregator", new HttpObjectAggregator(64 * 1024));
            ch.pipeline().addLast("handler", new Handler());
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
  }

  public static FakeRealtimeUpstream start() throws InterruptedException {
    return new FakeRealtimeUpstream(null);
  }

  /** A {@code wss} server presenting {@code certificate} (its URL is {@code https://localhost:PORT}). */
  public static FakeRealtimeUpstream startTls(TestPki.Issued certificate) throws Exception {
    return new FakeRealtimeUpstream(SslContextBuilder
        .forServer(certificate.key(), certificate.certificate(), certificate.issuer()).build());
  }

  @Override
  public String url() {
    return tls ? "https://localhost:" + port() : "http://127.0.0.1:" + port();
  }

  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** Connections accepted so far. */
  public int connections() {
    return connections.get();
  }

  /** Upgrades from now on are accepted choosing this subprotocol and these extensions (null = none). */
  public FakeRealtimeUpstream accept(String protocol, String extensions) {
    this.refuseStatus = 0;
    this.protocol = protocol;
    this.extensions = extensions;
    return this;
  }

  /** Upgrades from now on are refused with this status and JSON body. */
  public FakeRealtimeUpstream refuse(int status, String body) {
    this.refuseStatus = status;
    this.refuseBody = body;
    return this;
  }

  /** Upgrades from now on get a 101 whose Sec-WebSocket-Accept is wrong. */
  public FakeRealtimeUpstream answerGarbage() {
    this.garbage = true;
    return this;
  }

  /** The next upgrade that reached this server (waits up to 10 s). */
  public Session next() throws InterruptedException {
    Session s = sessions.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    if (s == null) {
      throw new AssertionError("no WebSocket upgrade reached the fake upstream within " + WAIT);
    }
    return s;
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    children.close().awaitUninterruptibly(WAIT.toMillis());
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  static String accept(String key) {
    try {
      byte[] sha1 = MessageDigest.getInstance("SHA-1")
          .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(sha1);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private final class Handler extends ChannelInboundHandlerAdapter {
    private Session session;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof WebSocketFrame frame) {
        session.frames.add(WsFrame.of(frame));
        return;
      }
      if (!(msg instanceof FullHttpRequest req)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      try {
        session = new Session(ctx.channel(), req.uri(), req.headers().copy());
      } finally {
        req.release();
      }
      if (refuseStatus != 0) {
        FullHttpResponse refusal = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(refuseStatus), Unpooled.copiedBuffer(refuseBody, StandardCharsets.UTF_8));
        refusal.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
            .setInt(HttpHeaderNames.CONTENT_LENGTH, refusal.content().readableBytes());
        sessions.add(session);
        ctx.writeAndFlush(refusal);
        return;
      }
      FullHttpResponse ok = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
      ok.headers().set(HttpHeaderNames.UPGRADE, "websocket").set(HttpHeaderNames.CONNECTION, "Upgrade")
          .set(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT,
              garbage ? "bm90IHRoZSByaWdodCBhbnN3ZXI=" : accept(session.headers.get(HttpHeaderNames.SEC_WEBSOCKET_KEY)));
      if (protocol != null) {
        ok.headers().set(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL, protocol);
      }
      if (extensions != null) {
        ok.headers().set(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS, extensions);
      }
      ctx.pipeline().remove("aggregator");
      ctx.pipeline().addBefore("codec", "ws-encoder", new WebSocket08FrameEncoder(false));
      ctx.pipeline().addBefore("codec", "ws-decoder", new WebSocket08FrameDecoder(WsFrame.rawDecoder(true)));
      ctx.writeAndFlush(ok).addListener(f -> {
        ctx.pipeline().remove("codec");
        sessions.add(session);
      });
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** One upgraded (or refused) connection from the gateway. */
  public static final class Session {
    public final String uri;
    public final HttpHeaders headers;
    private final Channel channel;
    private final BlockingQueue<WsFrame> frames = new LinkedBlockingQueue<>();
    private final AtomicLong bytesWritten = new AtomicLong();

    Session(Channel channel, String uri, HttpHeaders headers) {
      this.channel = channel;
      this.uri = uri;
      this.headers = headers;
    }

    /** Sends a frame and waits until it was written. */
    public Session send(WebSocketFrame frame) {
      await(channel.writeAndFlush(frame));
      return this;
    }

    /** The next frame received (waits up to 10 s). */
    public WsFrame next() throws InterruptedException {
      WsFrame f = frames.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      if (f == null) {
        throw new AssertionError("no frame reached the fake upstream within " + WAIT);
      }
      return f;
    }

    /** A frame that arrived and was not taken yet, or null. */
    public WsFrame poll() {
      return frames.poll();
    }

    public boolean awaitClosed(Duration timeout) {
      return channel.closeFuture().awaitUninterruptibly(timeout.toMillis());
    }

    public void close() {
      await(channel.close());
    }

    /**
     * Offers {@code total} bytes of binary frames as fast as the connection takes them: a frame is
     * written only while the channel is writable, so {@link #bytesWritten} counts what the gateway
     * really read (plus socket buffers), not what piled up in this process.
     */
    public CompletableFuture<Void> flood(long total, int frameSize) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      byte[] payload = new byte[frameSize];
      Runnable pump = () -> {
        while (channel.isActive() && channel.isWritable() && bytesWritten.get() < total) {
          bytesWritten.addAndGet(payload.length);
          channel.writeAndFlush(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(payload)));
        }
        if (bytesWritten.get() >= total || !channel.isActive()) {
          done.complete(null);
        }
      };
      channel.eventLoop().execute(() -> {
        channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
          @Override
          public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
              pump.run();
            }
            ctx.fireChannelWritabilityChanged();
          }
        });
        pump.run();
      });
      return done;
    }

    public long bytesWritten() {
      return bytesWritten.get();
    }

    private static void await(ChannelFuture f) {
      if (!f.awaitUninterruptibly(WAIT.toMillis())) {
        throw new AssertionError("write did not complete within " + WAIT);
      }
    }
  }
}
