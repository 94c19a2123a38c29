package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.sluice.usage.UsageTracker;

/**
 * A non-streamed JSON answer, kept (up to {@link UsageTracker#MAX_BODY_BYTES}) while it is relayed,
 * to read its usage once it is complete. The bytes are shared with what goes to the client, not
 * copied.
 */
final class JsonBodyUsage {
  private final UsageTracker usage;
  private CompositeByteBuf body;

  JsonBodyUsage(ByteBufAllocator alloc, UsageTracker usage) {
    this.usage = usage;
    this.body = alloc.compositeBuffer();
  }

  /** Part of the body, about to be written to the client. */
  void add(ByteBuf bytes) {
    if (body == null) {
      return;
    }
    if (body.readableBytes() + bytes.readableBytes() > UsageTracker.MAX_BODY_BYTES) {
      body.release(); // too large to parse: the usage stays unknown
      body = null;
      return;
    }
    body.addComponent(true, bytes.retainedDuplicate());
  }

  /** The body ended: its usage is read ({@code complete}) or it is only freed. */
  void end(boolean complete) {
    if (body != null) {
      if (complete) {
        usage.onBody(ByteBufUtil.getBytes(body));
      }
      body.release();
      body = null;
    }
  }
}
