package io.sluice.websocket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.sluice.usage.Usage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Token usage of a realtime session, read from the upstream's {@code response.done} events
 * (OpenAI Realtime shape: {@code {"type":"response.done","response":{"usage":{"input_tokens":…,
 * "output_tokens":…,"input_token_details":{"cached_tokens":…}}}}}), summed over the session.
 *
 * <p>Cost: every upstream text frame gets one bounded byte scan of its first bytes for
 * {@code "response.done"}; only frames that pass are parsed (once per model response). Binary
 * frames, fragments of a larger message and compressed frames (RSV1, {@code permessage-deflate})
 * are never looked at: the gateway does not re-assemble or inflate.
 *
 * <p>Threading: confined to the session's event loop.
 */
final class RealtimeUsage {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] NEEDLE = "\"response.done\"".getBytes(StandardCharsets.US_ASCII);
  /** Where the event's {@code type} is looked for; OpenAI sends it first, after {@code event_id}. */
  private static final int SCAN = 256;
  /** Larger events are not parsed (a response.done carries the whole output, transcripts included). */
  static final int MAX_PARSED = 1024 * 1024;

  private final String model;
  private long input;
  private long output;
  private long cached;
  private long reasoning;
  private boolean seen;

  /** @param model the requested model (the upgrade's {@code ?model=}), or null */
  RealtimeUsage(String model) {
    this.model = model;
  }

  /**
   * Looks at one whole, uncompressed text message from the upstream.
   *
   * @return whether it was a {@code response.done} with usage
   */
  boolean onText(ByteBuf payload) {
    int length = payload.readableBytes();
    if (length > MAX_PARSED || !startsLikeResponseDone(payload)) {
      return false;
    }
    JsonNode event;
    try (ByteBufInputStream in = new ByteBufInputStream(payload.duplicate())) {
      event = JSON.readTree((InputStream) in);
    } catch (IOException e) {
      return false; // not JSON after all: relayed as it is, nothing counted
    }
    if (event == null || !"response.done".equals(event.path("type").asText())) {
      return false;
    }
    JsonNode usage = event.path("response").path("usage");
    if (!usage.isObject()) {
      return false;
    }
    seen = true;
    input += usage.path("input_tokens").asLong(0);
    output += usage.path("output_tokens").asLong(0);
    cached += usage.path("input_token_details").path("cached_tokens").asLong(0);
    reasoning += usage.path("output_token_details").path("reasoning_tokens").asLong(0);
    return true;
  }

  private static boolean startsLikeResponseDone(ByteBuf payload) {
    int start = payload.readerIndex();
    int end = start + Math.min(payload.readableBytes(), SCAN) - NEEDLE.length;
    outer:
    for (int i = start; i <= end; i++) {
      for (int j = 0; j < NEEDLE.length; j++) {
        if (payload.getByte(i + j) != NEEDLE[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  /** The session's usage so far, or null when the upstream reported none. */
  Usage usage() {
    return seen ? new Usage(input, output, cached, reasoning, model, false) : null;
  }
}
