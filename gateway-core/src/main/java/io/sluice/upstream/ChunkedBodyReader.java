package io.sluice.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ByteProcessor;

/**
 * Reads a chunked response body in front of Netty's HTTP codec, and gives the relay all the body
 * bytes of one socket read as one {@link HttpContent}.
 *
 * <p>Why: a model server writes each SSE event as its own HTTP chunk. Netty's decoder turns every
 * chunk into a message of its own (a size line parsed into a {@code String}, a slice, an
 * {@code HttpContent}, a trip down the pipeline), so a read holding a hundred events cost a
 * hundred of each before the relay saw a byte — the largest per-event cost left in a burst
 * (issue 15's profile). Here the chunk framing is walked over the read in place: one chunk's data
 * is passed on as a slice (no copy); several chunks' data are moved together in the read buffer
 * and passed on as one slice, whose events the relay then reads and writes in place.
 *
 * <p>How it shares the connection with the codec: the response head still goes through the codec
 * (this handler hands it exactly the head's bytes, up to the blank line), and {@link
 * UpstreamHandler} tells this handler what the codec made of it ({@link #seen}). Only a chunked
 * head whose body the codec has not started on hands the body to this handler; everything else
 * — a length-delimited or close-delimited body, a head split so that its blank line straddles two
 * reads, a chunk size line this handler does not parse (an overflow, a leading space), the last
 * chunk with its trailers — goes to the codec, which is exactly where it expects the stream then
 * (waiting for a chunk size line), so its own checks and errors stay the connection's.
 * After a {@code 101} the handler only passes bytes on. The body's content, and the read-complete
 * of a read that gave the codec nothing, are fired from the codec's context, past it: its decoder
 * would only pass them on, two handler hops per read.
 *
 * <p>Streaming: the data of an unfinished chunk is passed on at the end of the read, as the codec
 * does; only a chunk size line split across two reads is kept (a few bytes, bounded).
 *
 * <p>Threading: the channel's event loop only.
 */
final class ChunkedBodyReader extends ChannelInboundHandlerAdapter {
  /** A chunk size line (with its extensions) longer than this is left to the codec, which rejects it. */
  private static final int MAX_SIZE_LINE = 4096;

  private enum Mode {
    HEAD, // waiting for a response head: its bytes go to the codec, up to its end
    BODY, // a chunked body: this handler reads it
    CODEC, // a body the codec reads, until its last content
    PASS, // the connection left HTTP (a 101): bytes pass on
    BAD // the chunk framing broke: the failure was passed on, what follows is dropped (as the codec does)
  }

  private Mode mode = Mode.HEAD;
  // The codec's last head whose body has not ended, until next() has read its framing from it; else
  // null. Not kept for the body: nothing after that decision reads it, and a stream's body can last
  // minutes.
  private HttpResponse head;
  private boolean codecContent; // the codec produced body content after that head
  private boolean upgraded;

  // Where in a chunked body the next byte is (BODY mode).
  private int chunkLeft; // data bytes of the current chunk still to come
  private int delimiter; // after a chunk's data: how many bytes of its CRLF are still to come
  private ByteBuf sizeLine; // the start of a size line that a read cut, else null

