package io.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import java.util.List;

/**
 * On a plaintext listener with {@code http2: true}: looks at the first bytes; the HTTP/2
 * connection preface means h2c with prior knowledge, anything else HTTP/1.1. Then it replaces
 * itself with the chosen handlers and passes the bytes on.
 *
 * <p>Pipeline: last, after the timeouts; replaced by the HTTP codec or the HTTP/2 handlers.
 */
final class PriorKnowledgeDetector extends ByteToMessageDecoder {
  private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();

  /** Adds the handlers of the chosen protocol to the pipeline. */
  interface Choice {
    void http1(ChannelPipeline p);

    void http2(ChannelPipeline p);
  }

  private final Choice choice;

  PriorKnowledgeDetector(Choice choice) {
    this.choice = choice;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int n = Math.min(in.readableBytes(), PREFACE.readableBytes());
    boolean prefix = ByteBufUtil.equals(in, in.readerIndex(), PREFACE, 0, n);
    if (prefix && n < PREFACE.readableBytes()) {
      return; // could still be the preface: wait for more
    }
    if (prefix) {
      choice.http2(ctx.pipeline());
    } else {
      choice.http1(ctx.pipeline());
    }
    ctx.pipeline().remove(this); // hands the buffered bytes to the handlers just added
  }
}
