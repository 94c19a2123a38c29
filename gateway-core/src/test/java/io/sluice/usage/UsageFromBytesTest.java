package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.config.RouteConfig.Api;
import io.sluice.sse.SseFramer;
import io.sluice.usage.UsageTracker.Verdict;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The per-event fast path ({@link UsageTracker#onEvent(ByteBuf)}: {@code SseFields} +
 * {@code ChunkReader}) on tricky bytes, each checked against the parser reading every event
 * ({@link UsageTracker#parseEveryEvent()}): same verdicts, same usage, same estimate.
 */
class UsageFromBytesTest {
  private static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

  record Run(List<Verdict> verdicts, Usage usage) {}

  /** Frames {@code stream} in one read and gives every whole event to {@code tracker} as bytes. */
  static Run run(UsageTracker tracker, String stream) {
    List<Verdict> verdicts = new ArrayList<>();
    SseFramer framer = new SseFramer(ALLOC, 256 * 1024);
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    ByteBuf in = ALLOC.directBuffer(bytes.length).writeBytes(bytes);
    framer.feed(in, event -> {
      try {
        int readerIndex = event.readerIndex();
        int refCnt = event.refCnt();
        verdicts.add(tracker.onEvent(event));
        assertThat(event.readerIndex()).as("not consumed").isEqualTo(readerIndex);
        assertThat(event.refCnt()).isEqualTo(refCnt);
      } finally {
        event.release();
      }
    });
    assertThat(framer.drainRemainder()).isNull();
    framer.release();
    return new Run(verdicts, tracker.usage());
  }

  /** As the relay reads them: every whole event from the array the framer scanned it in. */
  static Run runInArray(UsageTracker tracker, String stream) {
    List<Verdict> verdicts = new ArrayList<>();
    SseFramer framer = new SseFramer(ALLOC, 256 * 1024);
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    ByteBuf in = ALLOC.directBuffer(bytes.length).writeBytes(bytes);
    framer.feed(in, new SseFramer.Sink() {
      @Override
      public void event(ByteBuf event) {
        throw new AssertionError("read in place");
      }

      @Override
      public void event(ByteBuf buffer, int index, int length) {
        verdicts.add(tracker.onEvent(buffer, index, length)); // across the edge of a window of a long read
      }

      @Override
      public void event(ByteBuf buffer, int index, int length, byte[] array, int offset) {
        verdicts.add(tracker.onEvent(array, offset, length));
      }
    });
    assertThat(framer.drainRemainder()).isNull();
    framer.release();
    return new Run(verdicts, tracker.usage());
  }

  /** The fast path (from a buffer, and from the framer's array) and the parser agree on {@code stream}; returns the fast path's run. */
  static Run same(Supplier<UsageTracker> tracker, String stream) {
    Run fast = run(tracker.get(), stream);
    Run parsed = run(tracker.get().parseEveryEvent(), stream);
    assertThat(fast).isEqualTo(parsed);
    assertThat(runInArray(tracker.get(), stream)).isEqualTo(fast);
    return fast;
  }

  static UsageTracker chat() {
    return new UsageTracker(Api.OPENAI_CHAT, true, true, "requested", () -> 11);
  }

  static String chunk(String delta) {
    return "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"
        + "\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n";
  }

  static final String USAGE_CHUNK = "data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[],"
      + "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}\n\n";

  @Test
  void escapedQuotesAndBackslashesInContent_areContent_estimateCountsTheDecodedText() {
    String stream = chunk("{\"content\":\"say \\\"hi\\\" \\\\\"}") + chunk("{\"content\":\"\\n\\ttab \\u00e9t\\u00e9\"}");
    Run r = same(UsageFromBytesTest::chat, stream);
    assertThat(r.verdicts()).containsExactly(Verdict.CONTENT, Verdict.CONTENT);
    assertThat(r.usage().estimated()).isTrue();
    assertThat(r.usage().outputTokens()).isEqualTo(TokenEstimator.count("say \"hi\" \\\n\ttab été"));
  }

  @Test
  void emptyOrNullContent_isNotContent() {
    String stream = chunk("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}")
        + chunk("{\"content\":null}") + chunk("{}") + chunk("{\"content\":\"\"}");
    Run r = same(UsageFromBytesTest::chat, stream);
    assertThat(r.verdicts()).containsOnly(Verdict.PASS);
    assertThat(r.usage().outputTokens()).isZero();
  }

  @Test
  void usageNull_passes_usageObject_isDropped() {
    String stream = chunk("{\"content\":\"a\"}") + "data: {\"id\":\"c\",\"choices\":[],\"usage\":null}\n\n" + USAGE_CHUNK
        + "data: [DONE]\n\n";
    Run r = same(UsageFromBytesTest::chat, stream);
    assertThat(r.verdicts()).containsExactly(Verdict.CONTENT, Verdict.PASS, Verdict.DROP, Verdict.PASS);
    assertThat(r.usage()).isEqualTo(new Usage(7, 3, 0, 0, "gpt-4o", false));
  }

  @Test
  void usageSpelledInsideContent_isText_notUsage() {
    String stream = chunk("{\"content\":\"\\\"usage\\\":{\\\"prompt_tokens\\\":5,\\\"completion_tokens\\\":6}\"}");
    Run r = same(UsageFromBytesTest::chat, stream);
    assertThat(r.verdicts()).containsExactly(Verdict.CONTENT);
    assertThat(r.usage().estimated()).isTrue();
    assertThat(r.usage().outputTokens()).isEqualTo(TokenEstimator.count("\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}"));
  }

  @Test
  void prettyPrintedJson_crlfLines_fieldsWithoutSpace_multiLineData() {
    String spaced = "data: { \"id\": \"c\", \"model\": \"m1\", \"choices\": [ { \"index\": 0, \"delta\": "
        + "{ \"content\": \"one\" } } ], \"usage\": null }\r\n\r\n";
    String noSpace = "data:{\"model\":\"m1\",\"choices\":[{\"delta\":{\"content\":\" two\"}}]}\r\r";
    String multiLine = ": a comment line\nid: 7\ndata: {\"model\":\"m1\",\"choices\":[{\"delta\":\ndata: {\"content\":\" three\"}}]}\n\n";
    String usage = "data: {\"model\": \"m1\", \"choices\": [], \"usage\": {\"prompt_tokens\": 2, \"completion_tokens\": 3}}\n\n";
    Run r = same(UsageFromBytesTest::chat, spaced + noSpace + multiLine + usage);
    assertThat(r.verdicts()).containsExactly(Verdict.CONTENT, Verdict.CONTENT, Verdict.CONTENT, Verdict.DROP);
    assertThat(r.usage()).isEqualTo(new Usage(2, 3, 0, 0, "m1", false));
  }

  @Test
  void severalChoices_textOfEveryChoiceCounted() {
    String stream = "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}},"
        + "{\"index\":1,\"delta\":{\"content\":\" world\"}}]}\n\n";
    Run r = same(UsageFromBytesTest::chat, stream);
    assertThat(r.verdicts()).containsExactly(Verdict.CONTENT);
    assertThat(r.usage().outputTokens()).isEqualTo(TokenEstimator.count("Hello world"));
  }

  @Test
  void modelChangesMidStream_theLatestWins_andAnEscapedModelIsDecoded() {
    String stream = chunk("{\"content\":\"a\"}")
        + "data: {\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"
        + "data: {\"model\":\"\",\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\n";
    assertThat(same(UsageFromBytesTest::chat, stream).usage().model()).isEqualTo("gpt-4o-2024-08-06");
    String escaped = "data: {\"model\":\"caf\\u00e9\",\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n";
    assertThat(same(UsageFromBytesTest::chat, escaped).usage().model()).isEqualTo("café");
  }

  @Test
  void modelAsRequested_keepsTheRequestsString_aNonAsciiModelIsDecodedOnce() {
    String requested = new String("gpt-4o".toCharArray());
    UsageTracker tracker = new UsageTracker(Api.OPENAI_CHAT, true, true, requested, () -> 1);
    Run r = run(tracker, chunk("{\"content\":\"a\"}") + chunk("{\"content\":\"b\"}"));
    assertThat(r.usage().model()).isSameAs(requested);
    String other = "data: {\"model\":\"modèle\",\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\n";
    Run changed = same(UsageFromBytesTest::chat, chunk("{\"content\":\"a\"}") + other + other + chunk("{\"content\":\"d\"}"));
    assertThat(changed.usage().model()).isEqualTo("gpt-4o");
    assertThat(same(UsageFromBytesTest::chat, other + other).usage().model()).isEqualTo("modèle");
  }

  @Test
  void toolCallsBesideContent_areParsed() {
    String stream = chunk("{\"content\":\"x\",\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}")
        + chunk("{\"tool_calls\":[]}");
    Run r = same(UsageFromBytesTest::chat, stream);
    assertThat(r.verdicts()).containsExactly(Verdict.CONTENT, Verdict.PASS);
    assertThat(r.usage().outputTokens()).isEqualTo(TokenEstimator.count("xf{}"));
  }

  @Test
  void surrogatePairSplitAcrossTwoChunks_andRawUtf8() {
    String stream = chunk("{\"content\":\"\\ud83d\"}") + chunk("{\"content\":\"\\ude00 ok\"}") + chunk("{\"content\":\" 日本語\"}");
    Run r = same(UsageFromBytesTest::chat, stream);
    assertThat(r.verdicts()).containsOnly(Verdict.CONTENT);
    assertThat(r.usage().outputTokens()).isEqualTo(TokenEstimator.count("\ud83d\ude00 ok 日本語"));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]\n\n", // truncated
      "data: {\"choices\":[{\"delta\":{\"content\":\"a}}]}\n\n", // unterminated string
      "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]} trailing\n\n",
      "data: {\"choices\":[{\"delta\":{\"content\":\"a\"},}]}\n\n", // trailing comma
      "data: [1,2,3]\n\n",
      "data: \n\n",
      "data: \"content\"\n\n",
      "event: message\n\n",
      ": ping\n\n"})
  void malformedOrForeignData_passesWithoutUsage(String event) {
    Run r = same(UsageFromBytesTest::chat, event + USAGE_CHUNK);
    assertThat(r.verdicts()).containsExactly(Verdict.PASS, Verdict.DROP);
    assertThat(r.usage()).isEqualTo(new Usage(7, 3, 0, 0, "gpt-4o", false));
  }

  @Test
  void longStreamWithEscapes_estimateAsTheParserCountsIt() {
    StringBuilder stream = new StringBuilder();
    for (int i = 0; i < 3000; i++) {
      stream.append(chunk("{\"content\":\"" + (i % 7 == 0 ? "line\\n" : "word \\\"q\\\" ") + i + "\"}"));
    }
    Run r = same(UsageFromBytesTest::chat, stream.toString());
    assertThat(r.usage().estimated()).isTrue();
    assertThat(r.usage().outputTokens()).isGreaterThan(3000);
  }

  @Test
  void anthropicAndResponsesDeltas_textFromTheBytes() {
    String anthropic = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        + "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \\\"there\\\"\"}}\n\n"
        + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
        + "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\" hmm\"}}\n\n"
        + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,"
        + "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}}\n\n";
    Run a = same(() -> new UsageTracker(Api.ANTHROPIC_MESSAGES, true, false, "claude", () -> 3), anthropic);
    assertThat(a.verdicts()).containsOnly(Verdict.CONTENT);
    assertThat(a.usage().outputTokens()).isEqualTo(TokenEstimator.count("Hi \"there\" hmm{\"a\":1}"));

    String responses = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\","
        + "\"item_id\":\"msg\",\"output_index\":0,\"content_index\":0,\"delta\":\"Rust \\u2014 safe\"}\n\n"
        + "event: response.audio.delta\ndata: {\"type\":\"response.audio.delta\",\"delta\":\"UklGRiQAAABXQVZF\"}\n\n";
    Run o = same(() -> new UsageTracker(Api.OPENAI_RESPONSES, true, false, "o4", () -> 3), responses);
    assertThat(o.verdicts()).containsOnly(Verdict.CONTENT);
    assertThat(o.usage().outputTokens()).as("audio is not text").isEqualTo(TokenEstimator.count("Rust — safe"));
  }

  @Test
  void everyFixture_fastPathAgreesWithTheParser() {
    same(() -> chat(), UsageTrackerTest.fixture("openai-chat-usage.sse"));
    same(() -> chat(), UsageTrackerTest.fixture("openai-chat-no-usage.sse"));
    same(() -> chat(), UsageTrackerTest.fixture("openai-chat-cached-reasoning.sse"));
    same(() -> chat(), UsageTrackerTest.fixture("openai-chat-tool-calls.sse"));
    same(() -> new UsageTracker(Api.OPENAI_RESPONSES, true, false, "o4", () -> 3), UsageTrackerTest.fixture("openai-responses.sse"));
    same(() -> new UsageTracker(Api.ANTHROPIC_MESSAGES, true, false, "c", () -> 3), UsageTrackerTest.fixture("anthropic-messages.sse"));
  }
}