  // This read's body bytes so far (see addData): in[dataStart, dataEnd), or in joined when the read is read-only.
  private int dataStart = -1;
  private int dataEnd;
  private ByteBuf joined;
  // The codec's context, found once: body content is fired from it, straight to the handler after it.
  private ChannelHandlerContext codec;
  // Since the last read-complete the codec was given nothing: its read-complete would only pass on.
  private boolean bodyOnly;
  // This handler's own context: reads are requested from it, past the codec (UpstreamHandler#read).
  private ChannelHandlerContext self;

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    self = ctx;
  }

  /** This handler's context once it is in a pipeline, else null. */
  ChannelHandlerContext context() {
    return self;
  }

  /** Called by {@link UpstreamHandler} for each message the codec (or this handler) passes on. */
  void seen(HttpObject msg) {
    if (msg instanceof HttpResponse response) {
      head = response;
      codecContent = false;
      upgraded |= response.status().code() == 101;
    }
    if (msg instanceof LastHttpContent) {
      head = null;
      if (mode == Mode.CODEC) {
        mode = Mode.HEAD;
      }
    } else if (msg instanceof HttpContent && mode != Mode.BODY) {
      codecContent = true;
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf in)) {
      toCodec(ctx, msg);
      return;
    }
    boolean passed = false;
    try {
      while (in.isReadable() && !passed) {
        switch (mode) {
          case HEAD -> passed = head(ctx, in);
          case BODY -> passed = body(ctx, in);
          case BAD -> in.skipBytes(in.readableBytes());
          default -> {
            toCodec(ctx, in);
            passed = true;
          }
        }
      }
    } finally {
      if (!passed) {
        in.release();
      }
    }
  }

  /**
   * Hands the codec the bytes up to the end of a head (or all of them, when no head ends here);
   * true when {@code in} itself was passed on.
   */
  private boolean head(ChannelHandlerContext ctx, ByteBuf in) {
    int end = headEnd(in);
    if (end < 0) {
      toCodec(ctx, in);
      mode = next(false);
      return true;
    }
    toCodec(ctx, in.readRetainedSlice(end - in.readerIndex()));
    mode = next(true);
    if (mode == Mode.BODY) {
      chunkLeft = 0;
      delimiter = 0;
    }
    return false;
  }

  /** What follows what the codec was just given; {@code exact} when it was given a head up to its end. */
  private Mode next(boolean exact) {
    if (upgraded) {
      return Mode.PASS;
    }
    if (head == null) {
      return Mode.HEAD; // no head, or a head with its (empty) body: an interim 1xx, a HEAD's answer, a 204
    }
    boolean chunked = HttpUtil.isTransferEncodingChunked(head);
    head = null; // read: the body's end is told by its last content (seen), not by the head
    return exact && !codecContent && chunked ? Mode.BODY : Mode.CODEC;
  }

  /** The index just past the first CRLF CRLF in {@code in}, or -1. */
  private static int headEnd(ByteBuf in) {
    int from = in.readerIndex();
    int end = in.writerIndex();
    for (int lf = in.indexOf(from, end, (byte) '\n'); lf >= 0; lf = in.indexOf(lf + 1, end, (byte) '\n')) {
      if (lf - 3 >= from && in.getByte(lf - 1) == '\r' && in.getByte(lf - 2) == '\n' && in.getByte(lf - 3) == '\r') {
        return lf + 1;
      }
    }
    return -1;
  }

  /** Reads one read of a chunked body; true when {@code in} was handed to the codec (the last chunk). */
  private boolean body(ChannelHandlerContext ctx, ByteBuf in) {
    int end = in.writerIndex();
    int i = in.readerIndex();
    int readStart = i;
    // The read starts at a size line: if it holds exactly that one chunk, its framing is intact.
    boolean atLine = chunkLeft == 0 && delimiter == 0 && sizeLine == null;
    int lines = 0;
    dataStart = -1;
    while (i < end) {
      if (chunkLeft > 0) {
        int n = Math.min(chunkLeft, end - i);
        addData(in, i, n);
        i += n;
        chunkLeft -= n;
        delimiter = chunkLeft == 0 ? 2 : 0;
        continue;
      }
      if (delimiter > 0) {
        if (in.getByte(i) != (delimiter == 2 ? '\r' : '\n')) {
          passData(ctx, in, -1);
          return fail(ctx, in);
        }
        delimiter--;
        i++;
        continue;
      }
      int lf = in.indexOf(i, end, (byte) '\n');
      if (lf < 0) {
        if (!keepSizeLine(in, i, end)) {
          passData(ctx, in, -1);
          return handBack(ctx, in, i);
        }
        i = end;
        break;
      }
      int lineStart = i;
      int size;
      if (sizeLine == null) {
        size = chunkSize(in, i, lf);
      } else {
        sizeLine.writeBytes(in, i, lf + 1 - i); // the line's end joins its start, kept from the last read
        lineStart = lf + 1;
        size = chunkSize(sizeLine, sizeLine.readerIndex(), sizeLine.writerIndex() - 1);
      }
      if (size <= 0) { // the last chunk (0), or a line left to the codec (-1)
        passData(ctx, in, -1);
        return handBack(ctx, in, lineStart);
      }
      if (sizeLine != null) {
        sizeLine.release();
        sizeLine = null;
      }
      chunkLeft = size;
      lines += plainLine ? 1 : 2; // a line with an extension is not passed on as it came
      i = lf + 1;
    }
    in.readerIndex(end);
    boolean oneChunk = atLine && lines == 1 && chunkLeft == 0 && delimiter == 0;
    passData(ctx, in, oneChunk ? readStart : -1);
    return false;
  }

  /**
   * The codec reads on from the size line at {@code from} (with the start of it kept from the last
   * read): it is waiting for exactly that. Its last content ends the body; the head after it comes
   * here again.
   */
  private boolean handBack(ChannelHandlerContext ctx, ByteBuf in, int from) {
    mode = Mode.CODEC;
    if (sizeLine != null) {
      ByteBuf start = sizeLine;
      sizeLine = null;
      toCodec(ctx, start);
    }
    in.readerIndex(from);
    toCodec(ctx, in);
    return true;
  }

  /**
   * A chunk's data not followed by CRLF: as the codec, a failed last content ends the body, and
   * the rest of the connection's bytes are dropped (the relay closes it).
   */
  private boolean fail(ChannelHandlerContext ctx, ByteBuf in) {
    mode = Mode.BAD;
    in.readerIndex(in.writerIndex());
    LastHttpContent failed = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
    failed.setDecoderResult(DecoderResult.failure(new IllegalArgumentException("chunk data not followed by CRLF")));
    toCodec(ctx, failed);
    return false;
  }

  /** Keeps the start of a size line cut by the end of the read; false when it is too long to be one. */
  private boolean keepSizeLine(ByteBuf in, int from, int end) {
    int have = sizeLine == null ? 0 : sizeLine.readableBytes();
    if (have + end - from > MAX_SIZE_LINE) {
      return false;
    }
    if (sizeLine == null) {
      sizeLine = in.alloc().heapBuffer(Math.max(16, end - from));
    }
    sizeLine.writeBytes(in, from, end - from);
    return true;
  }

  /**
   * The size in the chunk size line {@code buf[from, lf)}: hex digits, then the line's end or an
   * extension ({@code ;}) or white space. -1 for what this handler leaves to the codec (no
   * digits, a leading space, more than {@code Integer.MAX_VALUE}, another character).
   */
  private int chunkSize(ByteBuf buf, int from, int lf) {
    if (lf == from || buf.getByte(lf - 1) != '\r') {
      return -1; // the codec rejects a line that does not end with CRLF
    }
    hex.value = 0;
    int stop = buf.forEachByte(from, lf - from, hex);
    int digitsEnd = stop < 0 ? lf : stop;
    plainLine = digitsEnd == lf - 1; // digits, then the line's end
    if (digitsEnd == from || hex.value > Integer.MAX_VALUE) {
      return -1;
    }
    if (digitsEnd < lf) {
      byte b = buf.getByte(digitsEnd);
      if (b != ';' && b != ' ' && b != '\t' && b != '\r') {
        return -1;
      }
    }
    return (int) hex.value;
  }

  private final HexDigits hex = new HexDigits();
  // The last size line read was hex digits and CRLF only (no extension, no white space).
  private boolean plainLine;

  /** Accumulates hex digits; stops at the first other byte (or past {@code Integer.MAX_VALUE}). */
  private static final class HexDigits implements ByteProcessor {
    long value;

    @Override
    public boolean process(byte b) {
      int d = Character.digit(b, 16);
      if (d < 0) {
        return false;
      }
      value = value * 16 + d;
      return value <= Integer.MAX_VALUE;
    }
  }

  /**
   * Adds the data run {@code in[index, index + length)} to this read's body bytes. They are kept
   * as one run at the front of the data: a run after a chunk's framing is moved down over it, in
   * the read buffer itself (this handler is the buffer's only reader, and only bytes already
   * walked are overwritten), so that a read of many chunks is passed on as one slice — no buffer
   * and no copy elsewhere. A read-only buffer gets the runs copied into a new buffer instead.
   */
  private void addData(ByteBuf in, int index, int length) {
    if (dataStart < 0) {
      dataStart = index;
      dataEnd = index + length;
      return;
    }
    if (joined == null && in.isReadOnly()) {
      joined = in.alloc().buffer(in.writerIndex() - dataStart);
      joined.writeBytes(in, dataStart, dataEnd - dataStart);
    }
    if (joined != null) {
      joined.writeBytes(in, index, length);
    } else {
      in.setBytes(dataEnd, in, index, length); // moves left: never over a byte not yet walked
      dataEnd += length;
    }
  }

  /**
   * Passes this read's body bytes gathered so far on as one {@link HttpContent}: a {@link
   * FramedChunk} when they are the one whole chunk of this read, starting at {@code chunkStart}
   * (else -1), whose framing is still around them.
   */
  private void passData(ChannelHandlerContext ctx, ByteBuf in, int chunkStart) {
    if (dataStart < 0) {
      return;
    }
    ByteBuf content = joined != null ? joined : in.retainedSlice(dataStart, dataEnd - dataStart);
    HttpContent message = chunkStart >= 0 && joined == null
        ? new FramedChunk(content, in, chunkStart, dataEnd + 2 - chunkStart)
        : new DefaultHttpContent(content);
    dataStart = -1;
    joined = null;
    // Past the codec: its decoder would only pass an HttpContent on (it decodes ByteBufs), at the
    // cost of two handler hops per read; the handler after it gets the same message either way.
    // What goes to the codec itself (a head, a handed-back size line, the last chunk) still does.
    if (codec == null) {
      codec = ctx.pipeline().context(HttpClientCodec.class);
    }
    (codec != null ? codec : ctx).fireChannelRead(message);
  }

  /** Gives the codec (the next handler) a message of its own to decode or pass on. */
  private void toCodec(ChannelHandlerContext ctx, Object msg) {
    bodyOnly = false;
    ctx.fireChannelRead(msg);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (bodyOnly && codec != null) {
      codec.fireChannelReadComplete(); // past the codec, as the body's content went
    } else {
      ctx.fireChannelReadComplete();
    }
    bodyOnly = true;
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    releaseSizeLine();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    releaseSizeLine();
  }

  private void releaseSizeLine() {
    if (sizeLine != null) {
      sizeLine.release();
      sizeLine = null;
    }
  }
}
