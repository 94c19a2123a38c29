package io.sluice.net;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event loops and channel types the gateway runs on: native epoll when it loads, NIO otherwise.
 *
 * <p>Threading: one acceptor thread, and {@code io-threads} worker loops shared by client and
 * upstream channels, so that an exchange's two legs live on one loop and never need locks.
 *
 * <p>Memory: every channel allocates from {@link #ALLOCATOR}, Netty's pooled direct allocator,
 * chosen on purpose rather than 4.2's default adaptive one: its arenas and thread caches are
 * well understood and it reports used memory exactly, which is what the memory figures in the
 * docs and the {@code netty_allocator_*} metrics are measured against.
 *
 * <p>Failure: when epoll does not load on Linux (most often: no writable {@code java.io.tmpdir} to
 * unpack it into), the gateway still runs, on NIO, and says so with a WARN at start — a silent
 * fallback would leave an operator measuring a different gateway than the benchmarks did.
 */
public final class Transport implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Transport.class);

  /** The allocator of every channel, client and upstream side alike. */
  public static final ByteBufAllocator ALLOCATOR = PooledByteBufAllocator.DEFAULT;

  /**
   * How client and upstream channels size their reads: Netty's adaptive default (64 B to 64 KiB,
   * up to 16 reads per wake-up, what Netty sets for stream channels), as one shared instance. The
   * guess itself lives in each channel's handle; Netty would otherwise give every channel its own
   * copy of these settings, 64 bytes per connection kept for its whole life (two per held stream,
   * gateway-server/docs/memory.md).
   */
  public static final RecvByteBufAllocator RECV_ALLOCATOR = new AdaptiveRecvByteBufAllocator().maxMessagesPerRead(16);

  private final boolean epoll;
  private final EventLoopGroup acceptors;
  private final EventLoopGroup workers;

  private Transport(boolean epoll, int ioThreads) {
    this.epoll = epoll;
    IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    int threads = ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
    this.acceptors = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sluice-accept"), factory);
    this.workers = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("sluice-io"), factory);
  }

  /** @param ioThreads worker loops; 0 = one per core */
  public static Transport create(int ioThreads) {
    boolean nioChosen = Boolean.getBoolean("sluice.nio");
    boolean epoll = Epoll.isAvailable() && !nioChosen;
    if (!epoll && !nioChosen) {
      String message = NativeFallback.message("Netty's native epoll transport", "NIO", Epoll.unavailabilityCause(),
          NativeFallback.workdir(), "-Dsluice.nio=true");
      if (NativeFallback.expectedToLoad(System.getProperty("os.name"))) {
        log.warn(message);
      } else {
        log.info("epoll is Linux-only; running on NIO");
      }
    }
    return new Transport(epoll, ioThreads);
  }

  public String name() {
    return epoll ? "epoll" : "nio";
  }

  public EventLoopGroup acceptors() {
    return acceptors;
  }

  public EventLoopGroup workers() {
    return workers;
  }

  public Class<? extends ServerChannel> serverChannelType() {
    return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
  }

  public Class<? extends SocketChannel> socketChannelType() {
    return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
  }

  public Class<? extends DatagramChannel> datagramChannelType() {
    return epoll ? EpollDatagramChannel.class : NioDatagramChannel.class;
  }

  @Override
  public void close() {
    acceptors.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
