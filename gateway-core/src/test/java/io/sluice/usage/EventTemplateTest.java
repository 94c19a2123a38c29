package io.sluice.usage;

import static io.sluice.usage.UsageFromBytesTest.chat;
import static io.sluice.usage.UsageFromBytesTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.RouteConfig.Api;
import io.sluice.usage.UsageFromBytesTest.Run;
import io.sluice.usage.UsageTracker.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Events read by comparing them with the stream's last ordinary event ({@link EventTemplate}): the
 * same verdicts, usage and estimate as the parser reading every event, and the template really
 * used where a stream repeats its shape.
 */
class EventTemplateTest {
  /** The fast path (templates on) and the parser agree; returns the fast path's tracker. */
  private static UsageTracker same(Supplier<UsageTracker> tracker, String stream) {
    UsageTracker fast = tracker.get();
    Run r = run(fast, stream);
    assertThat(r).isEqualTo(run(tracker.get().parseEveryEvent(), stream));
    return fast;
  }

  private static String openAi(String content, String obfuscation) {
    return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\","
        + "\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":" + content + "},"
        + "\"logprobs\":null,\"finish_reason\":null}],\"obfuscation\":\"" + obfuscation + "\"}\n\n";
  }

  @Test
  void openAiChunksWithPaddingThatChangesEveryEvent_readByTemplate_sameAsTheParser() {
    StringBuilder stream = new StringBuilder();
    String[] pads = {"a", "bbbbbb", "cc", "", "d1d2d3d4d5"};
    for (int i = 0; i < 50; i++) {
      stream.append(openAi("\"tok" + i + " \"", pads[i % pads.length]));
    }
    UsageTracker fast = same(UsageFromBytesTest::chat, stream.toString());
    // the first event makes the template, the second teaches it that the padding varies
    assertThat(fast.events().templateMatches).isEqualTo(48);
  }

  @Test
  void escapesEmptyTextAndNonAscii_inTemplatedEvents() {
    String stream = openAi("\"a\"", "x") + openAi("\"say \\\"hi\\\" \\\\\"", "x") + openAi("\"\"", "x")
        + openAi("\"\\ud83d\"", "x") + openAi("\"\\ude00 日本\"", "x") + openAi("\"\\n\"", "x");
    UsageTracker fast = same(UsageFromBytesTest::chat, stream);
    assertThat(fast.events().templateMatches).isEqualTo(5);
    assertThat(run(chat(), stream).verdicts())
        .containsExactly(Verdict.CONTENT, Verdict.CONTENT, Verdict.PASS, Verdict.CONTENT, Verdict.CONTENT, Verdict.CONTENT);
  }

  @Test
  void whatIsNotTheSameShape_isReadFieldByField() {
    String finish = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
        + "\"model\":\"gpt-4o\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"z\"},"
        + "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"obfuscation\":\"x\"}\n\n";
    String otherModel = openAi("\"b\"", "x").replace("gpt-4o", "gpt-4o-2024-08-06");
    String nullContent = openAi("null", "x");
    String toolCall = openAi("\"c\",\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]", "x");
    String usage = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\","
        + "\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5}}\n\n";
    String stream = openAi("\"a\"", "x") + finish + otherModel + openAi("\"a2\"", "x") + nullContent + toolCall
        + openAi("\"\\u0000\"", "x") + usage + "data: [DONE]\n\n";
    UsageTracker fast = same(UsageFromBytesTest::chat, stream);
    assertThat(fast.usage()).isEqualTo(new Usage(4, 5, 0, 0, "gpt-4o", false));
    Run r = run(chat(), stream);
    assertThat(r.verdicts()).containsExactly(Verdict.CONTENT, Verdict.CONTENT, Verdict.CONTENT, Verdict.CONTENT,
        Verdict.PASS, Verdict.CONTENT, Verdict.CONTENT, Verdict.DROP, Verdict.PASS);
  }

  @Test
  void aModelThatChangesEveryEvent_becomesAVaryingSlot_andTheLatestWins() {
    StringBuilder stream = new StringBuilder();
    for (int i = 0; i < 6; i++) {
      stream.append(openAi("\"t\"", "x").replace("gpt-4o", "model-" + (i % 3)));
    }
    UsageTracker fast = same(UsageFromBytesTest::chat, stream.toString());
    assertThat(fast.usage().model()).isEqualTo("model-2");
    assertThat(fast.events().templateMatches).isEqualTo(4);
  }

  @Test
  void responsesWithACounter_andAnEventTypeInTheJsonThatNeverVaries() {
    StringBuilder typed = new StringBuilder();
    for (int i = 1; i <= 20; i++) {
      typed.append("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\","
          + "\"output_index\":0,\"content_index\":0,\"delta\":\"w" + i + "\",\"sequence_number\":" + i + "}\n\n");
    }
    Supplier<UsageTracker> responses = () -> new UsageTracker(Api.OPENAI_RESPONSES, true, false, "o4", () -> 3);
    assertThat(same(responses, typed.toString()).events().templateMatches).isEqualTo(18);

    // Without event lines the JSON's "type" says what an event is: audio (not text) in the same shape
    String untyped = "data: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\",\"sequence_number\":1}\n\n"
        + "data: {\"type\":\"response.refusal.delta\",\"delta\":\" there\",\"sequence_number\":2}\n\n"
        + "data: {\"type\":\"response.audio.delta\",\"delta\":\"UklGRiQAAABXQVZF\",\"sequence_number\":3}\n\n"
        + "data: {\"type\":\"response.output_text.delta\",\"delta\":\"!\",\"sequence_number\":4}\n\n";
    UsageTracker fast = same(responses, untyped);
    assertThat(fast.usage().outputTokens()).isEqualTo(TokenEstimator.count("Hi there!"));
  }

  @Test
  void anthropicDeltas_emptyTextIsStillContent() {
    StringBuilder stream = new StringBuilder();
    for (int i = 0; i < 10; i++) {
      stream.append("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
          + "\"delta\":{\"type\":\"text_delta\",\"text\":\"" + (i % 4 == 0 ? "" : "p" + i) + "\"}}\n\n");
    }
    UsageTracker fast = same(() -> new UsageTracker(Api.ANTHROPIC_MESSAGES, true, false, "claude", () -> 3), stream.toString());
    assertThat(fast.events().templateMatches).isEqualTo(9);
    assertThat(run(new UsageTracker(Api.ANTHROPIC_MESSAGES, true, false, "claude", () -> 3), stream.toString()).verdicts())
        .containsOnly(Verdict.CONTENT);
  }

  /** Splits a stream into its event blocks. */
  private static List<String> events(String stream) {
    List<String> out = new ArrayList<>();
    for (String e : stream.split("\n\n")) {
      out.add(e + "\n\n");
    }
    return out;
  }

  /**
   * Streams interleaved event by event on one thread take the thread's lease from each other (the
   * holder's bytes move to an array of its own): every stream reads as it does alone — same
   * verdicts, usage and template matches — and a stream that starts after another's usage ended
   * finds the lease free.
   */
  @Test
  void interleavedStreamsOnOneThread_readAsAlone_andTheLeaseMovesBetweenThem() {
    StringBuilder a = new StringBuilder();
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 12; i++) {
      a.append(openAi("\"a" + i + "\"", "pad" + i));
      b.append("data: {\"id\":\"x\",\"model\":\"other-model-with-a-longer-name\",\"choices\":[{\"index\":0,"
          + "\"delta\":{\"content\":\"b" + i + " and some more\"}}]}\n\n");
    }
    a.append(UsageFromBytesTest.USAGE_CHUNK).append("data: [DONE]\n\n");
    b.append("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":12}}\n\n");
    String c = openAi("\"c0\"", "x") + openAi("\"c1\"", "y") + openAi("\"c2\"", "z");

    UsageTracker aloneA = same(UsageFromBytesTest::chat, a.toString());
    UsageTracker aloneB = same(UsageFromBytesTest::chat, b.toString());
    UsageTracker aloneC = same(UsageFromBytesTest::chat, c);

    UsageTracker ta = chat();
    UsageTracker tb = chat();
    List<String> ea = events(a.toString());
    List<String> eb = events(b.toString());
    List<Verdict> va = new ArrayList<>();
    List<Verdict> vb = new ArrayList<>();
    for (int i = 0; i < Math.max(ea.size(), eb.size()); i++) {
      if (i < ea.size()) {
        va.addAll(run(ta, ea.get(i)).verdicts());
      }
      if (i < eb.size()) {
        vb.addAll(run(tb, eb.get(i)).verdicts());
      }
    }
    UsageTracker tc = chat();
    Run rc = run(tc, c);
    assertThat(va).isEqualTo(run(chat(), a.toString()).verdicts());
    assertThat(vb).isEqualTo(run(chat(), b.toString()).verdicts());
    assertThat(ta.usage()).isEqualTo(aloneA.usage());
    assertThat(tb.usage()).isEqualTo(aloneB.usage());
    assertThat(rc.usage()).isEqualTo(aloneC.usage());
    assertThat(ta.events().templateMatches).isEqualTo(aloneA.events().templateMatches).isEqualTo(10);
    assertThat(tb.events().templateMatches).isEqualTo(aloneB.events().templateMatches).isEqualTo(11);
    assertThat(tc.events().templateMatches).isEqualTo(aloneC.events().templateMatches).isEqualTo(1);
  }
}
