package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.RouteConfig.Api;
import io.sluice.usage.UsageFromBytesTest.Run;
import io.sluice.usage.UsageTracker.Verdict;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The chat usage chunk read from its bytes ({@link ChunkReader}) rather than parsed: on the usage
 * chunks providers really send (key order, extra keys, floats beside the figures, details objects,
 * usage on content chunks, odd spacing), the fast path takes the chunk and agrees with the parser
 * reading every event; on figures it does not read as plain integers it leaves the chunk to the
 * parser, with the same result.
 */
class UsageChunkFromBytesTest {
  private static final String CONTENT = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\","
      + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n";
  private static final String DONE = "data: [DONE]\n\n";

  /** Runs {@code stream} through the fast path and the parser; returns the fast path's run and how many usage chunks it read from bytes. */
  private static Fast fast(Supplier<UsageTracker> make, String stream) {
    UsageTracker tracker = make.get();
    Run fast = UsageFromBytesTest.run(tracker, stream);
    Run parsed = UsageFromBytesTest.run(make.get().parseEveryEvent(), stream);
    assertThat(fast).isEqualTo(parsed);
    return new Fast(fast, tracker.events().usageChunksRead);
  }

  private record Fast(Run run, int usageChunksRead) {}

  @Test
  void openAiUsageChunk_withDetailsAndObfuscation_readFromBytes_andDropped() {
    String usage = "data: {\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\"object\":\"chat.completion.chunk\","
        + "\"created\":1741569952,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\","
        + "\"system_fingerprint\":\"fp_eb9dce56a8\",\"choices\":[],\"usage\":{\"prompt_tokens\":1117,"
        + "\"completion_tokens\":246,\"total_tokens\":1363,\"prompt_tokens_details\":{\"cached_tokens\":1024,"
        + "\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":192,\"audio_tokens\":0,"
        + "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},\"obfuscation\":\"9vIV\"}\n\n";
    Fast f = fast(UsageFromBytesTest::chat, CONTENT + usage + DONE);
    assertThat(f.usageChunksRead()).isEqualTo(1);
    assertThat(f.run().verdicts()).containsExactly(Verdict.CONTENT, Verdict.DROP, Verdict.PASS);
    assertThat(f.run().usage()).isEqualTo(new Usage(1117, 246, 1024, 192, "gpt-4o-2024-08-06", false));
  }

  @Test
  void clientAskedForIt_usageChunkPassesAndEndsTheStreamsUsage() {
    UsageTracker tracker = new UsageTracker(Api.OPENAI_CHAT, true, false, "m", () -> 1);
    Run r = UsageFromBytesTest.run(tracker, CONTENT + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}\n\n");
    assertThat(tracker.events().usageChunksRead).isEqualTo(1);
    assertThat(tracker.endReached()).isTrue();
    assertThat(r.verdicts()).containsExactly(Verdict.CONTENT, Verdict.PASS);
    assertThat(r.usage()).isEqualTo(new Usage(4, 2, 0, 0, "gpt-4o", false));
  }

  @Test
  void azureAlphabeticalKeys_readFromBytes() {
    String usage = "data: {\"choices\":[],\"created\":1733331371,\"id\":\"chatcmpl-AaZ\",\"model\":\"gpt-4o-2024-08-06\","
        + "\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_04751d0b65\",\"usage\":{\"completion_tokens\":9,"
        + "\"completion_tokens_details\":{\"accepted_prediction_tokens\":0,\"audio_tokens\":0,\"reasoning_tokens\":0,"
        + "\"rejected_prediction_tokens\":0},\"prompt_tokens\":12,\"prompt_tokens_details\":{\"audio_tokens\":0,"
        + "\"cached_tokens\":0},\"total_tokens\":21}}\n\n";
    Fast f = fast(UsageFromBytesTest::chat, CONTENT + usage + DONE);
    assertThat(f.usageChunksRead()).isEqualTo(1);
    assertThat(f.run().usage()).isEqualTo(new Usage(12, 9, 0, 0, "gpt-4o-2024-08-06", false));
  }

