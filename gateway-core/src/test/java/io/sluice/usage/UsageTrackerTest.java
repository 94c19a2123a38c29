package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.sluice.config.RouteConfig.Api;
import io.sluice.sse.SseEvent;
import io.sluice.sse.SseFramer;
import io.sluice.usage.UsageTracker.Verdict;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Usage, drop and content verdicts on the exact wire text of real provider streams. */
class UsageTrackerTest {
  private static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;
  /**
   * For the every-split-point loops only: thousands of framer runs under the paranoid leak detector
   * take minutes; buffer ownership is checked by every other test here and by SseFramerTest.
   */
  private static final ByteBufAllocator UNTRACKED = new UnpooledByteBufAllocator(false, true);

  static String fixture(String name) {
    try (InputStream in = UsageTrackerTest.class.getResourceAsStream("/usage/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What the client got, and the verdict for each whole event. */
  record Relayed(String wire, List<Verdict> verdicts, Usage usage) {
    long contentEvents() {
      return verdicts.stream().filter(Verdict::content).count();
    }
  }

  /** Runs a stream through the real framer (split at the given offsets) and the tracker, as the relay does. */
  static Relayed relay(UsageTracker tracker, String stream, int... splits) {
    return relay(ALLOC, tracker, stream, splits);
  }

  static Relayed relay(ByteBufAllocator alloc, UsageTracker tracker, String stream, int... splits) {
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<Verdict> verdicts = new ArrayList<>();
    SseFramer framer = new SseFramer(alloc, 256 * 1024);
    SseFramer.Sink sink = event -> {
      try {
        Verdict v = tracker.onEvent(SseEvent.parse(event));
        verdicts.add(v);
        if (!v.drop()) {
          byte[] copy = new byte[event.readableBytes()];
          event.readBytes(copy);
          out.writeBytes(copy);
        }
      } finally {
        event.release();
      }
    };
    int from = 0;
    for (int split : splits) {
      ByteBuf part = alloc.buffer(split - from);
      part.writeBytes(bytes, from, split - from);
      framer.feed(part, sink);
      from = split;
    }
    ByteBuf last = alloc.buffer(bytes.length - from);
    last.writeBytes(bytes, from, bytes.length - from);
    framer.feed(last, sink);
    ByteBuf rest = framer.drainRemainder();
    assertThat(rest).as("the fixture ends with a whole event").isNull();
    framer.release();
    return new Relayed(out.toString(StandardCharsets.UTF_8), verdicts, tracker.usage());
  }

  static String withoutEvent(String stream, String marker) {
    StringBuilder kept = new StringBuilder();
    for (String block : stream.split("(?<=\n\n)")) {
      if (!block.contains(marker)) {
        kept.append(block);
      }
    }
    return kept.toString();
  }

  static UsageTracker chat(boolean drop) {
    return new UsageTracker(Api.OPENAI_CHAT, true, drop, "gpt-4o", () -> 25);
  }

  // ------------------------------------------------------------------ OpenAI chat

  @Test
  void chatClientAskedForUsage_everyByteRelayed_usageExact() {
    String stream = fixture("openai-chat-usage.sse");
    Relayed r = relay(chat(false), stream);
    assertThat(r.wire()).isEqualTo(stream);
    assertThat(r.usage()).isEqualTo(new Usage(19, 10, 0, 0, "gpt-4o-2024-08-06", false));
    // role-only chunk, 9 content chunks, finish chunk, usage chunk, [DONE]
    assertThat(r.verdicts()).hasSize(13);
    assertThat(r.verdicts().get(0)).isEqualTo(Verdict.PASS);
    assertThat(r.verdicts().subList(1, 10)).containsOnly(Verdict.CONTENT);
    assertThat(r.verdicts().subList(10, 13)).containsOnly(Verdict.PASS);
  }

  @Test
  void chatGatewayAskedForUsage_onlyTheUsageChunkIsDropped() {
    String stream = fixture("openai-chat-usage.sse");
    Relayed r = relay(chat(true), stream);
    assertThat(r.wire()).isEqualTo(withoutEvent(stream, "\"choices\":[]"));
    assertThat(r.wire()).doesNotContain("\"prompt_tokens\"").endsWith("data: [DONE]\n\n");
    assertThat(r.verdicts()).containsOnlyOnce(Verdict.DROP);
    assertThat(r.verdicts().get(11)).isEqualTo(Verdict.DROP);
    assertThat(r.usage()).isEqualTo(new Usage(19, 10, 0, 0, "gpt-4o-2024-08-06", false));
  }

  @Test
  void chatUsageChunkAtEverySplitPoint() {
    String stream = fixture("openai-chat-usage.sse");
    String expected = withoutEvent(stream, "\"choices\":[]");
    int length = stream.getBytes(StandardCharsets.UTF_8).length;
    for (int split = 1; split < length; split++) {
      Relayed r = relay(UNTRACKED, chat(true), stream, split);
      assertThat(r.wire()).as("split at %d", split).isEqualTo(expected);
      assertThat(r.usage().inputTokens()).isEqualTo(19);
      assertThat(r.usage().outputTokens()).isEqualTo(10);
      assertThat(r.contentEvents()).isEqualTo(9);
    }
  }

  @Test
  void chatWithoutUsage_nothingDropped_outputEstimatedFromTheText() {
    String stream = fixture("openai-chat-no-usage.sse");
    Relayed r = relay(chat(true), stream); // the gateway asked, the upstream ignored it
    assertThat(r.wire()).isEqualTo(stream);
    assertThat(r.verdicts()).doesNotContain(Verdict.DROP);
    assertThat(r.contentEvents()).isEqualTo(9);
    Usage u = r.usage();
    assertThat(u.estimated()).isTrue();
    assertThat(u.outputTokens()).isEqualTo(TokenEstimator.count("Hello! How can I help you today?")).isEqualTo(9);
    assertThat(u.inputTokens()).as("the request's prompt estimate").isEqualTo(25);
    assertThat(u.model()).isEqualTo("gpt-4o-2024-08-06");
  }

  @Test
  void chatCachedAndReasoningTokens_reasoningDeltasAreContent() {
    String stream = fixture("openai-chat-cached-reasoning.sse");
    Relayed r = relay(chat(false), stream);
    assertThat(r.wire()).isEqualTo(stream);
    assertThat(r.usage()).isEqualTo(new Usage(1210, 171, 1152, 158, "deepseek-reasoner", false));
    assertThat(r.verdicts().get(0)).as("role chunk with empty reasoning_content").isEqualTo(Verdict.PASS);
    assertThat(r.contentEvents()).as("9 reasoning + 5 content chunks").isEqualTo(14);
    assertThat(r.verdicts().get(15)).as("finish chunk with empty content").isEqualTo(Verdict.PASS);
  }

  @Test
  void chatToolCalls_areContent_usageKeptForAClientThatAsked() {
    String stream = fixture("openai-chat-tool-calls.sse");
    Relayed r = relay(chat(false), stream);
    assertThat(r.wire()).isEqualTo(stream);
    assertThat(r.verdicts().subList(0, 8)).as("tool-call name chunk and argument chunks").containsOnly(Verdict.CONTENT);
    assertThat(r.verdicts().subList(8, 11)).containsOnly(Verdict.PASS);
    assertThat(r.usage()).isEqualTo(new Usage(81, 17, 0, 0, "gpt-4.1-mini-2025-04-14", false));
  }

  @Test
  void chatToolCallsWithoutUsage_estimateCountsNameAndArguments() {
    String stream = withoutEvent(fixture("openai-chat-tool-calls.sse"), "\"choices\":[]");
    Relayed r = relay(chat(true), stream);
    assertThat(r.wire()).isEqualTo(stream);
    assertThat(r.usage().estimated()).isTrue();
    assertThat(r.usage().outputTokens())
        .isEqualTo(TokenEstimator.count("get_weather{\"location\":\"Paris, France\"}"));
  }

  @Test
  void chatEmptyChoicesWithoutUsage_isNeverDropped() {
    // Azure OpenAI opens streams with a prompt-filter chunk that has "choices":[] and no usage
    String azure = "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\","
        + "\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":"
        + "{\"filtered\":false,\"severity\":\"safe\"}}}]}\n\n";
    String nullUsage = "data: {\"id\":\"x\",\"choices\":[],\"usage\":null}\n\n";
    String stream = azure + nullUsage + fixture("openai-chat-usage.sse");
    Relayed r = relay(chat(true), stream);
    assertThat(r.wire()).isEqualTo(withoutEvent(stream, "\"prompt_tokens\""));
    assertThat(r.verdicts().subList(0, 2)).containsOnly(Verdict.PASS);
    assertThat(r.usage().model()).as("an empty model is not a model").isEqualTo("gpt-4o-2024-08-06");
  }

  @Test
  void chatUsageChunkSeenTwice_countsOnce() {
    String stream = fixture("openai-chat-usage.sse");
    String usageChunk = stream.substring(stream.indexOf("data: {\"id\":\"chatcmpl-BjT3sWk1Xg9zKaqR7LmPvH2dYc5Nf\","
        + "\"object\":\"chat.completion.chunk\",\"created\":1750262400,\"model\":\"gpt-4o-2024-08-06\","
        + "\"service_tier\":\"default\",\"system_fingerprint\":\"fp_07871e2ad8\",\"choices\":[]"));
    usageChunk = usageChunk.substring(0, usageChunk.indexOf("\n\n") + 2);
    Relayed r = relay(chat(false), stream.replace(usageChunk, usageChunk + usageChunk));
    assertThat(r.usage()).isEqualTo(new Usage(19, 10, 0, 0, "gpt-4o-2024-08-06", false));
  }

  @Test
  void chatUsageInSeveralChunks_theFinalReportWins() {
    // vLLM's continuous_usage_stats: a running usage in every chunk
    String stream = "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}],"
        + "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":1,\"total_tokens\":8}}\n\n"
        + "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}],"
        + "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,\"total_tokens\":9}}\n\n"
        + "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[],"
        + "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,\"total_tokens\":9}}\n\n"
        + "data: [DONE]\n\n";
    Relayed r = relay(chat(true), stream);
    assertThat(r.verdicts()).containsExactly(Verdict.CONTENT, Verdict.CONTENT, Verdict.DROP, Verdict.PASS);
    assertThat(r.usage()).isEqualTo(new Usage(7, 2, 0, 0, "m", false));
  }

  // ------------------------------------------------------------------ OpenAI Responses

  @Test
  void responsesStream_usageFromResponseCompleted_deltasAreContent() {
    String stream = fixture("openai-responses.sse");
    Relayed r = relay(new UsageTracker(Api.OPENAI_RESPONSES, true, true, "o4-mini", () -> 30), stream);
    assertThat(r.wire()).as("nothing is ever dropped from a Responses stream").isEqualTo(stream);
    assertThat(r.usage()).isEqualTo(new Usage(1342, 203, 1280, 192, "o4-mini-2025-04-16", false));
    assertThat(r.contentEvents()).isEqualTo(9);
    assertThat(r.verdicts().subList(0, 6)).containsOnly(Verdict.PASS);
    assertThat(r.verdicts().subList(15, 19)).containsOnly(Verdict.PASS);
  }

  @Test
  void responsesStreamCutBeforeCompleted_estimated() {
    String stream = fixture("openai-responses.sse");
    stream = stream.substring(0, stream.indexOf("event: response.output_text.done"));
    Relayed r = relay(new UsageTracker(Api.OPENAI_RESPONSES, true, false, "o4-mini", () -> 30), stream);
    assertThat(r.usage()).isEqualTo(new Usage(30,
        TokenEstimator.count("Rust guarantees memory safety without a garbage collector."), 0, 0,
        "o4-mini-2025-04-16", true));
  }

  @Test
  void responsesEventsWithoutEventLines_typeReadFromData() {
    String stream = fixture("openai-responses.sse").replaceAll("(?m)^event: .*\n", "");
    Relayed r = relay(new UsageTracker(Api.OPENAI_RESPONSES, true, false, null, () -> -1), stream);
    assertThat(r.usage()).isEqualTo(new Usage(1342, 203, 1280, 192, "o4-mini-2025-04-16", false));
    assertThat(r.contentEvents()).isEqualTo(9);
  }

  // ------------------------------------------------------------------ Anthropic Messages

  @Test
  void anthropicStream_inputFromMessageStart_outputFromTheLastMessageDelta() {
    String stream = fixture("anthropic-messages.sse");
    Relayed r = relay(new UsageTracker(Api.ANTHROPIC_MESSAGES, true, true, "claude-sonnet-4-0", () -> 40), stream);
    assertThat(r.wire()).isEqualTo(stream);
    // input 472 fresh + 1024 written to the cache + 2048 read from it; output cumulative 12, not 9 + 12
    assertThat(r.usage()).isEqualTo(new Usage(472 + 1024 + 2048, 12, 2048, 0, "claude-sonnet-4-20250514", false));
    assertThat(r.verdicts()).containsExactly(Verdict.PASS, Verdict.PASS, Verdict.PASS,
        Verdict.CONTENT, Verdict.CONTENT, Verdict.CONTENT, Verdict.PASS, Verdict.PASS, Verdict.PASS, Verdict.PASS);
  }

  @Test
  void anthropicStreamAtEverySplitPoint() {
    String stream = fixture("anthropic-messages.sse");
    int length = stream.getBytes(StandardCharsets.UTF_8).length;
    for (int split = 1; split < length; split++) {
      Relayed r = relay(UNTRACKED, new UsageTracker(Api.ANTHROPIC_MESSAGES, true, false, null, () -> -1), stream, split / 2, split);
      assertThat(r.wire()).isEqualTo(stream);
      assertThat(r.usage().inputTokens()).as("split at %d", split).isEqualTo(3544);
      assertThat(r.usage().outputTokens()).isEqualTo(12);
      assertThat(r.contentEvents()).isEqualTo(3);
    }
  }

  @Test
  void anthropicEventsRepeated_countOnce() {
    String stream = fixture("anthropic-messages.sse");
    String start = stream.substring(0, stream.indexOf("event: content_block_start"));
    Relayed r = relay(new UsageTracker(Api.ANTHROPIC_MESSAGES, true, false, null, () -> -1), start + stream + stream);
    assertThat(r.usage()).isEqualTo(new Usage(3544, 12, 2048, 0, "claude-sonnet-4-20250514", false));
  }

  @Test
  void anthropicStreamCutBeforeMessageDelta_inputExact_outputEstimated() {
    String stream = fixture("anthropic-messages.sse");
    stream = stream.substring(0, stream.indexOf("event: message_delta"));
    Relayed r = relay(new UsageTracker(Api.ANTHROPIC_MESSAGES, true, false, null, () -> 99), stream);
    assertThat(r.usage()).isEqualTo(new Usage(3544, TokenEstimator.count("Hello! How can I help you today?"),
        2048, 0, "claude-sonnet-4-20250514", true));
  }

  // ------------------------------------------------------------------ the end of a stream (EndGate)

  /** The index of the first event after which {@link UsageTracker#endReached()} is true, or -1. */
  private static int endAt(UsageTracker tracker, String stream) {
    String[] blocks = stream.split("(?<=\n\n)");
    for (int i = 0; i < blocks.length; i++) {
      ByteBuf event = Unpooled.copiedBuffer(blocks[i], StandardCharsets.UTF_8);
      try {
        tracker.onEvent(SseEvent.parse(event));
      } finally {
        event.release();
      }
      if (tracker.endReached()) {
        return i;
      }
    }
    return -1;
  }

  @Test
  void theEndIsReachedAtTheUsageChunkOrTerminalEvent() {
    String chat = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}],"
        + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\n" // continuous usage: no end
        + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n"
        + "data: [DONE]\n\n";
    assertThat(endAt(chat(true), chat)).isEqualTo(1);
    assertThat(endAt(chat(false), "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
        + "data: [DONE]\n\n")).isEqualTo(1);
    String anthropic = fixture("anthropic-messages.sse");
    int delta = List.of(anthropic.split("(?<=\n\n)")).indexOf(
        List.of(anthropic.split("(?<=\n\n)")).stream().filter(b -> b.startsWith("event: message_delta")).findFirst().orElseThrow());
    assertThat(endAt(new UsageTracker(Api.ANTHROPIC_MESSAGES, true, false, null, () -> -1), anthropic)).isEqualTo(delta);
    String responses = fixture("openai-responses.sse");
    int completed = List.of(responses.split("(?<=\n\n)")).indexOf(
        List.of(responses.split("(?<=\n\n)")).stream().filter(b -> b.contains("response.completed")).findFirst().orElseThrow());
    assertThat(endAt(new UsageTracker(Api.OPENAI_RESPONSES, true, false, null, () -> -1), responses)).isEqualTo(completed);
  }

  // ------------------------------------------------------------------ non-streamed bodies

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 7, 64, 100_000})
  void nonStreamedBodies_anyChunking(int chunk) {
    assertThat(body(Api.OPENAI_CHAT, "openai-chat.json", chunk))
        .isEqualTo(new Usage(1536, 8, 1408, 0, "gpt-4o-mini-2024-07-18", false));
    assertThat(body(Api.OPENAI_RESPONSES, "openai-responses.json", chunk))
        .isEqualTo(new Usage(36, 541, 0, 512, "o3-2025-04-16", false));
    assertThat(body(Api.ANTHROPIC_MESSAGES, "anthropic-messages.json", chunk))
        .isEqualTo(new Usage(380 + 6144, 61, 6144, 0, "claude-opus-4-1-20250805", false));
  }

  private static Usage body(Api api, String name, int chunk) {
    byte[] json = fixture(name).getBytes(StandardCharsets.UTF_8);
    UsageTracker tracker = new UsageTracker(api, false, false, "requested", () -> 5);
    for (int i = 0; i < json.length; i += chunk) {
      ByteBuf part = ALLOC.directBuffer(); // the relay's buffers: direct, pooled
      try {
        part.writeBytes(json, i, Math.min(chunk, json.length - i));
        int readerIndex = part.readerIndex();
        tracker.onBodyChunk(part);
        assertThat(part.readerIndex()).isEqualTo(readerIndex);
      } finally {
        part.release();
      }
    }
    tracker.onBodyEnd();
    return tracker.usage();
  }

  @Test
  void nonStreamedBody_compositeBufferAndByteArray() {
    byte[] json = fixture("openai-chat.json").getBytes(StandardCharsets.UTF_8);
    UsageTracker tracker = new UsageTracker(Api.OPENAI_CHAT, false, false, null, () -> -1);
    ByteBuf composite = Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(json, 0, 100),
        Unpooled.wrappedBuffer(json, 100, json.length - 100));
    try {
      tracker.onBodyChunk(composite);
    } finally {
      composite.release();
    }
    tracker.onBodyEnd();
    assertThat(tracker.usage().outputTokens()).isEqualTo(8);

    UsageTracker whole = new UsageTracker(Api.OPENAI_CHAT, false, false, null, () -> -1);
    whole.onBody(json);
    assertThat(whole.usage()).isEqualTo(tracker.usage());
    assertThat(whole.usageReported()).isTrue();
  }

  @Test
  void nonStreamedBodyWithoutUsage_estimatedFromTheMessageText() {
    String json = "{\"id\":\"x\",\"model\":\"llama-3.1-8b\",\"choices\":[{\"index\":0,\"message\":"
        + "{\"role\":\"assistant\",\"content\":\"The capital of France is Paris.\"},\"finish_reason\":\"stop\"}]}";
    UsageTracker tracker = new UsageTracker(Api.OPENAI_CHAT, false, false, "llama", () -> 12);
    tracker.onBody(json.getBytes(StandardCharsets.UTF_8));
    assertThat(tracker.usage()).isEqualTo(new Usage(12, 7, 0, 0, "llama-3.1-8b", true));
    assertThat(tracker.usageReported()).isFalse();
  }

  @Test
  void nonStreamedBodyOverTheCap_estimatedByBytes() {
    String text = "word ".repeat(UsageTracker.MAX_BODY_BYTES / 5 + 1000);
    byte[] json = ("{\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
        + text + "\"}}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}").getBytes(StandardCharsets.UTF_8);
    UsageTracker tracker = new UsageTracker(Api.OPENAI_CHAT, false, false, "m", () -> 3);
    for (int i = 0; i < json.length; i += 65536) {
      tracker.onBodyChunk(json, i, Math.min(65536, json.length - i));
    }
    tracker.onBodyEnd();
    Usage u = tracker.usage();
    assertThat(u.estimated()).isTrue();
    assertThat(u.model()).isEqualTo("m");
    assertThat(u.outputTokens()).isEqualTo(TokenEstimator.bytesRule(json.length - UsageTracker.MAX_BODY_BYTES));
  }

  // ------------------------------------------------------------------ never throws

  @ParameterizedTest
  @ValueSource(strings = {
      "data: {not json\n\n",
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":19,\n\n",
      "data: {\"choices\":[],\"usage\":\"lots\"}\n\n",
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":\"19\",\"completion_tokens\":-3}}\n\n",
      "data: {\"choices\":{},\"usage\":{\"prompt_tokens\":1e400,\"completion_tokens\":99999999999999999999999}}\n\n",
      "data: [1,2,3]\n\n",
      "data: \"just a string\"\n\n",
      "data: {\"a\":1} {\"b\":2}\n\n",
      "data: {\"choices\":[{\"delta\":{\"content\":[\"not\",\"a\",\"string\"]}}]}\n\n",
      "data:\n\n",
      ": keep-alive\n\n",
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":\n\n",
      "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":null}\n\n",
      "event: message_delta\ndata: {\"usage\":{\"output_tokens\":null}}\n\n",
      "data: " + "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n\n",
  })
  void malformedEvents_neverThrow_usageStaysUnknown(String event) {
    for (Api api : new Api[] {Api.OPENAI_CHAT, Api.OPENAI_RESPONSES, Api.ANTHROPIC_MESSAGES}) {
      UsageTracker tracker = new UsageTracker(api, true, true, "m", () -> 4);
      Relayed[] r = new Relayed[1];
      assertThatCode(() -> r[0] = relay(tracker, event)).doesNotThrowAnyException();
      assertThat(r[0].wire()).as("%s: a malformed event is relayed", api).isEqualTo(event);
      assertThat(r[0].usage().estimated()).isTrue();
      assertThat(r[0].usage().inputTokens()).isEqualTo(4);
      assertThat(r[0].usage().outputTokens()).isZero();
      UsageTracker bodyTracker = new UsageTracker(api, false, false, "m", () -> 4);
      assertThatCode(() -> bodyTracker.onBody(event.getBytes(StandardCharsets.UTF_8))).doesNotThrowAnyException();
      assertThat(bodyTracker.usage().estimated()).isTrue();
    }
  }

  @Test
  void passthrough_isNeverTouched() {
    String stream = fixture("openai-chat-usage.sse");
    Relayed r = relay(new UsageTracker(Api.PASSTHROUGH, true, true, "m", () -> 4), stream);
    assertThat(r.wire()).isEqualTo(stream);
    assertThat(r.verdicts()).containsOnly(Verdict.PASS);
    assertThat(r.usage()).isNull();
  }

  @Test
  void forRequest_carriesTheDropFlagModelAndPromptEstimate() {
    byte[] body = "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
        .getBytes(StandardCharsets.UTF_8);
    RequestInfo info = RequestRewriter.inspect(Api.OPENAI_CHAT, body);
    String stream = fixture("openai-chat-no-usage.sse");
    Relayed r = relay(UsageTracker.forRequest(Api.OPENAI_CHAT, info, true), fixture("openai-chat-usage.sse"));
    assertThat(r.verdicts()).containsOnlyOnce(Verdict.DROP);
    Relayed none = relay(UsageTracker.forRequest(Api.OPENAI_CHAT, info, true), stream);
    assertThat(none.usage().inputTokens()).isEqualTo(info.promptTokens());
    UsageTracker nonStreamed = UsageTracker.forRequest(Api.OPENAI_CHAT, info, false);
    Relayed events = relay(nonStreamed, fixture("openai-chat-usage.sse"));
    assertThat(events.verdicts()).as("the drop flag only applies to a streamed response").doesNotContain(Verdict.DROP);
    // a tracker not told that its response streams still reads the events that come
    assertThat(events.verdicts()).contains(Verdict.CONTENT);
    assertThat(events.usage()).isEqualTo(r.usage());
    assertThat(nonStreamed.endReached()).isTrue();
  }
}
