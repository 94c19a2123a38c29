package io.sluice.gateway;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.sluice.exchange.ClientLeg;
import io.sluice.http.ErrorKind;

/**
 * The client leg of an exchange whose client left while its generation goes on in a session
 * (resume, long polling): nothing reaches a client any more; whichever way the generation ends,
 * the exchange is ended then (metrics, access log, plugins' completion hooks).
 */
final class DetachedLeg implements ClientLeg {
  private final ChannelHandlerContext ctx;
  private Runnable ending;

  DetachedLeg(ChannelHandlerContext ctx, Runnable ending) {
    this.ctx = ctx;
    this.ending = ending;
  }

  @Override
  public ChannelHandlerContext context() {
    return ctx;
  }

  @Override
  public void prepareResponseHeaders(int status, HttpHeaders headers) {}

  @Override
  public void sendError(ErrorKind kind, String message) {
    end();
  }

  @Override
  public void sendResponse(FullHttpResponse response) {
    response.release();
    end();
  }

  @Override
  public void responseComplete(boolean keepAlive) {
    end();
  }

  @Override
  public void responseAborted() {
    end();
  }

  @Override
  public ClientLeg detach(FullHttpResponse accepted) {
    if (accepted != null) {
      accepted.release();
    }
    return this;
  }

  private void end() {
    if (ending != null) {
      ending.run();
      ending = null;
    }
  }
}
