package io.sluice.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.usage.Usage;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Usage from OpenAI Realtime {@code response.done} events, on exact wire text. */
class RealtimeUsageTest {

  private static boolean feed(RealtimeUsage usage, String text) {
    ByteBuf buf = Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
    try {
      boolean counted = usage.onText(buf);
      assertThat(buf.readableBytes()).as("the frame is left as it was").isEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
      return counted;
    } finally {
      buf.release();
    }
  }

  @Test
  void sumsTheUsageOfEveryResponseDoneOfTheSession() {
    RealtimeUsage usage = new RealtimeUsage("gpt-realtime");
    assertThat(feed(usage, "{\"event_id\":\"event_1\",\"type\":\"response.done\",\"response\":{\"object\":\"realtime.response\","
        + "\"status\":\"completed\",\"output\":[],\"usage\":{\"total_tokens\":275,\"input_tokens\":127,\"output_tokens\":148,"
        + "\"input_token_details\":{\"cached_tokens\":64,\"text_tokens\":119,\"audio_tokens\":8},"
        + "\"output_token_details\":{\"text_tokens\":36,\"audio_tokens\":112}}}}")).isTrue();
    assertThat(feed(usage, "{\"type\":\"response.done\",\"response\":{\"usage\":{\"input_tokens\":3,\"output_tokens\":2}}}"))
        .isTrue();
    assertThat(usage.usage()).isEqualTo(new Usage(130, 150, 64, 0, "gpt-realtime", false));
  }

  @Test
  void ignoresOtherEventsAndLookalikes() {
    RealtimeUsage usage = new RealtimeUsage(null);
    assertThat(feed(usage, "{\"type\":\"response.audio.delta\",\"delta\":\"AAAA\"}")).isFalse();
    assertThat(feed(usage, "{\"type\":\"conversation.item.created\",\"item\":{\"text\":\"say \\\"response.done\\\"\"}}"))
        .isFalse();
    assertThat(feed(usage, "{\"type\":\"response.done\",\"response\":{\"status\":\"cancelled\"}}")).isFalse();
    assertThat(feed(usage, "\"response.done\" but not JSON {")).isFalse();
    // The type far into a large event: not scanned for (OpenAI puts it first).
    assertThat(feed(usage, "{\"pad\":\"" + "x".repeat(400) + "\",\"type\":\"response.done\",\"response\":{\"usage\":{\"input_tokens\":1}}}"))
        .isFalse();
    assertThat(usage.usage()).isNull();
  }
}
