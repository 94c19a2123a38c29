package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.sluice.exchange.Exchange;
import io.sluice.server.PipelineNames;
import io.sluice.upstream.FramedChunk;
import java.nio.charset.StandardCharsets;

/**
 * Writes a response body to the client: gzipped when agreed, and for event streams with the
 * events of one upstream read gathered into one HTTP chunk.
 *
 * <p>Pass-through: events that go out as the upstream sent them are written in place
 * ({@link #writeInPlace}): consecutive ones of the framer's buffer extend one run of it, taken
 * whole when the framer is done with that buffer — a large run as a single slice (no copy, no
 * buffer per event), a small one gathered like the rest below.
 *
 * <p>Coalescing: small writes — runs of a few events, events of the gateway's own making (stamped,
 * translated, a heartbeat) — are copied into one buffer: one HTTP chunk, one outbound entry and one
 * iovec per upstream socket read instead of three per event (an upstream that sends each event as
 * an HTTP chunk of its own hands the relay one event at a time). The relay calls {@link #flush}
 * when the read is processed, so no event ever waits for a later one: the bytes and their timing
 * are the upstream's, only the chunk framing differs.
 *
 * <p>One upstream chunk per read (a paced stream: each event a chunk of its own, each in a read of
 * its own): when that read's bytes all go out unchanged, the upstream's chunk itself is written —
 * a slice of the read buffer, its size line and CRLF included ({@link #relaying}).
 *
 * <p>Chunk framing: to an HTTP/1.1 client the gathered chunk carries its own framing — the size
 * line written into room kept at the front of the buffer, the closing CRLF after the bytes — and is
 * written past the HTTP codec as it is (one buffer, one outbound entry per read). Through the codec
 * an {@code HttpContent} costs a hex {@code String}, a buffer for the size line, a duplicate of the
 * CRLF, a promise per part and a combiner per chunk. Everything else (large slices, the gzip
 * trailer, the last chunk) still goes through the codec, which keeps its state, so both kinds of
 * write may alternate: all of them are made on the client's event loop, in order. HTTP/2 clients
 * (no HTTP/1.1 codec in the stream's pipeline) and unchunked bodies get {@code HttpContent}s.
 *
 * <p>Backpressure: after each write the client channel's writability is checked; when it is not
 * writable the {@code pause} callback stops upstream reads until the client drains.
 */
final class EventWriter {
  /** At most this much of one read's small events is gathered into one write; larger events go as they are. */
  static final int COALESCE_BYTES = 8192;
  /** Room for the longest chunk-size line of a gathered chunk: four hex digits and CRLF. */
  private static final int SIZE_LINE_ROOM = Integer.toHexString(COALESCE_BYTES).length() + 2;
  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private final ChannelHandlerContext ctx;
  private final Exchange exchange;
  private final boolean coalesce;
  private final Runnable pause;
  /** The HTTP/1.1 codec's context: gathered chunks framed here are written past it; null to let it frame them. */
  private final ChannelHandlerContext framedOut;
  private GzipStream gzip;
  /** Events of the current upstream read not written yet, or null. */
  private ByteBuf coalesced;
  private boolean wroteSinceFlush;
  /** The run of in-place events not written yet: bytes [runFrom, runTo) of runBuffer, or runBuffer null. */
  private ByteBuf runBuffer;
  private int runFrom;
  private int runTo;
  /** The upstream chunk the bytes being relayed came in whole (see {@link #relaying}), else null; and those bytes. */
  private FramedChunk chunk;
  private ByteBuf chunkBytes;
  private int chunkFrom;
  private int chunkTo;
  private boolean attached = true;

  /**
   * @param coalesce gather one read's small writes (event streams)
   * @param chunked the body goes in HTTP/1.1 chunks (the head says {@code Transfer-Encoding: chunked})
   * @param pause stops upstream reads when the client is not writable
   */
  EventWriter(ChannelHandlerContext ctx, Exchange exchange, boolean gzip, boolean coalesce, boolean chunked,
      Runnable pause) {
    this.ctx = ctx;
    this.exchange = exchange;
    this.coalesce = coalesce;
    this.pause = pause;
    // Looked up once per response; an HTTP/2 stream's pipeline has no such codec.
    this.framedOut = coalesce && chunked ? ctx.pipeline().context(PipelineNames.HTTP_CODEC) : null;
    this.gzip = gzip ? new GzipStream(ctx.alloc()) : null;
  }

  /**
   * The bytes of an upstream read about to be relayed, and the upstream chunk they came in whole
   * (null: not one whole chunk); {@code relaying(null, null)} when they are done. When exactly these
   * bytes then go out unchanged as one run, with nothing gathered before them, the upstream's chunk
   * is written as it came, past the codec: no buffer, no copy, no size line of our own.
   */
  void relaying(FramedChunk chunk, ByteBuf bytes) {
    if (chunk == null || framedOut == null || gzip != null) {
      this.chunk = null;
      this.chunkBytes = null;
      return;
    }
    this.chunk = chunk;
    chunkBytes = bytes;
    chunkFrom = bytes.readerIndex();
    chunkTo = bytes.writerIndex();
  }

  /** Whether the client still reads what is written. */
  boolean attached() {
    return attached;
  }

  /**
   * Writes (not flushed) bytes {@code [index, index + length)} of a buffer the caller keeps, as
   * they are: joined to the run of the previous ones when they follow them in the same buffer. The
   * run is taken (a retained slice) at {@link #endOfRead}, before the buffer may change.
   */
  void writeInPlace(ByteBuf buffer, int index, int length) {
    if (!attached) {
      return;
    }
    if (runBuffer == buffer && runTo == index) {
      runTo += length;
      return;
    }
    endOfRead();
    if (gzip != null) {
      write(buffer.retainedSlice(index, length)); // compressed into a buffer of its own anyway
      return;
    }
    runBuffer = buffer;
    runFrom = index;
    runTo = index + length;
  }

