package io.sluice.server;

import io.netty.channel.ChannelHandler;
import io.sluice.net.ClientIdentity;

/**
 * Makes the handler at the end of every client pipeline (an HTTP/1.1 connection, or one HTTP/2
 * stream): what the gateway does with the requests. The server places it and talks to it only by
 * user events ({@link DrainEvent}; it sends {@link RequestCycle} back), so transport code knows no
 * gateway types.
 */
@FunctionalInterface
public interface RequestHandlerFactory {
  /**
   * @param scheme {@code http} or {@code https}, as the listener accepts it
   * @param identity how the client's address is found on this listener
   */
  ChannelHandler newHandler(String scheme, ClientIdentity identity);
}
