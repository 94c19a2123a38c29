package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.config.RouteConfig.Api;
import io.sluice.relay.SseEvent;
import io.sluice.relay.SseFramer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Usage read from real providers' wire text, for each API; content detection for TTFT. */
class UsageTrackerTest {
  private static final String OPENAI_STREAM_WITH_USAGE = """
      data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}

      data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}],"usage":null}

      data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":" world"},"finish_reason":null}],"usage":null}

      data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}

      data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":2,"total_tokens":1202,"prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{"reasoning_tokens":0}}}

      data: [DONE]

      """;

  private static final String RESPONSES_STREAM = """
      event: response.created
      data: {"type":"response.created","response":{"id":"r1","model":"gpt-4.1","status":"in_progress","usage":null}}

      event: response.output_text.delta
      data: {"type":"response.output_text.delta","item_id":"m1","output_index":0,"content_index":0,"delta":"Hi"}

      event: response.output_text.delta
      data: {"type":"response.output_text.delta","item_id":"m1","output_index":0,"content_index":0,"delta":" there"}

      event: response.completed
      data: {"type":"response.completed","response":{"id":"r1","model":"gpt-4.1","status":"completed","usage":{"input_tokens":37,"input_tokens_details":{"cached_tokens":0},"output_tokens":11,"output_tokens_details":{"reasoning_tokens":4},"total_tokens":48}}}

      """;

  private static final String ANTHROPIC_STREAM = """
      event: message_start
      data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1}}}

      event: content_block_start
      data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

      event: ping
      data: {"type": "ping"}

      event: content_block_delta
      data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}

      event: content_block_stop
      data: {"type":"content_block_stop","index":0}

      event: message_delta
      data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}}

      event: message_delta
      data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

      event: message_stop
      data: {"type":"message_stop"}

      """;

  /** Feeds a stream through the real framer; returns each event's verdict. */
  private static List<UsageTracker.Verdict> feed(UsageTracker tracker, String stream) {
    List<UsageTracker.Verdict> verdicts = new ArrayList<>();
    SseFramer framer = new SseFramer(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, 1 << 20);
    framer.feed(Unpooled.copiedBuffer(stream, StandardCharsets.UTF_8), (ByteBuf event) -> {
      verdicts.add(tracker.onEvent(SseEvent.parse(event)));
      event.release();
    });
    framer.release();
    return verdicts;
  }

  @Test
  void readsOpenAiStreamUsageAndDropsTheChunkOnlyWhenTheGatewayAskedForIt() {
    UsageTracker asked = new UsageTracker(Api.OPENAI_CHAT, "gpt-4o", true);
    assertThat(feed(asked, OPENAI_STREAM_WITH_USAGE)).containsExactly(
        UsageTracker.Verdict.PASS, // role-only first chunk: not a token
        UsageTracker.Verdict.CONTENT, UsageTracker.Verdict.CONTENT,
        UsageTracker.Verdict.PASS, UsageTracker.Verdict.DROP, UsageTracker.Verdict.PASS);
    assertThat(asked.usage()).isEqualTo(new Usage(1200, 2, 1024, 0, "gpt-4o-2024-08-06", false));

    UsageTracker clientAsked = new UsageTracker(Api.OPENAI_CHAT, "gpt-4o", false);
    assertThat(feed(clientAsked, OPENAI_STREAM_WITH_USAGE)).doesNotContain(UsageTracker.Verdict.DROP);
    assertThat(clientAsked.usage().outputTokens()).isEqualTo(2);
  }

  @Test
  void estimatesOutputFromTheStreamedTextWhenNoUsageCame() {
    String withoutUsage = OPENAI_STREAM_WITH_USAGE.lines()
        .filter(l -> !l.contains("\"choices\":[]")).reduce("", (a, b) -> a + b + "\n");
    UsageTracker tracker = new UsageTracker(Api.OPENAI_CHAT, "gpt-4o", false);
    feed(tracker, withoutUsage);
    Usage u = tracker.usage();
    assertThat(u.estimated()).isTrue();
    assertThat(u.outputTokens()).isEqualTo(3); // "Hello world" = 11 bytes, 4 bytes per token, rounded up
  }