  @Test
  void deepSeekUsageOnTheFinishChunk_isNoEnd_andItsExtraFiguresAreSkipped() {
    String finish = "data: {\"id\":\"d\",\"object\":\"chat.completion.chunk\",\"created\":1738000000,\"model\":\"deepseek-chat\","
        + "\"system_fingerprint\":\"fp_3a5770e1b4_prod0225\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},"
        + "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":8,"
        + "\"total_tokens\":19,\"prompt_tokens_details\":{\"cached_tokens\":0},\"prompt_cache_hit_tokens\":0,"
        + "\"prompt_cache_miss_tokens\":11}}\n\n";
    UsageTracker tracker = UsageFromBytesTest.chat();
    Fast f = fast(UsageFromBytesTest::chat, CONTENT + finish);
    assertThat(f.usageChunksRead()).isEqualTo(1);
    assertThat(f.run().verdicts()).containsExactly(Verdict.CONTENT, Verdict.PASS);
    assertThat(f.run().usage()).isEqualTo(new Usage(11, 8, 0, 0, "deepseek-chat", false));
    UsageFromBytesTest.run(tracker, CONTENT + finish);
    assertThat(tracker.endReached()).as("choices not empty: no end before [DONE]").isFalse();
  }

  @Test
  void vllmContinuousUsage_everyContentChunkCarriesUsage_theLastWins_noTemplateSkipsIt() {
    StringBuilder stream = new StringBuilder();
    for (int i = 1; i <= 5; i++) {
      stream.append("data: {\"id\":\"cmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"meta-llama/Llama-3.1-8B\","
          + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w").append(i).append("\"},\"logprobs\":null,"
          + "\"finish_reason\":null}],\"usage\":{\"prompt_tokens\":5,\"total_tokens\":").append(5 + i)
          .append(",\"completion_tokens\":").append(i).append("}}\n\n");
    }
    stream.append("data: {\"id\":\"cmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"meta-llama/Llama-3.1-8B\","
        + "\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"total_tokens\":11,\"completion_tokens\":6}}\n\n");
    Fast f = fast(UsageFromBytesTest::chat, stream + DONE);
    assertThat(f.usageChunksRead()).isEqualTo(6);
    assertThat(f.run().verdicts()).containsExactly(Verdict.CONTENT, Verdict.CONTENT, Verdict.CONTENT, Verdict.CONTENT,
        Verdict.CONTENT, Verdict.DROP, Verdict.PASS);
    assertThat(f.run().usage()).isEqualTo(new Usage(5, 6, 0, 0, "meta-llama/Llama-3.1-8B", false));
  }

  @Test
  void groqFloatsBesideTheFigures_andMistralOrder_readFromBytes() {
    String groq = "data: {\"id\":\"chatcmpl-g\",\"object\":\"chat.completion.chunk\",\"created\":1730000000,"
        + "\"model\":\"llama-3.3-70b-versatile\",\"system_fingerprint\":\"fp_c\",\"choices\":[{\"index\":0,\"delta\":{},"
        + "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"x_groq\":{\"id\":\"req_01\",\"usage\":{\"queue_time\":0.0203,"
        + "\"prompt_tokens\":48,\"prompt_time\":0.0024,\"completion_tokens\":17,\"completion_time\":0.0618,"
        + "\"total_tokens\":65,\"total_time\":0.0642}},\"usage\":{\"queue_time\":0.0203,\"prompt_tokens\":48,"
        + "\"prompt_time\":0.0024,\"completion_tokens\":17,\"completion_time\":0.0618,\"total_tokens\":65,"
        + "\"total_time\":0.0642}}\n\n";
    Fast g = fast(UsageFromBytesTest::chat, CONTENT + groq + DONE);
    assertThat(g.usageChunksRead()).isEqualTo(1);
    assertThat(g.run().usage()).isEqualTo(new Usage(48, 17, 0, 0, "llama-3.3-70b-versatile", false));

    String mistral = "data: {\"id\":\"m\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"mistral-small-latest\","
        + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"finish_reason\":\"stop\"}],"
        + "\"usage\":{\"prompt_tokens\":10,\"total_tokens\":20,\"completion_tokens\":10}}\n\n";
    Fast m = fast(UsageFromBytesTest::chat, CONTENT + mistral + DONE);
    assertThat(m.usageChunksRead()).isEqualTo(1);
    assertThat(m.run().usage()).isEqualTo(new Usage(10, 10, 0, 0, "mistral-small-latest", false));
  }

