package io.sluice.gateway;

import io.netty.channel.ChannelHandler;
import io.sluice.net.ClientIdentity;
import io.sluice.server.RequestHandlerFactory;
import java.util.function.Supplier;

/** The gateway's request handlers for the server: one {@link ConnectionHandler} per client pipeline. */
public final class GatewayHandlers implements RequestHandlerFactory {
  private final Supplier<GatewayContext> contexts;

  /** @param contexts the current gateway snapshot; each request reads it once, when it arrives */
  public GatewayHandlers(Supplier<GatewayContext> contexts) {
    this.contexts = contexts;
  }

  @Override
  public ChannelHandler newHandler(String scheme, ClientIdentity identity) {
    return new ConnectionHandler(contexts, scheme, identity);
  }
}
