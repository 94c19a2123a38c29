package io.sluice.soak;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
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
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The soak's model server: streams chat-completion chunks and fails on request. The client
 * plans every stream and tells the server through request headers (which the gateway forwards
 * unchanged):
 *
 * <ul>
 *   <li>{@code x-soak-tokens: N} — content chunks {@code t0 … t(N-1)}, then {@code [DONE]};
 *   <li>{@code x-soak-interval-ms: M} — pause between chunks, 0 = as fast as the connection takes them;
 *   <li>{@code x-soak-fault: reset|stall} with {@code x-soak-fault-at: K} — after K chunks, a TCP
 *       reset, or silence (the gateway's {@code stream-idle-timeout} has to end it).
 * </ul>
 *
 * <p>It counts generations as a model server would see them: started, finished, failed on
 * purpose, and cancelled (the gateway closed the connection before the end) — and how many are
 * running now, which must be 0 when the soak is over.
 *
 * <p>Backpressure: unpaced chunks are written only while the connection is writable, in small
 * batches, so a slow gateway pauses this server the way it pauses a real one.
 */
final class SoakUpstream implements AutoCloseable {
  private static final int BATCH = 32;

  final LongAdder started = new LongAdder();
  final LongAdder finished = new LongAdder();
  final LongAdder resets = new LongAdder();
  final LongAdder stalls = new LongAdder();
  final LongAdder cancelled = new LongAdder();
  final LongAdder chunks = new LongAdder();
  final AtomicInteger running = new AtomicInteger();
  /** Stalled connections the gateway has not closed yet (its stream-idle-timeout must). */
  final AtomicInteger stalledOpen = new AtomicInteger();

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel server;

  SoakUpstream() throws InterruptedException {
    server = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1024 * 1024), new Handler());
          }
        })
        .bind("127.0.0.1", 0).sync().channel();
  }

  String url() {
    return "http://127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** One connection; at most one generation at a time (HTTP/1.1 from the gateway's pool). */
  private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private Generation current;
    private boolean stalled;

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
      if (req.uri().startsWith("/health")) {
        FullHttpResponse ok = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
            Unpooled.EMPTY_BUFFER);
        ok.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        ctx.writeAndFlush(ok);
        return;
      }
      int tokens = req.headers().getInt("x-soak-tokens", 10);
      int interval = req.headers().getInt("x-soak-interval-ms", 0);
      String fault = req.headers().get("x-soak-fault", "none");
      int faultAt = req.headers().getInt("x-soak-fault-at", -1);
      current = new Generation(ctx, tokens, interval, fault, faultAt);
      started.increment();
      running.incrementAndGet();
      HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
      head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
          .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      ctx.writeAndFlush(head);
      current.next();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable() && current != null && current.interval == 0) {
        current.next();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (stalled) {
        stalledOpen.decrementAndGet();
      }
      if (current != null) {
        current.end(cancelled); // closed by the gateway before the generation ended
      }
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // a reset from the gateway side; channelInactive accounts for it
    }

    private final class Generation {
      final ChannelHandlerContext ctx;
      final int tokens;
      final int interval;
      final String fault;
      final int faultAt;
      int sent;
      boolean ended;
      boolean scheduled;

      Generation(ChannelHandlerContext ctx, int tokens, int interval, String fault, int faultAt) {
        this.ctx = ctx;
        this.tokens = tokens;
        this.interval = interval;
        this.fault = fault;
        this.faultAt = faultAt;
      }

      /** Sends what may be sent now: one paced chunk, or a batch while writable. */
      void next() {
        scheduled = false;
        int batch = interval > 0 ? 1 : BATCH;
        while (!ended && batch-- > 0 && ctx.channel().isActive() && (interval > 0 || ctx.channel().isWritable())) {
          if (sent == faultAt && !fault.equals("none")) {
            ctx.flush(); // the chunks before the fault are sent (a reset may still lose them in flight)
            injectFault();
            return;
          }
          if (sent == tokens) {
            ctx.write(chunk("data: [DONE]\n\n"));
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            end(finished);
            return;
          }
          ctx.write(chunk("data: {\"id\":\"soak\",\"object\":\"chat.completion.chunk\",\"model\":\"soak\","
              + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t" + sent + " \"}}]}\n\n"));
          sent++;
          chunks.increment();
        }
        ctx.flush();
        if (ended || !ctx.channel().isActive() || scheduled) {
          return;
        }
        if (interval > 0) {
          scheduled = true;
          ctx.executor().schedule(this::next, interval, TimeUnit.MILLISECONDS);
        } else if (ctx.channel().isWritable()) {
          scheduled = true;
          ctx.executor().execute(this::next); // yield to the other connections between batches
        } // else: channelWritabilityChanged resumes
      }

      private void injectFault() {
        if (fault.equals("reset")) {
          end(resets);
          ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
          ctx.close();
        } else { // stall: say nothing more; the gateway's stream-idle-timeout must end it
          stalled = true;
          stalledOpen.incrementAndGet();
          end(stalls);
        }
      }

      void end(LongAdder how) {
        if (ended) {
          return;
        }
        ended = true;
        how.increment();
        running.decrementAndGet();
        if (current == this) {
          current = null;
        }
      }

      private DefaultHttpContent chunk(String text) {
        ByteBuf bytes = ctx.alloc().buffer(text.length());
        bytes.writeCharSequence(text, StandardCharsets.US_ASCII);
        return new DefaultHttpContent(bytes);
      }
    }
  }
}
