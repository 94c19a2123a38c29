import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;

/**
 * The floor under any Netty proxy: a TCP relay that parses nothing — each read of one side is
 * written to the other and flushed when the read is done, with backpressure both ways — on one
 * epoll event loop, with Netty's pooled buffers, as Sluice runs. Under bench/run's paced load it
 * measures what the transport alone costs per event (an epoll wake-up, a read into a pooled
 * buffer, a pipeline pass, an outbound-buffer entry, a write), against which nginx's and Sluice's
 * figures can be read: Sluice's HTTP, SSE and usage work is the difference between it and this.
 *
 * <p>bench/run's target {@code floor} ({@code --only nginx,sluice,floor}) compiles and starts it
 * as Sluice is started, on core 0 with Sluice's java, {@code docker/jvm.options} and
 * {@code SLUICE_JVM_FLAGS}, {@code MALLOC_ARENA_MAX=2}, and the JIT warm-up Sluice gets; by hand:
 *
 * <pre>
 *   javac -nowarn -cp gateway-server/target/gateway.jar -d /tmp/floor bench/NettyFloor.java
 *   MALLOC_ARENA_MAX=2 taskset -c 0 java @docker/jvm.options -Xshare:off \
 *     -cp gateway-server/target/gateway.jar:/tmp/floor NettyFloor LISTEN_PORT UPSTREAM_PORT
 * </pre>
 *
 * <p>{@code -Xshare:off}: the jar's AppCDS archive, which {@code docker/jvm.options} maps, is recorded
 * for {@code -jar gateway.jar} only. Ready when {@code GET /v1/models} through it answers (relayed
 * to the mock like any request).
 *
 * <p>Not a product: no HTTP (a client connection is one upstream connection, its requests and
 * answers piped byte for byte — the mock's keep-alive makes that a valid HTTP relay), no timeouts.
 */
public final class NettyFloor {
  /**
   * Sluice's allocator (its {@code Transport.ALLOCATOR}), not Netty 4.2's default adaptive one, so
   * that the floor's buffers cost what Sluice's do and only the work on them differs.
   */
  private static final PooledByteBufAllocator ALLOCATOR = PooledByteBufAllocator.DEFAULT;

  public static void main(String[] args) throws Exception {
    int listen = Integer.parseInt(args[0]);
    int upstreamPort = Integer.parseInt(args[1]);
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    Bootstrap upstream = new Bootstrap().group(loop).channel(EpollSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true).option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.ALLOCATOR, ALLOCATOR);
    new ServerBootstrap().group(loop).channel(EpollServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 4096)
        .childOption(ChannelOption.TCP_NODELAY, true).childOption(ChannelOption.AUTO_READ, false)
        .childOption(ChannelOption.ALLOCATOR, ALLOCATOR)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel client) {
            upstream.clone(client.eventLoop()).handler(new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel up) {
                Pipe toClient = new Pipe(client);
                up.pipeline().addLast(toClient);
                client.pipeline().addLast(new Pipe(up));
              }
            }).connect("127.0.0.1", upstreamPort).addListener((ChannelFutureListener) f -> {
              if (f.isSuccess()) {
                client.config().setAutoRead(true);
                f.channel().config().setAutoRead(true);
              } else {
                client.close();
              }
            });
          }
        }).bind("127.0.0.1", listen).sync();
    System.out.println("netty floor on " + listen + " -> " + upstreamPort);
    Thread.currentThread().join();
  }

  /** Relays what its channel reads to {@code peer}; stops reading while the peer cannot take more. */
  static final class Pipe extends ChannelInboundHandlerAdapter {
    private final Channel peer;
    private boolean wrote;

    Pipe(Channel peer) {
      this.peer = peer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      peer.write(msg, peer.voidPromise());
      wrote = true;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (wrote) {
        wrote = false;
        peer.flush();
        if (!peer.isWritable()) {
          ctx.channel().config().setAutoRead(false);
        }
      }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      // this channel drained: its peer's reads may resume
      peer.config().setAutoRead(ctx.channel().isWritable());
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      peer.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
