package io.sluice.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.HealthCheckConfig;
import io.sluice.net.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Active health probes: {@code GET health-check.path} on every endpoint every {@code interval};
 * a 2xx answer within {@code timeout} is a success, anything else a failure (see {@link Endpoint}).
 *
 * <p>Threading: probes run on one worker loop on a fresh connection each ({@code Connection:
 * close}), so a probe never borrows a pooled connection that a request could use.
 */
final class HealthChecker implements AutoCloseable {
  private final List<Upstream> upstreams;
  private final Transport transport;
  private final List<ScheduledFuture<?>> tasks = new ArrayList<>();

  HealthChecker(List<Upstream> upstreams, Transport transport) {
    this.upstreams = upstreams;
    this.transport = transport;
  }

  void start() {
    EventLoop loop = transport.workers().next();
    for (Upstream u : upstreams) {
      HealthCheckConfig hc = u.config().healthCheck();
      if (!hc.activeProbes()) {
        continue;
      }
      long interval = hc.interval().toMillis();
      tasks.add(loop.scheduleAtFixedRate(() -> u.endpoints().forEach(e -> probe(loop, u, e)),
          0, interval, TimeUnit.MILLISECONDS));
    }
  }

  private void probe(EventLoop loop, Upstream upstream, Endpoint endpoint) {
    HealthCheckConfig hc = upstream.config().healthCheck();
    long timeoutMillis = hc.timeout().toMillis();
    Bootstrap b = new Bootstrap()
        .group(loop)
        .channel(transport.socketChannelType())
        .option(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, timeoutMillis))
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            SslHandler tls = upstream.newTlsHandler(endpoint, ch.alloc());
            if (tls != null) {
              ch.pipeline().addLast(tls); // writes wait for the handshake
            }
            ch.pipeline().addLast(new HttpClientCodec());
            ch.pipeline().addLast(new ReadTimeoutHandler(timeoutMillis, TimeUnit.MILLISECONDS));
            ch.pipeline().addLast(new ProbeHandler(endpoint));
          }
        });
    b.connect(endpoint.config().host(), endpoint.config().port()).addListener((ChannelFutureListener) f -> {
      if (!f.isSuccess()) {
        endpoint.recordFailure("health probe: " + f.cause().getMessage());
        return;
      }
      FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
          endpoint.config().basePath() + hc.path());
      request.headers()
          .set(HttpHeaderNames.HOST, endpoint.config().hostHeader())
          .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
          .set(HttpHeaderNames.USER_AGENT, "sluice-health-check");
      f.channel().writeAndFlush(request);
    });
  }

  /** Records the first response status (or the failure) of one probe, then closes. */
  private static final class ProbeHandler extends SimpleChannelInboundHandler<Object> {
    private final Endpoint endpoint;
    private boolean done;

    ProbeHandler(Endpoint endpoint) {
      this.endpoint = endpoint;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
      if (!done && msg instanceof HttpResponse response) {
        done = true;
        int status = response.status().code();
        if (status >= 200 && status < 300) {
          endpoint.recordSuccess(true);
        } else {
          endpoint.recordFailure("health probe answered " + status);
        }
        ctx.close();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (!done) {
        done = true;
        endpoint.recordFailure("health probe: connection closed before a response");
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (!done) {
        done = true;
        endpoint.recordFailure("health probe: " + cause);
      }
      ctx.close();
    }
  }

  @Override
  public void close() {
    tasks.forEach(t -> t.cancel(false));
  }
}
