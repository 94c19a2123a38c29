package io.sluice.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.sluice.config.LimitsConfig;
import io.sluice.config.ListenerConfig;
import io.sluice.exchange.GatewayContext;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-facing listeners. Binding is all-or-nothing: if one port cannot be bound, the ones
 * already bound are closed and the failure is thrown.
 *
 * <p>Backpressure: client channels use a 32–64 KiB write-buffer watermark; above it the relay
 * stops reading from the upstream (see {@code ProxyCall}).
 */
public final class GatewayServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GatewayServer.class);
  /** Outbound bytes a slow client may have queued before the upstream is paused. */
  public static final WriteBufferWaterMark CLIENT_WATERMARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

  /** How often TLS listeners look at their certificate and key files' modification times. */
  static final long TLS_RELOAD_POLL_SECONDS = 5;

  private final Transport transport;
  private final Map<String, Channel> bound = new LinkedHashMap<>();
  private final List<ConnectionLimiter> limiters = new ArrayList<>();
  private final Map<String, ServerTls> tls = new LinkedHashMap<>();
  private io.netty.util.concurrent.ScheduledFuture<?> tlsReload;

  public GatewayServer(Transport transport) {
    this.transport = transport;
  }

  /** Binds every listener; throws when a port cannot be bound. */
  public void start(List<ListenerConfig> listeners, LimitsConfig limits, Supplier<GatewayContext> contexts)
      throws InterruptedException, ListenException, javax.net.ssl.SSLException {
    try {
      for (ListenerConfig l : listeners) {
        ConnectionLimiter limiter = new ConnectionLimiter(limits.maxConnections(), limits.maxConnectionsPerIp());
        limiters.add(limiter);
        ServerTls serverTls = l.tls() == null ? null : ServerTls.create(l.name(), l.tls(), l.http2());
        if (serverTls != null) {
          tls.put(l.name(), serverTls);
        }
        ServerBootstrap b = new ServerBootstrap()
            .group(transport.acceptors(), transport.workers())
            .channel(transport.serverChannelType())
            .option(ChannelOption.SO_BACKLOG, 1024)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(ChannelOption.SO_KEEPALIVE, true)
            .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, CLIENT_WATERMARK)
            .childHandler(new GatewayInitializer(l, limiter, limits, contexts, serverTls));
        io.netty.channel.ChannelFuture bind = b.bind(l.host(), l.port()).await();
        if (!bind.isSuccess()) {
          throw new ListenException("listener '" + l.name() + "'", l.host(), l.port(), bind.cause());
        }
        Channel channel = bind.channel();
        bound.put(l.name(), channel);
        log.info("listener '{}' on {}://{}:{} ({})", l.name(), serverTls == null ? "http" : "https", l.host(),
            port(l.name()), transport.name());
      }
      if (!tls.isEmpty()) {
        // A stat per file every few seconds on the acceptor loop, never on a worker serving streams.
        tlsReload = transport.acceptors().next().scheduleWithFixedDelay(this::reloadTls,
            TLS_RELOAD_POLL_SECONDS, TLS_RELOAD_POLL_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      close();
      throw e;
    }
  }

  /**
   * Looks for changed certificate or key files now (it also happens every few seconds); new
   * connections use a reloaded certificate, open ones keep theirs.
   *
   * @return whether any listener switched to new files
   */
  public boolean reloadTls() {
    boolean any = false;
    for (ServerTls t : tls.values()) {
      any |= t.reloadIfChanged();
    }
    return any;
  }

  /** The port a listener is bound to (useful when it was configured as 0). */
  public int port(String listener) {
    return ((InetSocketAddress) bound.get(listener).localAddress()).getPort();
  }

  /** Stops accepting; open connections are not touched. */
  @Override
  public void close() {
    if (tlsReload != null) {
      tlsReload.cancel(false);
    }
    bound.values().forEach(c -> c.close().syncUninterruptibly());
    bound.clear();
  }
}
