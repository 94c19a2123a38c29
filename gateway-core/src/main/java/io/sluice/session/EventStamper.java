package io.sluice.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Stamps one event of a session the way the client gets it (gateway-core/docs/streams.md, resume):
 * {@code id: <stream-id>.<seq>} before the event's first line, the event's own {@code id} field
 * lines left out (ours replaces them), every other byte as received, line endings included.
 *
 * <p>Line ends before the event's first line stay before the id line. {@link
 * io.sluice.sse.SseFramer} emits an event at the CR of its blank line when the LF is not there
 * yet, and that LF then starts the next event's bytes: an id line written before it would be
 * followed by an empty line — an event of its own, carrying only the id — and the event itself
 * would reach the client without it. Written after it, the upstream's CRLF stays whole and the
 * bytes the client gets do not depend on where the upstream's reads were split.
 *
 * <p>Fed either a whole event ({@link SessionEvents#stamp}) or, part after part, the fragments of
 * an event too large for the framer to hold. A line may then be split between two fragments:
 * the first two bytes of a line ({@code i}, {@code id}) are held until the next byte tells
 * whether the line is an {@code id} field — at most two bytes, whatever the event's size.
 *
 * <p>Threading: not thread-safe; one stamper per event, used on its stream's event loop.
 */
public final class EventStamper {
  private static final int LINE_START = 0;
  private static final int AFTER_I = 1; // "i" held
  private static final int AFTER_ID = 2; // "id" held
  private static final int COPY = 3; // inside a line that is kept
  private static final int DROP = 4; // inside an id field line

  private final byte[] idLine;
  private boolean idWritten;
  private int state = LINE_START;
  private boolean afterCr; // the last byte was a CR: an LF now is the rest of that line end
  private boolean droppedLine; // the line that CR ended was an id field: its LF goes too

  public EventStamper(String streamId, long seq) {
    this.idLine = ("id: " + streamId + "." + seq + "\n").getBytes(StandardCharsets.US_ASCII);
  }

  /** The next bytes of the event as the client gets them. Does not consume {@code part}. */
  public byte[] stamp(ByteBuf part) {
    // One bulk copy: a getByte per byte of a leak-aware buffer records a stack trace each under
    // the paranoid leak detector the tests run with.
    byte[] in = ByteBufUtil.getBytes(part);
    byte[] out = new byte[in.length + 2 + (idWritten ? 0 : idLine.length)];
    int n = 0;
    for (byte b : in) {
      n = step(b, out, n);
    }
    return n == out.length ? out : Arrays.copyOf(out, n);
  }

  /**
   * The end of the event: what is still held ({@code i} of an unterminated last line; an
   * unterminated {@code id} is an id field, left out). Nothing for an event that ends with its
   * blank line, as every event the framer emits does.
   */
  public byte[] end() {
    byte[] held = state == AFTER_I ? new byte[] {'i'} : new byte[0];
    state = LINE_START;
    return held;
  }

  private int step(byte b, byte[] out, int n) {
    if (afterCr) {
      afterCr = false;
      if (b == '\n') { // CRLF: one line end
        if (!droppedLine) {
          out[n++] = b;
        }
        return n;
      }
    }
    boolean lineEnd = b == '\n' || b == '\r';
    if (!idWritten) {
      if (lineEnd) {
        out[n++] = b; // before the event's first line: see the class comment
        endLine(b, false);
        return n;
      }
      System.arraycopy(idLine, 0, out, n, idLine.length);
      n += idLine.length;
      idWritten = true;
    }
    switch (state) {
      case LINE_START -> {
        if (b == 'i') {
          state = AFTER_I;
        } else {
          out[n++] = b;
          if (lineEnd) {
            endLine(b, false);
          } else {
            state = COPY;
          }
        }
      }
      case AFTER_I -> {
        if (b == 'd') {
          state = AFTER_ID;
        } else {
          out[n++] = 'i';
          out[n++] = b;
          if (lineEnd) {
            endLine(b, false);
          } else {
            state = COPY;
          }
        }
      }
      case AFTER_ID -> {
        if (b == ':') {
          state = DROP;
        } else if (lineEnd) {
          endLine(b, true); // a bare "id" line is an id field too (it resets the client's id)
        } else {
          out[n++] = 'i';
          out[n++] = 'd';
          out[n++] = b;
          state = COPY;
        }
      }
      case DROP -> {
        if (lineEnd) {
          endLine(b, true);
        }
      }
      default -> {
        out[n++] = b;
        if (lineEnd) {
          endLine(b, false);
        }
      }
    }
    return n;
  }

  private void endLine(byte b, boolean dropped) {
    state = LINE_START;
    afterCr = b == '\r';
    droppedLine = dropped;
  }
}
