package io.sluice.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A WebSocket client for tests on Netty's raw frame codec: it sends the upgrade by hand (so it can
 * offer any extension), then sends and receives frames exactly as given — fragments, RSV bits and
 * control frames included, nothing answered automatically.
 */
public final class WsClient implements AutoCloseable {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final BlockingQueue<WsFrame> frames = new LinkedBlockingQueue<>();
  private final CompletableFuture<FullHttpResponse> answer = new CompletableFuture<>();
  private Channel channel;
  private int status;
  private HttpHeaders responseHeaders;
  private String responseBody;

  private WsClient() {}

  /** Upgrades {@code path} on the gateway; {@code headers} are {@code "Name: value"} lines. */
  public static WsClient connect(int port, String path, String... headers) throws Exception {
    return connect(port, path, 0, headers);
  }

  /** @param receiveBuffer the socket's SO_RCVBUF (0 = the system's), small for slow-reader tests */
  public static WsClient connect(int port, String path, int receiveBuffer, String... headers) throws Exception {
    WsClient c = new WsClient();
    c.open(port, path, receiveBuffer, headers);
    return c;
  }

  private void open(int port, String path, int receiveBuffer, String... headers) throws Exception {
    Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast("codec", new HttpClientCodec());
            ch.pipeline().addLast("aggregator", new HttpObjectAggregator(1024 * 1024));
            ch.pipeline().addLast("handler", new Handler());
          }
        });
    if (receiveBuffer > 0) {
      b.option(ChannelOption.SO_RCVBUF, receiveBuffer);
    }
    channel = b.connect("127.0.0.1", port).sync().channel();
    byte[] nonce = new byte[16];
    ThreadLocalRandom.current().nextBytes(nonce);
    FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
    req.headers().set(HttpHeaderNames.HOST, "127.0.0.1:" + port)
        .set(HttpHeaderNames.UPGRADE, "websocket")
        .set(HttpHeaderNames.CONNECTION, "Upgrade")
        .set(HttpHeaderNames.SEC_WEBSOCKET_KEY, Base64.getEncoder().encodeToString(nonce))
        .set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
    for (String h : headers) {
      int colon = h.indexOf(':');
      req.headers().add(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
    }
    channel.writeAndFlush(req);
    answer.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The gateway's answer to the upgrade: 101, or an error. */
  public int status() {
    return status;
  }

  public String header(String name) {
    return responseHeaders.get(name);
  }

  public String body() {
    return responseBody;
  }

  public WsClient send(WebSocketFrame frame) {
    if (!channel.writeAndFlush(frame).awaitUninterruptibly(WAIT.toMillis())) {
      throw new AssertionError("write did not complete within " + WAIT);
    }
    return this;
  }

  /** The next frame received (waits up to 10 s). */
  public WsFrame next() throws InterruptedException {
    return next(WAIT);
  }

  public WsFrame next(Duration wait) throws InterruptedException {
    WsFrame f = frames.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
    if (f == null) {
      throw new AssertionError("no frame reached the client within " + wait);
    }
    return f;
  }

  /** Stops (false) or resumes (true) reading from the socket: a slow reader. */
  public void reading(boolean on) {
    channel.config().setAutoRead(on);
  }

  public boolean awaitClosed(Duration timeout) {
    return channel.closeFuture().awaitUninterruptibly(timeout.toMillis());
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private final class Handler extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof WebSocketFrame frame) {
        frames.add(WsFrame.of(frame));
        return;
      }
      if (msg instanceof FullHttpResponse response) {
        status = response.status().code();
        responseHeaders = response.headers().copy();
        responseBody = response.content().toString(StandardCharsets.UTF_8);
        response.release();
        if (status == 101) {
          ctx.pipeline().remove("aggregator");
          ctx.pipeline().addAfter("codec", "ws-decoder", new WebSocket08FrameDecoder(WsFrame.rawDecoder(false)));
          ctx.pipeline().addAfter("codec", "ws-encoder", new WebSocket08FrameEncoder(true));
          HttpClientCodec codec = ctx.pipeline().get(HttpClientCodec.class);
          codec.removeOutboundHandler();
          ctx.channel().eventLoop().execute(() -> ctx.pipeline().remove(codec));
        }
        answer.complete(response);
        return;
      }
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // a reset after the gateway closed: the test looks at frames and closes
    }
  }
}
