package io.sluice.session;

import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The wire form of session events: the {@code id: <stream-id>.<seq>} the gateway stamps on every
 * event it relays (gateway-core/docs/streams.md, "Resume"), and reading it back from
 * {@code Last-Event-ID}.
 */
public final class SessionEvents {
  private SessionEvents() {}

  /** A position in a stream: the client has seen events {@code 1..seq} of stream {@code streamId}. */
  public record Position(String streamId, long seq) {
    public String lastEventId() {
      return streamId + "." + seq;
    }
  }

  /**
   * The position a {@code Last-Event-ID} names, or null when it is not one of ours (it is then
   * the upstream's business: forwarded untouched).
   */
  public static Position position(String lastEventId) {
    if (lastEventId == null) {
      return null;
    }
    String value = lastEventId.trim();
    int dot = value.indexOf('.');
    if (dot != 32 || value.length() > 32 + 1 + 18) {
      return null;
    }
    for (int i = 0; i < 32; i++) {
      char c = value.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return null;
      }
    }
    long seq = 0;
    if (dot + 1 == value.length()) {
      return null;
    }
    for (int i = dot + 1; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return null;
      }
      seq = seq * 10 + (c - '0');
    }
    return new Position(value.substring(0, 32), seq);
  }

  /**
   * The event as the client gets it: {@code id: <stream-id>.<seq>} first, then the event's own
   * lines except its {@code id} field (ours replaces it), byte for byte with their line endings.
   * Does not consume {@code event}.
   */
  public static byte[] stamp(ByteBuf event, String streamId, long seq) {
    int from = event.readerIndex();
    int to = event.writerIndex();
    ByteArrayOutputStream out = new ByteArrayOutputStream(to - from + 48);
    byte[] idLine = ("id: " + streamId + "." + seq + "\n").getBytes(StandardCharsets.US_ASCII);
    out.write(idLine, 0, idLine.length);
    int i = from;
    while (i < to) {
      int end = i;
      while (end < to && event.getByte(end) != '\n' && event.getByte(end) != '\r') {
        end++;
      }
      int next = end;
      if (next < to) {
        next += event.getByte(next) == '\r' && next + 1 < to && event.getByte(next + 1) == '\n' ? 2 : 1;
      }
      if (!isIdField(event, i, end)) {
        byte[] line = new byte[next - i];
        event.getBytes(i, line);
        out.write(line, 0, line.length);
      }
      i = next;
    }
    return out.toByteArray();
  }

  /** The line {@code [start, end)} is an {@code id} field ({@code id}, or {@code id:…}). */
  private static boolean isIdField(ByteBuf event, int start, int end) {
    return end - start >= 2 && event.getByte(start) == 'i' && event.getByte(start + 1) == 'd'
        && (end - start == 2 || event.getByte(start + 2) == ':');
  }
}