  @Test
  void readsResponsesUsageFromResponseCompleted() {
    UsageTracker tracker = new UsageTracker(Api.OPENAI_RESPONSES, null, false);
    assertThat(feed(tracker, RESPONSES_STREAM)).containsExactly(UsageTracker.Verdict.PASS,
        UsageTracker.Verdict.CONTENT, UsageTracker.Verdict.CONTENT, UsageTracker.Verdict.PASS);
    assertThat(tracker.usage()).isEqualTo(new Usage(37, 11, 0, 4, "gpt-4.1", false));
  }

  @Test
  void readsAnthropicInputFromMessageStartAndTheLastCumulativeOutput() {
    UsageTracker tracker = new UsageTracker(Api.ANTHROPIC_MESSAGES, null, false);
    List<UsageTracker.Verdict> verdicts = feed(tracker, ANTHROPIC_STREAM);
    assertThat(verdicts.stream().filter(v -> v == UsageTracker.Verdict.CONTENT)).hasSize(2);
    // input = 25 fresh + 100 read from cache + 10 written to cache; output is cumulative: 15, not 12+15
    assertThat(tracker.usage()).isEqualTo(new Usage(135, 15, 100, 0, "claude-sonnet-4-5", false));
  }

  @Test
  void readsUsageFromNonStreamedBodies() {
    UsageTracker chat = new UsageTracker(Api.OPENAI_CHAT, "m", false);
    chat.onBody("""
        {"id":"c","object":"chat.completion","model":"qwen-7b","choices":[{"message":{"role":"assistant","content":"Hi"}}],
         "usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}""".getBytes(StandardCharsets.UTF_8));
    assertThat(chat.usage()).isEqualTo(new Usage(9, 1, 0, 0, "qwen-7b", false));

    UsageTracker anthropic = new UsageTracker(Api.ANTHROPIC_MESSAGES, null, false);
    anthropic.onBody("""
        {"id":"m","type":"message","model":"claude","content":[{"type":"text","text":"Hi"}],
         "usage":{"input_tokens":20,"cache_read_input_tokens":5,"output_tokens":3}}""".getBytes(StandardCharsets.UTF_8));
    assertThat(anthropic.usage()).isEqualTo(new Usage(25, 3, 5, 0, "claude", false));
  }

  @Test
  void malformedEventsAreRelayedAndCountNothing() {
    UsageTracker tracker = new UsageTracker(Api.OPENAI_CHAT, "m", true);
    assertThat(tracker.onEvent(new SseEvent(null, "{not json \"delta\"", null))).isEqualTo(UsageTracker.Verdict.PASS);
    assertThat(tracker.usage()).isNull();
  }

  @Test
  void asksForUsageOnlyOnStreamedRequestsThatDidNotAsk() {
    byte[] streamed = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.2}"
        .getBytes(StandardCharsets.UTF_8);
    RequestRewriter.Result r = RequestRewriter.openAiChat(streamed);
    assertThat(r.rewritten()).isTrue();
    assertThat(r.dropUsageChunk()).isTrue();
    assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(
        "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.2,"
            + "\"stream_options\":{\"include_usage\":true}}");

    byte[] asked = "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}".getBytes(StandardCharsets.UTF_8);
    assertThat(RequestRewriter.openAiChat(asked).body()).isSameAs(asked);
    byte[] plain = "{\"model\":\"m\",\"messages\":[]}".getBytes(StandardCharsets.UTF_8);
    assertThat(RequestRewriter.openAiChat(plain).body()).isSameAs(plain);
    byte[] notJson = "hello".getBytes(StandardCharsets.UTF_8);
    assertThat(RequestRewriter.openAiChat(notJson).body()).isSameAs(notJson);
  }
}