  /** The caller is done with the buffer of the in-place writes: the run goes into the outbound buffer. */
  void endOfRead() {
    ByteBuf run = runBuffer;
    if (run != null) {
      runBuffer = null;
      int length = runTo - runFrom;
      exchange.addBytesOut(length);
      if (coalesce && length < COALESCE_BYTES) {
        if (run == chunkBytes && runFrom == chunkFrom && runTo == chunkTo && coalesced == null) {
          // The read's bytes are one upstream chunk, all going out as they came: so does the chunk.
          ByteBuf whole = chunk.retainedChunk();
          chunk = null;
          chunkBytes = null;
          framedOut.write(whole, ctx.voidPromise());
          written();
          return;
        }
        // A small run joins the chunk of this socket read: an upstream that sends each event as
        // an HTTP chunk of its own gives one run per event, and a chunk per event costs the
        // client's pipeline three outbound messages (size line, bytes, CRLF) where a copy of a
        // few hundred bytes costs less.
        gather(run, runFrom, length);
        return;
      }
      writeCoalesced(); // what came before the run goes first
      writeChunk(run.retainedSlice(runFrom, length));
    }
  }

  /** Writes (not flushed) bytes of the body; takes ownership of {@code bytes}. */
  void write(ByteBuf bytes) {
    if (!attached) {
      bytes.release(); // the client left; the session keeps what it needs
      return;
    }
    if (runBuffer != null) {
      endOfRead(); // the run came first
    }
    if (gzip != null) {
      bytes = gzip.encode(bytes);
    }
    exchange.addBytesOut(bytes.readableBytes());
    int size = bytes.readableBytes();
    if (coalesce && size < COALESCE_BYTES) {
      gather(bytes, bytes.readerIndex(), size);
      bytes.release();
      return;
    }
    writeCoalesced(); // what came before goes first
    writeChunk(bytes);
  }

  /** Copies small bytes into the chunk of this read. */
  private void gather(ByteBuf bytes, int index, int size) {
    // Sized for one event and grown as needed: under backpressure the outbound buffer holds
    // these, and a slow client must not pin 8 KiB per read.
    int framing = framedOut == null ? 0 : 2; // the closing CRLF
    if (coalesced != null && coalesced.maxWritableBytes() - framing < size) {
      writeCoalesced();
    }
    if (coalesced == null) {
      int room = framedOut == null ? 0 : SIZE_LINE_ROOM;
      coalesced = ctx.alloc().directBuffer(Math.max(room + size + framing, 512), room + COALESCE_BYTES + framing);
      coalesced.writerIndex(room);
      coalesced.readerIndex(room);
    }
    coalesced.writeBytes(bytes, index, size);
  }

  private void writeCoalesced() {
    ByteBuf out = coalesced;
    if (out != null) {
      coalesced = null;
      if (!out.isReadable()) {
        out.release(); // an empty chunk would end the body
      } else if (framedOut == null) {
        writeChunk(out);
      } else {
        frame(out);
        framedOut.write(out, ctx.voidPromise());
        written();
      }
    }
  }

  /** Turns the gathered bytes into one HTTP/1.1 chunk: its size line into the room before them, CRLF after. */
  private static void frame(ByteBuf out) {
    int size = out.readableBytes();
    int digits = (Integer.SIZE - Integer.numberOfLeadingZeros(size) + 3) / 4;
    int at = out.readerIndex() - digits - 2;
    for (int i = digits - 1, v = size; i >= 0; i--, v >>>= 4) {
      out.setByte(at + i, HEX[v & 0xf]);
    }
    out.setByte(at + digits, '\r');
    out.setByte(at + digits + 1, '\n');
    out.readerIndex(at);
    out.writeByte('\r').writeByte('\n');
  }

  private void writeChunk(ByteBuf bytes) {
    ctx.write(new DefaultHttpContent(bytes), ctx.voidPromise());
    written();
  }

  private void written() {
    wroteSinceFlush = true;
    if (!ctx.channel().isWritable()) {
      pause.run();
    }
  }

  /** Everything written so far goes on the wire now. */
  void flush() {
    endOfRead();
    writeCoalesced();
    if (wroteSinceFlush) {
      wroteSinceFlush = false;
      // From the codec's context when chunks are framed here: its encoder holds nothing back, so
      // the flush skips it (one hop per flush, i.e. per read) and reaches the same handlers.
      (framedOut != null ? framedOut : ctx).flush();
    }
  }

  /** The body's end to a client still reading: the gzip trailer, then the last chunk. */
  void end() {
    if (!attached) {
      return;
    }
    endOfRead();
    writeCoalesced();
    if (gzip != null) {
      // Ends the gzip member (CRC and length) so that the client can check the body is whole.
      ByteBuf trailer = gzip.finish();
      gzip = null;
      exchange.addBytesOut(trailer.readableBytes());
      ctx.write(new DefaultHttpContent(trailer), ctx.voidPromise());
    }
    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT, ctx.voidPromise());
  }

  /** The client left (a session goes on without it): nothing more is written. */
  void detach() {
    attached = false;
    release();
  }

  /** Frees what an unfinished body held: gathered bytes that will not be written, the zlib state. */
  void release() {
    runBuffer = null; // not ours: the caller's buffer
    chunk = null;
    chunkBytes = null;
    if (coalesced != null) {
      coalesced.release();
      coalesced = null;
    }
    if (gzip != null) {
      gzip.close();
      gzip = null;
    }
  }
}
