package io.sluice.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpContent;

/**
 * Body bytes that came as exactly one HTTP/1.1 chunk in one socket read, the chunk's framing
 * around them in the same read buffer: its size line (hex digits only, no extension) before them,
 * CRLF after. This is a paced stream's common case — a model server writes each event as a chunk
 * of its own, and each arrives in a read of its own.
 *
 * <p>Why: a relay that passes all of these bytes on unchanged, as one chunk, to an HTTP/1.1 client
 * can write the upstream's chunk as it came ({@link #retainedChunk}): no buffer to allocate, no
 * copy, no size line of its own (relay/EventWriter). The chunk's size line is the upstream's, so
 * its digits may differ from the ones the gateway would have written (upper case, leading zeros):
 * the same chunk either way.
 */
public final class FramedChunk extends DefaultHttpContent {
  private final ByteBuf read;
  private final int from;
  private final int length;

  /**
   * @param content the chunk's data, a retained slice of {@code read} (which it keeps alive)
   * @param read the read buffer holding the whole chunk at {@code [from, from + length)}
   */
  public FramedChunk(ByteBuf content, ByteBuf read, int from, int length) {
    super(content);
    this.read = read;
    this.from = from;
    this.length = length;
  }

  /** The whole chunk, size line to closing CRLF, as a retained slice; only while this content is not released. */
  public ByteBuf retainedChunk() {
    return read.retainedSlice(from, length);
  }
}
