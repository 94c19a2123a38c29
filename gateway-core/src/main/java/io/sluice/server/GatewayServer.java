package io.sluice.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.LimitsConfig;
import io.sluice.config.ListenerConfig;
import io.sluice.net.Transport;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-facing listeners and their connections.
 *
 * <p>Binding is all-or-nothing at start: if one port cannot be bound, the ones already bound are
 * closed and the failure is thrown. A reload ({@link #reconcile}) opens and closes only the
 * listeners whose config changed; connections already accepted are never touched by it.
 *
 * <p>Backpressure: client channels use a 32–64 KiB write-buffer watermark; above it the relay
 * stops reading from the upstream (see {@code ProxyCall}).
 *
 * <p>Shutdown ({@link #drain}): stop accepting, close idle connections, let running exchanges
 * finish up to the drain timeout, then end the rest with an error event (never a silent cut).
 */
public final class GatewayServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GatewayServer.class);
  /** Outbound bytes a slow client may have queued before the upstream is paused. */
  public static final WriteBufferWaterMark CLIENT_WATERMARK = new WriteBufferWaterMark(32 * 1024, 64 * 1024);

  /** How often TLS listeners look at their certificate and key files' modification times. */
  static final long TLS_RELOAD_POLL_SECONDS = 5;

  private final Transport transport;
  /** Concurrent: read by the admin listener's scrapes while a reload rebinds. */
  private final Map<String, Bound> bound = new ConcurrentHashMap<>();
  private final ChannelGroup clients = new DefaultChannelGroup("sluice-clients", GlobalEventExecutor.INSTANCE);
  private ScheduledFuture<?> tlsReload;

  /** A bound listener; {@code tls} is null for plaintext. */
  private record Bound(ListenerConfig config, LimitsConfig limits, Channel channel, ServerTls tls) {}

  public GatewayServer(Transport transport) {
    this.transport = transport;
  }

  /** Binds every listener; throws when a port cannot be bound. */
  public void start(List<ListenerConfig> listeners, LimitsConfig limits, RequestHandlerFactory handlers)
      throws InterruptedException, ListenException, SSLException {
    try {
      for (ListenerConfig l : listeners) {
        bind(l, limits, handlers);
      }
    } catch (InterruptedException | ListenException | SSLException e) {
      close();
      throw e;
    }
    // A stat per file every few seconds on the acceptor loop, never on a worker serving streams.
    tlsReload = transport.acceptors().next().scheduleWithFixedDelay(this::reloadTls,
        TLS_RELOAD_POLL_SECONDS, TLS_RELOAD_POLL_SECONDS, TimeUnit.SECONDS);
  }

  private void bind(ListenerConfig l, LimitsConfig limits, RequestHandlerFactory handlers)
      throws InterruptedException, ListenException, SSLException {
    ConnectionLimiter limiter = new ConnectionLimiter(limits.maxConnections(), limits.maxConnectionsPerIp());
    ServerTls serverTls = l.tls() == null ? null : ServerTls.create(l.name(), l.tls(), l.http2());
    ServerBootstrap b = new ServerBootstrap()
        .group(transport.acceptors(), transport.workers())
        .channel(transport.serverChannelType())
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
        .childOption(ChannelOption.RCVBUF_ALLOCATOR, Transport.RECV_ALLOCATOR)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.SO_KEEPALIVE, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, CLIENT_WATERMARK)
        .childHandler(new GatewayInitializer(l, limiter, limits, handlers, serverTls, clients));
    ChannelFuture bind = b.bind(l.host(), l.port()).await();
    if (!bind.isSuccess()) {
      throw new ListenException("listener '" + l.name() + "'", l.host(), l.port(), bind.cause());
    }
    bound.put(l.name(), new Bound(l, limits, bind.channel(), serverTls));
    log.info("listener '{}' on {}://{}:{} ({})", l.name(), serverTls == null ? "http" : "https", l.host(),
        port(l.name()), transport.name());
  }

  /**
   * Applies a reloaded config's listeners: unchanged ones keep listening; removed or changed ones
   * stop accepting (their open connections run on); new or changed ones are bound.
   */
  public void reconcile(List<ListenerConfig> listeners, LimitsConfig limits, RequestHandlerFactory handlers)
      throws InterruptedException, ListenException, SSLException {
    Map<String, ListenerConfig> wanted = new LinkedHashMap<>();
    listeners.forEach(l -> wanted.put(l.name(), l));
    for (String name : new ArrayList<>(bound.keySet())) {
      Bound b = bound.get(name);
      if (!b.config().equals(wanted.get(name)) || !b.limits().equals(limits)) {
        b.channel().close().syncUninterruptibly();
        bound.remove(name);
        log.info("listener '{}' closed by reload (open connections continue)", name);
      }
    }
    for (ListenerConfig l : listeners) {
      if (!bound.containsKey(l.name())) {
        bind(l, limits, handlers);
      }
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
    for (Bound b : List.copyOf(bound.values())) {
      if (b.tls() != null) {
        any |= b.tls().reloadIfChanged();
      }
    }
    return any;
  }

  /**
   * The notAfter of every TLS listener's current certificate, by listener name (a reloaded
   * certificate replaces its predecessor's); safe to call from any thread.
   */
  public Map<String, Instant> certificateExpiries() {
    Map<String, Instant> out = new TreeMap<>();
    for (Bound b : bound.values()) {
      Instant notAfter = b.tls() == null ? null : b.tls().notAfter();
      if (notAfter != null) {
        out.put(b.config().name(), notAfter);
      }
    }
    return out;
  }

  /** The port a listener is bound to (useful when it was configured as 0). */
  public int port(String listener) {
    return ((InetSocketAddress) bound.get(listener).channel().localAddress()).getPort();
  }

  /** Client connections open now. */
  public int openConnections() {
    return clients.size();
  }

  /**
   * Graceful shutdown: stop accepting, close idle connections, wait up to {@code timeout} for the
   * running exchanges, then end those still running and close everything.
   *
   * @return the number of exchanges that had to be cut at the timeout
   */
  public int drain(Duration timeout) throws InterruptedException {
    stopAccepting();
    tellEachExchange(DrainEvent.BEGIN);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!clients.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(50); // the main thread waits for connections to finish; no event loop blocks
    }
    int cut = clients.size();
    if (cut > 0) {
      log.warn("drain timeout of {} reached: ending {} connection(s)", timeout, cut);
      tellEachExchange(DrainEvent.NOW);
      long grace = System.nanoTime() + Duration.ofSeconds(2).toNanos();
      while (!clients.isEmpty() && System.nanoTime() < grace) {
        Thread.sleep(20); // lets the final error events reach the sockets
      }
      clients.close().awaitUninterruptibly(2000);
    }
    return cut;
  }

  /**
   * Fires {@code event} at every client pipeline that runs exchanges: the connection's on
   * HTTP/1.1, each stream's on HTTP/2 (so a WebSocket session gets its 1001 at the end). At the
   * start of a drain, an HTTP/2 connection gets GOAWAY (running streams finish, then it closes)
   * and one that has not chosen its protocol yet is closed.
   */
  private void tellEachExchange(DrainEvent event) {
    for (Channel c : clients) {
      c.eventLoop().execute(() -> {
        if (c.pipeline().get(PipelineNames.EXCHANGE) != null) {
          c.pipeline().fireUserEventTriggered(event);
          return;
        }
        Http2Pipeline.eachStream(c, stream -> stream.pipeline().fireUserEventTriggered(event));
        if (event == DrainEvent.BEGIN && Http2Pipeline.isHttp2(c)) {
          Http2Pipeline.goAway(c);
        } else {
          c.close();
        }
      });
    }
  }

  /** Stops accepting; open connections are not touched. */
  public void stopAccepting() {
    if (tlsReload != null) {
      tlsReload.cancel(false);
    }
    bound.values().forEach(b -> b.channel().close().syncUninterruptibly());
    bound.clear();
  }

  /**
   * Stops accepting and closes every open connection while the event loops still run, so that
   * each connection's handlers see it end (and free what they hold) before the loops shut down.
   */
  @Override
  public void close() {
    stopAccepting();
    clients.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
  }
}
