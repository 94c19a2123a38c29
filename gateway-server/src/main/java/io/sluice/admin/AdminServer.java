package io.sluice.admin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.sluice.config.GatewayConfig;
import io.sluice.server.ListenException;
import io.sluice.net.Transport;
import java.net.InetSocketAddress;

/** The admin listener ({@code admin.host}:{@code admin.port}); requests are small and aggregated. */
public final class AdminServer implements AutoCloseable {
  private static final int MAX_ADMIN_REQUEST = 64 * 1024;

  private final Transport transport;
  private final GatewayConfig config;
  private final AdminHandler handler;
  private Channel channel;

  public AdminServer(Transport transport, GatewayConfig config, AdminView view) {
    this.transport = transport;
    this.config = config;
    this.handler = new AdminHandler(view);
  }

  public void start() throws InterruptedException, ListenException {
    ServerBootstrap b = new ServerBootstrap()
        .group(transport.acceptors(), transport.workers())
        .channel(transport.serverChannelType())
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.ALLOCATOR, Transport.ALLOCATOR)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec());
            ch.pipeline().addLast(new HttpObjectAggregator(MAX_ADMIN_REQUEST));
            ch.pipeline().addLast(handler);
          }
        });
    ChannelFuture bind = b.bind(config.admin().host(), config.admin().port()).await();
    if (!bind.isSuccess()) {
      throw new ListenException("the admin listener", config.admin().host(), config.admin().port(), bind.cause());
    }
    channel = bind.channel();
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  @Override
  public void close() {
    if (channel != null) {
      channel.close().syncUninterruptibly();
    }
  }
}