  @Test
  void oddSpacingAndKeyOrder_usageBeforeChoices_prettyPrintedOverTwoDataLines() {
    String usage = "data: { \"usage\" : {\ndata:  \"completion_tokens\" : 3 ,\t\"completion_tokens_details\" : { \"reasoning_tokens\" : 1 } ,"
        + " \"prompt_tokens_details\" : null , \"prompt_tokens\" : 7 } , \"choices\" : [ ] , \"model\" : \"gpt-4o\" }\n\n";
    Fast f = fast(UsageFromBytesTest::chat, CONTENT + usage);
    assertThat(f.usageChunksRead()).isEqualTo(1);
    assertThat(f.run().verdicts()).containsExactly(Verdict.CONTENT, Verdict.DROP);
    assertThat(f.run().usage()).isEqualTo(new Usage(7, 3, 0, 1, "gpt-4o", false));
  }

  @Test
  void emptyOrFigurelessUsage_isNoReport_andNotDropped() {
    String stream = CONTENT + "data: {\"choices\":[],\"usage\":{}}\n\n"
        + "data: {\"choices\":[],\"usage\":{\"total_tokens\":5,\"prompt_tokens\":null,\"completion_tokens\":\"3\"}}\n\n";
    Fast f = fast(UsageFromBytesTest::chat, stream);
    assertThat(f.usageChunksRead()).isEqualTo(2);
    assertThat(f.run().verdicts()).containsExactly(Verdict.CONTENT, Verdict.PASS, Verdict.PASS);
    assertThat(f.run().usage().estimated()).isTrue();
  }

  @Test
  void repeatedFigure_theLastOneCounts_asParsed() {
    String usage = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"prompt_tokens\":9}}\n\n";
    Fast f = fast(UsageFromBytesTest::chat, usage);
    assertThat(f.usageChunksRead()).isEqualTo(1);
    assertThat(f.run().usage()).isEqualTo(new Usage(9, 2, 0, 0, "requested", false));
  }

  /** Figures the byte reader does not take as plain integers: the parser reads the chunk, with the same result. */
  @ParameterizedTest
  @ValueSource(strings = {
      "{\"prompt_tokens\":-7,\"completion_tokens\":3}",
      "{\"prompt_tokens\":7.0,\"completion_tokens\":3}",
      "{\"prompt_tokens\":7e0,\"completion_tokens\":3}",
      "{\"prompt_tokens\":07,\"completion_tokens\":3}", // not JSON: no usage at all
      "{\"prompt_tokens\":12345678901234567890,\"completion_tokens\":3}",
      "{\"prompt_tokens\":1234567890123456789,\"completion_tokens\":3}",
      "{\"prompt\\u005ftokens\":7,\"completion_tokens\":3}",
      "{\"prompt_tokens\":7,\"completion_tokens\":3,\"prompt_tokens_details\":{\"cached\\u005ftokens\":2}}"})
  void unusualFigures_leftToTheParser(String usageObject) {
    Fast f = fast(UsageFromBytesTest::chat, CONTENT + "data: {\"choices\":[],\"usage\":" + usageObject + "}\n\n" + DONE);
    assertThat(f.usageChunksRead()).isZero();
  }

  @Test
  void anEscapeAnywhereInAUsageChunk_leftToTheParser_anEscapedChoicesKeyStillDrops() {
    Fast f = fast(UsageFromBytesTest::chat, CONTENT
        + "data: {\"ch\\u006fices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}\n\n" + DONE);
    assertThat(f.usageChunksRead()).isZero();
    assertThat(f.run().verdicts()).containsExactly(Verdict.CONTENT, Verdict.DROP, Verdict.PASS);
    assertThat(f.run().usage()).isEqualTo(new Usage(7, 3, 0, 0, "gpt-4o", false));
  }

  @Test
  void unusualFigures_parsedValues() {
    Fast big = fast(UsageFromBytesTest::chat,
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1234567890123456789,\"completion_tokens\":3}}\n\n");
    assertThat(big.run().usage().inputTokens()).isEqualTo(1234567890123456789L);
    Fast escaped = fast(UsageFromBytesTest::chat,
        "data: {\"choices\":[],\"usage\":{\"prompt\\u005ftokens\":7,\"completion_tokens\":3}}\n\n");
    assertThat(escaped.run().usage().inputTokens()).isEqualTo(7);
    Fast malformed = fast(UsageFromBytesTest::chat, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":07}}\n\n");
    assertThat(malformed.run().verdicts()).containsExactly(Verdict.PASS);
    assertThat(malformed.run().usage().estimated()).isTrue();
  }
}
