package io.sluice.translate;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.sluice.config.RouteConfig.Api;
import io.sluice.sse.SseEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the stream translators do with events that are not part of a well-formed stream. */
class StreamTranslatorTest {
  private final List<String> out = new ArrayList<>();

  private void feed(StreamTranslator t, String event) {
    ByteBuf in = Unpooled.copiedBuffer(event, StandardCharsets.UTF_8);
    try {
      t.translate(in, b -> {
        out.add(b.toString(StandardCharsets.UTF_8));
        b.release();
      });
      assertThat(in.refCnt()).as("the caller keeps the event").isEqualTo(1);
    } finally {
      in.release();
    }
  }

  private static StreamTranslator chatClient() {
    return Translation.between(Api.OPENAI_CHAT, Api.ANTHROPIC_MESSAGES, Goldens.CLOCK)
        .stream(new TranslatedRequest(new byte[0], true, false), UnpooledByteBufAllocator.DEFAULT);
  }

  private static StreamTranslator messagesClient() {
    return Translation.between(Api.ANTHROPIC_MESSAGES, Api.OPENAI_CHAT, Goldens.CLOCK)
        .stream(new TranslatedRequest(new byte[0], true, false), UnpooledByteBufAllocator.DEFAULT);
  }

  @Test
  void aMalformedEventEndsAChatClientsStreamWithAnErrorEvent() {
    StreamTranslator t = chatClient();
    feed(t, "event: content_block_delta\ndata: {\"type\":\"content_block_del"); // a fragment of a long event
    assertThat(out).hasSize(1);
    SseEvent error = SseEvent.parse(Unpooled.copiedBuffer(out.get(0), StandardCharsets.UTF_8));
    assertThat(error.event()).isEqualTo("error");
    assertThat(error.data()).contains("\"code\":\"malformed_event\"");
    assertThat(t.finished()).isTrue();
    feed(t, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    t.end(b -> out.add("after end: " + b.release()));
    assertThat(out).as("nothing after the error").hasSize(1);
  }

  @Test
  void aMalformedEventEndsAMessagesClientsStreamWithAnErrorEvent() {
    StreamTranslator t = messagesClient();
    feed(t, "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x");
    assertThat(out).hasSize(1);
    assertThat(out.get(0)).startsWith("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"");
    assertThat(t.finished()).isTrue();
  }

  @Test
  void commentsAndUnknownEventTypesTranslateToNothing() {
    StreamTranslator chat = chatClient();
    feed(chat, ": keep-alive\n\n");
    feed(chat, "event: something_new\ndata: {\"type\":\"something_new\"}\n\n");
    StreamTranslator messages = messagesClient();
    feed(messages, ": OPENROUTER PROCESSING\n\n");
    assertThat(out).isEmpty();
    assertThat(chat.finished()).isFalse();
  }

  @Test
  void aStreamThatNeverStartedEndsWithAnErrorNotSilence() {
    StreamTranslator t = messagesClient();
    feed(t, "data: [DONE]\n\n");
    assertThat(out).hasSize(1);
    assertThat(out.get(0)).startsWith("event: error\n").contains("ended without any content");
  }
}
