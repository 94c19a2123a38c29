package io.sluice.sse;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * The fields of one SSE event, parsed the way a browser's EventSource does (WHATWG HTML §9.2.6).
 * Used where the gateway keeps an event's fields (stream sessions: resume and polls), never to re-encode it;
 * usage tracking reads events from their bytes ({@link SseFields}).
 *
 * @param event the {@code event:} field, or null (the default type "message")
 * @param data the {@code data:} lines joined by LF, or null when the block had none (comments only)
 * @param id the {@code id:} field, or null
 */
public record SseEvent(String event, String data, String id) {

  /** True for a block of comment lines only, such as {@code : ping}. */
  public boolean isCommentOnly() {
    return event == null && data == null && id == null;
  }

  /** Parses one event block as emitted by {@link SseFramer}; does not consume the buffer. */
  public static SseEvent parse(ByteBuf block) {
    String text = block.toString(StandardCharsets.UTF_8);
    String event = null;
    String id = null;
    StringBuilder data = null;
    int i = 0;
    int n = text.length();
    while (i < n) {
      int end = i;
      while (end < n && text.charAt(end) != '\n' && text.charAt(end) != '\r') {
        end++;
      }
      String line = text.substring(i, end);
      if (end < n && text.charAt(end) == '\r' && end + 1 < n && text.charAt(end + 1) == '\n') {
        end++;
      }
      i = end + 1;
      if (line.isEmpty() || line.charAt(0) == ':') {
        continue;
      }
      int colon = line.indexOf(':');
      String field = colon < 0 ? line : line.substring(0, colon);
      String value = colon < 0 ? "" : line.substring(colon + 1);
      if (value.startsWith(" ")) {
        value = value.substring(1);
      }
      switch (field) {
        case "event" -> event = value;
        case "data" -> {
          if (data == null) {
            data = new StringBuilder(value);
          } else {
            data.append('\n').append(value);
          }
        }
        case "id" -> {
          if (value.indexOf('\0') < 0) {
            id = value;
          }
        }
        default -> { } // retry and unknown fields do not matter to the gateway
      }
    }
    return new SseEvent(event, data == null ? null : data.toString(), id);
  }
}
