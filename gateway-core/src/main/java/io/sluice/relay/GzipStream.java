package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * A gzip member (RFC 1952) written piece by piece: every {@link #encode} ends with a zlib
 * {@code SYNC_FLUSH}, so the bytes of one SSE event can be decoded by the client before the next
 * event exists — a token is never held back inside the compressor.
 *
 * <p>Memory: the JDK's {@link Deflater} always uses zlib's default window (15 bits) and memory
 * level (8), about 256 KiB of native memory per stream while it is open; {@link #close} frees it
 * at once rather than leaving it to the garbage collector. See {@code docs/compression.md}.
 *
 * <p>Threading: one stream, one event loop; not thread-safe.
 */
public final class GzipStream implements AutoCloseable {
  private static final byte[] HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};
  /** Level 6 (zlib's default): most of level 9's ratio on small JSON chunks at a fraction of the CPU. */
  public static final int LEVEL = 6;

  private final ByteBufAllocator alloc;
  private final Deflater deflater = new Deflater(LEVEL, true);
  private final CRC32 crc = new CRC32();
  private final byte[] scratch = new byte[8192];
  private boolean headerWritten;
  private boolean closed;

  public GzipStream(ByteBufAllocator alloc) {
    this.alloc = alloc;
  }

  /** Compresses {@code in} (released) and flushes; returns what to send, never empty. */
  public ByteBuf encode(ByteBuf in) {
    try {
      ByteBuf out = alloc.buffer(in.readableBytes() / 2 + 64);
      writeHeader(out);
      byte[] bytes = new byte[in.readableBytes()];
      in.getBytes(in.readerIndex(), bytes);
      crc.update(bytes);
      deflater.setInput(bytes);
      drain(out, Deflater.SYNC_FLUSH);
      return out;
    } finally {
      in.release();
    }
  }

  /** The end of the member: the deflate end block, CRC-32 and length. Closes the stream. */
  public ByteBuf finish() {
    ByteBuf out = alloc.buffer(64);
    writeHeader(out);
    deflater.finish();
    while (!deflater.finished()) {
      int n = deflater.deflate(scratch, 0, scratch.length);
      out.writeBytes(scratch, 0, n);
    }
    out.writeIntLE((int) crc.getValue());
    out.writeIntLE((int) deflater.getBytesRead());
    close();
    return out;
  }

  private void writeHeader(ByteBuf out) {
    if (!headerWritten) {
      headerWritten = true;
      out.writeBytes(HEADER);
    }
  }

  private void drain(ByteBuf out, int flush) {
    int n;
    do {
      n = deflater.deflate(scratch, 0, scratch.length, flush);
      out.writeBytes(scratch, 0, n);
    } while (n == scratch.length || !deflater.needsInput());
  }

  /** Frees the native zlib state; idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      deflater.end();
    }
  }
}
