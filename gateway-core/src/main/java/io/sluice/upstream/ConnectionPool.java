package io.sluice.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.sluice.http.TrailerHeaders;
import java.io.IOException;
import java.net.ConnectException;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keep-alive connections to one endpoint, kept per event loop so that a connection is always used
 * on the loop of the client it serves (no cross-thread hand-off, no locks on the hot path).
 *
 * <p>Netty's {@code SimpleChannelPool} is per pool instance; the config's
 * {@code max-connections-per-endpoint} counts the whole gateway, so this small pool pairs per-loop
 * idle stacks with one atomic counter per endpoint.
 *
 * <p>Failure: when the limit is reached, acquiring fails at once like a connect failure (the call
 * may retry another endpoint) rather than queueing without bound.
 */
public final class ConnectionPool {
  private static final Logger log = LoggerFactory.getLogger(ConnectionPool.class);
  static final String TLS = "tls";
  static final String BODY = "chunked-body";
  static final String CODEC = "http-client-codec";
  static final String HANDLER = "upstream";
  private static final int IDLE_POOLED_SECONDS = 60;

  private final Endpoint endpoint;
  private final Bootstrap bootstrap;
  private final int maxConnections;
  private final ConcurrentHashMap<EventLoop, ArrayDeque<Channel>> idle = new ConcurrentHashMap<>();

  ConnectionPool(Endpoint endpoint, Bootstrap template, int maxConnections, Upstream upstream) {
    this.endpoint = endpoint;
    this.maxConnections = maxConnections;
    this.bootstrap = template.clone().handler(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        ChannelPipeline p = ch.pipeline();
        SslHandler tls = upstream.newTlsHandler(endpoint, ch.alloc());
        if (tls != null) {
          p.addLast(TLS, tls);
        }
        ChunkedBodyReader body = new ChunkedBodyReader();
        p.addLast(BODY, body);
        p.addLast(CODEC, new HttpClientCodec(new HttpDecoderConfig()
            .setMaxInitialLineLength(8192)
            .setMaxHeaderSize(64 * 1024)
            .setMaxChunkSize(64 * 1024)
            // Each header line is copied into this buffer, which grows to the longest line and
            // stays with the connection: start it at 64 bytes, not 128 (gateway-server/docs/memory.md).
            .setInitialBufferSize(64)
            .setTrailersFactory(TrailerHeaders.INSTANCE), false, false)); // one trailer set per answer of known length
        p.addLast(HANDLER, new UpstreamHandler(TimeUnit.SECONDS.toNanos(IDLE_POOLED_SECONDS),
            upstream.config().connectTimeout().toNanos(), body));
      }
    });
  }

  /** The connection opened but the TLS handshake failed (untrusted certificate, wrong host, …). */
  public static final class TlsHandshakeException extends IOException {
    TlsHandshakeException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c.getMessage() == null ? c.toString() : c.getMessage();
  }

  /** Thrown (as a failed future) when the endpoint already has {@code max-connections-per-endpoint}. */
  public static final class PoolExhaustedException extends ConnectException {
    PoolExhaustedException(String message) {
      super(message);
    }
  }

  /**
   * A connection closed: one listener for all of the pool's connections (it finds the connection
   * from its close future), not a lambda kept by every connection for its whole life.
   */
  private final ChannelFutureListener closed = this::closed;

  private void closed(ChannelFuture f) {
    Channel channel = f.channel();
    endpoint.openConnections().decrementAndGet();
    ArrayDeque<Channel> idleHere = idle.get(channel.eventLoop());
    if (idleHere != null) {
      idleHere.remove(channel); // runs on the channel's loop, the stack's only user
    }
  }

  /** Marks a connection taken from the idle stack (it may have been closed by the server meanwhile). */
  public static final AttributeKey<Boolean> REUSED = AttributeKey.valueOf("sluice.reused");

  /** A connection on {@code loop}, reused when one is idle; the listener receives its traffic. */
  public Future<Channel> acquire(EventLoop loop, UpstreamHandler.Listener listener) {
    return acquire(loop, listener, false);
  }

  /**
   * @param fresh always open a new connection (a retry after a reused one turned out stale)
   */
  public Future<Channel> acquire(EventLoop loop, UpstreamHandler.Listener listener, boolean fresh) {
    Channel reused = fresh ? null : takeIdle(loop, listener);
    if (reused != null) {
      return loop.newSucceededFuture(reused);
    }
    Promise<Channel> promise = loop.newPromise();
    if (endpoint.openConnections().incrementAndGet() > maxConnections) {
      endpoint.openConnections().decrementAndGet();
      return promise.setFailure(new PoolExhaustedException(
          "endpoint " + endpoint.url() + " has max-connections-per-endpoint (" + maxConnections + ") open"));
    }
    ChannelFuture connect = bootstrap.clone(loop)
        .connect(endpoint.config().host(), endpoint.config().port());
    Channel channel = connect.channel();
    channel.closeFuture().addListener(closed);
    connect.addListener(f -> {
      if (!f.isSuccess()) {
        promise.setFailure(f.cause());
        return;
      }
      SslHandler tls = channel.pipeline().get(SslHandler.class);
      if (tls == null) {
        channel.pipeline().get(UpstreamHandler.class).attach(listener);
        promise.setSuccess(channel);
        return;
      }
      // An https endpoint is usable once the handshake (certificate, hostname) succeeded.
      tls.handshakeFuture().addListener(h -> {
        if (h.isSuccess()) {
          channel.pipeline().get(UpstreamHandler.class).attach(listener);
          promise.setSuccess(channel);
        } else {
          log.warn("TLS handshake with {} failed: {}", endpoint.url(), rootMessage(h.cause()));
          channel.close();
          promise.setFailure(new TlsHandshakeException(
              "TLS handshake with " + endpoint.url() + " failed: " + rootMessage(h.cause()), h.cause()));
        }
      });
    });
    return promise;
  }

  /**
   * An idle connection on {@code loop}, now the listener's, or null when none is idle (then
   * {@link #acquire} with {@code fresh} opens one). Why beside {@link #acquire}: a reused
   * connection — nearly every request's — needs no promise and no listener on it.
   */
  public Channel takeIdle(EventLoop loop, UpstreamHandler.Listener listener) {
    ArrayDeque<Channel> stack = idle.get(loop);
    if (stack == null) {
      return null;
    }
    Channel reused;
    while ((reused = stack.pollLast()) != null) {
      if (reused.isActive()) {
        reused.attr(REUSED).set(Boolean.TRUE);
        reused.pipeline().get(UpstreamHandler.class).attach(listener);
        reused.config().setAutoRead(true);
        return reused;
      }
    }
    return null;
  }

  /** Returns a connection whose exchange ended cleanly, on its own loop. */
  public void release(Channel channel) {
    UpstreamHandler handler = channel.pipeline().get(UpstreamHandler.class);
    if (handler != null) {
      handler.detach();
    }
    if (!channel.isActive()) {
      return;
    }
    channel.config().setAutoRead(true); // notice a close by the server while idle
    idle.computeIfAbsent(channel.eventLoop(), l -> new ArrayDeque<>()).addLast(channel);
  }

  /** Drops a connection that cannot be reused. */
  public void discard(Channel channel) {
    UpstreamHandler handler = channel.pipeline().get(UpstreamHandler.class);
    if (handler != null) {
      handler.detach();
    }
    channel.close();
  }

  /** Closes every idle connection (shutdown). */
  public void closeIdle() {
    idle.forEach((loop, stack) -> loop.execute(() -> {
      Channel c;
      while ((c = stack.pollLast()) != null) {
        c.close();
      }
    }));
  }
}
