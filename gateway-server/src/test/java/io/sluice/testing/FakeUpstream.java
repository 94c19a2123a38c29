package io.sluice.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A model server the test drives step by step: every request it receives waits in a queue until
 * the test takes it ({@link #next}) and says what to answer, event by event. Nothing is timed:
 * the next event goes out when the test sends it, so tests never race a pacing interval.
 */
public final class FakeUpstream implements UpstreamFake {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final BlockingQueue<Call> calls = new LinkedBlockingQueue<>();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger resetOnAccept = new AtomicInteger();
  private final Channel server;

  private final boolean tls;

  private FakeUpstream() throws InterruptedException {
    this(null);
  }

  private FakeUpstream(SslContext sslContext) throws InterruptedException {
    this.tls = sslContext != null;
    server = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            connections.incrementAndGet();
            if (resetOnAccept.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
              ch.config().setOption(ChannelOption.SO_LINGER, 0);
              ch.close(); // an RST right after the accept, before any byte is read or written
              return;
            }
            if (sslContext != null) {
              ch.pipeline().addLast(sslContext.newHandler(ch.alloc()));
            }
            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(16 * 1024 * 1024),
                new SimpleChannelInboundHandler<FullHttpRequest>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                    calls.add(new Call(ctx.channel(), req.method().name(), req.uri(), req.headers().copy(),
                        req.content().toString(StandardCharsets.UTF_8)));
                  }
                });
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
  }

  public static FakeUpstream start() throws InterruptedException {
    return new FakeUpstream();
  }

  /** An HTTPS model server presenting {@code certificate} (its URL is {@code https://localhost:PORT}). */
  public static FakeUpstream startTls(TestPki.Issued certificate) throws Exception {
    return new FakeUpstream(SslContextBuilder
        .forServer(certificate.key(), certificate.certificate(), certificate.issuer()).build());
  }

  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  @Override
  public String url() {
    return tls ? "https://localhost:" + port() : "http://127.0.0.1:" + port();
  }

  /** The next {@code n} connections are reset as soon as they are accepted. */
  public void resetNextConnections(int n) {
    resetOnAccept.set(n);
  }

  /** Connections accepted so far. */
  public int connections() {
    return connections.get();
  }

  /** The next request that arrived (waits up to 10 s). */
  public Call next() throws InterruptedException {
    Call call = calls.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    if (call == null) {
      throw new AssertionError("no request reached the fake upstream within " + WAIT);
    }
    return call;
  }

  /** A request that arrived and did not get any other, or null. */
  public Call poll() {
    return calls.poll();
  }

  /** The next request, waiting up to {@code timeout} for one; null when none came. */
  public Call poll(Duration timeout) throws InterruptedException {
    return calls.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Answers every request with {@code answer}, from a thread of its own, until the handle is
   * closed: a fake model that keeps up with back-to-back requests.
   */
  public Answering answerEach(Consumer<Call> answer) {
    Answering a = new Answering(this, answer);
    a.thread.start();
    return a;
  }

  /** The thread of {@link #answerEach}; closing it stops the answers (after the one in hand). */
  public static final class Answering implements AutoCloseable {
    private final Thread thread;
    private volatile boolean stop;

    private Answering(FakeUpstream upstream, Consumer<Call> answer) {
      thread = new Thread(() -> {
        while (!stop) {
          Call call;
          try {
            call = upstream.poll(Duration.ofMillis(50));
          } catch (InterruptedException e) {
            return;
          }
          if (call != null) {
            answer.accept(call);
          }
        }
      }, "fake-model");
      thread.setDaemon(true);
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.join(5_000);
    }
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** One request the fake received, and the means to answer it. */
  public static final class Call {
    private final Channel channel;
    public final String method;
    public final String uri;
    public final HttpHeaders headers;
    public final String body;
    private final AtomicLong bytesWritten = new AtomicLong();

    Call(Channel channel, String method, String uri, HttpHeaders headers, String body) {
      this.channel = channel;
      this.method = method;
      this.uri = uri;
      this.headers = headers;
      this.body = body;
    }

    /** Starts a chunked {@code text/event-stream} response (headers only). */
    public Call startSse() {
      return start(200, Map.of(HttpHeaderNames.CONTENT_TYPE.toString(), "text/event-stream"));
    }

    /** Starts a chunked response with these headers. */
    public Call start(int status, Map<String, String> headers) {
      HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
      headers.forEach(response.headers()::set);
      response.headers().set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      await(channel.writeAndFlush(response));
      return this;
    }

    /**
     * A whole chunked {@code text/event-stream} answer — head, these events, end — in one flush
     * (one send on the socket: a gateway reads it whole, as a fast model's short answer).
     */
    public void respondSseAtOnce(String events) {
      HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
          .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      ByteBuf bytes = Unpooled.copiedBuffer(events, StandardCharsets.UTF_8);
      int n = bytes.readableBytes();
      channel.write(response);
      channel.write(new DefaultHttpContent(bytes));
      await(channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT));
      bytesWritten.addAndGet(n);
    }

    /** Sends bytes of the body and waits until they are on the wire. */
    public Call send(String text) {
      ByteBuf bytes = Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
      int n = bytes.readableBytes();
      await(channel.writeAndFlush(new DefaultHttpContent(bytes)));
      bytesWritten.addAndGet(n);
      return this;
    }

    /** Sends these bytes of the body as one chunk (any bytes: a part of a UTF-8 character too). */
    public Call send(byte[] raw) {
      await(channel.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(raw))));
      bytesWritten.addAndGet(raw.length);
      return this;
    }

    /** Ends the chunked body. */
    public void end() {
      await(channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT));
    }

    /** A complete response with a {@code Content-Length}. */
    public void respond(int status, String contentType, String body) {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
          HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(bytes));
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType)
          .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
      await(channel.writeAndFlush(response));
    }

    /** Kills the connection with a TCP reset. */
    public void reset() {
      channel.config().setOption(ChannelOption.SO_LINGER, 0);
      await(channel.close());
    }

    /** Closes the connection (FIN) without ending the response. */
    public void close() {
      await(channel.close());
    }

    /** True once the gateway closed this connection (waits up to {@code timeout}). */
    public boolean awaitClosed(Duration timeout) {
      return channel.closeFuture().awaitUninterruptibly(timeout.toMillis());
    }

    /**
     * Offers {@code total} bytes of SSE events as fast as the connection takes them: an event is
     * written only while the channel is writable, so what {@link #bytesWritten} counts is what
     * the gateway really read (plus the socket buffers), not what piled up in this process.
     */
    public CompletableFuture<Void> flood(long total, int eventSize) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      byte[] payload = ("data: " + "x".repeat(eventSize - 8) + "\n\n").getBytes(StandardCharsets.US_ASCII);
      Runnable pump = new Runnable() {
        @Override
        public void run() {
          while (channel.isActive() && channel.isWritable() && bytesWritten.get() < total) {
            bytesWritten.addAndGet(payload.length);
            channel.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(payload)));
          }
          if (bytesWritten.get() >= total) {
            channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
                .addListener(f -> done.complete(null));
          } else if (!channel.isActive()) {
            done.complete(null);
          }
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

    /** Body bytes handed to the connection so far. */
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
