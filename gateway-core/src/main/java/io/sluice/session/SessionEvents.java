package io.sluice.session;

import io.netty.buffer.ByteBuf;

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
   * The event as the client gets it: {@code id: <stream-id>.<seq>} before its first line, then the
   * event's own lines except its {@code id} field (ours replaces it), byte for byte with their line
   * endings (see {@link EventStamper}). Does not consume {@code event}.
   */
  public static byte[] stamp(ByteBuf event, String streamId, long seq) {
    EventStamper stamper = new EventStamper(streamId, seq);
    byte[] stamped = stamper.stamp(event);
    byte[] held = stamper.end();
    if (held.length == 0) {
      return stamped;
    }
    byte[] out = java.util.Arrays.copyOf(stamped, stamped.length + held.length);
    System.arraycopy(held, 0, out, stamped.length, held.length);
    return out;
  }
}
