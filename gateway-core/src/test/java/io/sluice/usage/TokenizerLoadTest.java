package io.sluice.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.config.RouteConfig.Api;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The tokenizer's vocabulary is loaded on first need, off the caller's thread: what needs a count
 * before it is there keeps its text and is counted once it is, to the same figure.
 */
class TokenizerLoadTest {
  private static final String SENTENCE = "The quick brown fox jumps over the lazy dog, then naps in the warm sun. ";

  private final CompletableFuture<Void> letGo = new CompletableFuture<>();

  @BeforeEach
  void loadedFirst() {
    assertThat(TokenEstimator.warmUp()).isTrue(); // the expected figures, taken the usual way
  }

  @AfterEach
  void loadedAfter() {
    letGo.complete(null);
    assertThat(TokenEstimator.warmUp()).isTrue();
  }

  @Test
  void textCutWhileTheVocabularyLoadsCountsTheSameOnceItIsThere() {
    long expected = countInPieces(new TextTokenCounter(), 400);

    TokenEstimator.unloadForTests(letGo);
    TextTokenCounter counter = new TextTokenCounter();
    String[] words = SENTENCE.split("(?= )");
    for (int i = 0; i < 400; i++) { // ~29 KB: three cuts kept, inside the exact sample
      for (String word : words) {
        counter.append(word);
      }
    }
    assertThat(TokenEstimator.loadStarted()).as("a cut starts the load").isTrue();
    assertThat(TokenEstimator.loaded()).as("held by the test").isFalse();

    letGo.complete(null);
    assertThat(TokenEstimator.warmUp()).isTrue();
    assertThat(counter.tokens()).isEqualTo(expected);
  }

  @Test
  void aPromptReadBeforeItsBodyIsFreedCountsTheSameOnceTheVocabularyIsThere() {
    String body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + SENTENCE.repeat(200) + "\"},"
        + "{\"role\":\"user\",\"content\":\"and again\"}]}";
    long expected = PromptEstimate.promptTokens(Api.OPENAI_CHAT, Unpooled.wrappedBuffer(body.getBytes(StandardCharsets.UTF_8)));
    assertThat(expected).isGreaterThan(2000);

    TokenEstimator.unloadForTests(letGo);
    ByteBuf buffer = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
    ByteBuf[] held = {buffer};
    PromptEstimate prompt = new PromptEstimate(Api.OPENAI_CHAT, () -> held[0]);
    prompt.settle(); // the body is about to be freed
    held[0] = null;
    buffer.release();
    assertThat(TokenEstimator.loaded()).isFalse();

    letGo.complete(null);
    assertThat(TokenEstimator.warmUp()).isTrue();
    assertThat(prompt.getAsLong()).isEqualTo(expected);
  }

  @Test
  void aStreamWhoseUpstreamReportsUsageNeverLoadsTheVocabulary() {
    TokenEstimator.unloadForTests(letGo);
    UsageTracker usage = new UsageTracker(Api.OPENAI_CHAT, true, false, "m",
        new PromptEstimate(Api.OPENAI_CHAT, () -> Unpooled.wrappedBuffer("{\"messages\":[]}".getBytes(StandardCharsets.UTF_8))));
    event(usage, "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n");
    event(usage,
        "data: {\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13}}\n\n");
    List<Runnable> loop = new ArrayList<>();
    boolean[] ran = {false};

    usage.whenUsageReady(loop::add, () -> ran[0] = true);

    assertThat(ran[0]).as("at once: nothing to estimate").isTrue();
    assertThat(loop).isEmpty();
    assertThat(usage.usage().inputTokens()).isEqualTo(12);
    assertThat(TokenEstimator.loadStarted()).isFalse();
  }

  @Test
  void aStreamWithoutUsageEndsOnItsLoopOnceTheVocabularyIsThere() throws Exception {
    String bodyText = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello to the fox\"}]}";
    String delta = "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello there, fox\"}}]}\n\n";
    Usage expected = streamWithoutUsage(bodyText, delta).usage();

    TokenEstimator.unloadForTests(letGo);
    UsageTracker usage = streamWithoutUsage(bodyText, delta);
    List<Runnable> loop = new ArrayList<>();
    Usage[] ended = {null};
    usage.whenUsageReady(loop::add, () -> ended[0] = usage.usage());
    assertThat(ended[0]).as("not on the caller's thread, not before the vocabulary").isNull();
    assertThat(TokenEstimator.loadStarted()).isTrue();

    letGo.complete(null);
    assertThat(TokenEstimator.warmUp()).isTrue();
    for (int i = 0; i < 500 && loop.isEmpty(); i++) {
      Thread.sleep(10); // the loader's thread hands the task to the "loop" just after it loads
    }
    assertThat(loop).hasSize(1);
    assertThat(ended[0]).isNull();
    loop.get(0).run();
    assertThat(ended[0]).isEqualTo(expected);
    assertThat(ended[0].estimated()).isTrue();
    assertThat(ended[0].inputTokens()).isGreaterThan(4);
  }

  private static UsageTracker streamWithoutUsage(String body, String delta) {
    UsageTracker usage = new UsageTracker(Api.OPENAI_CHAT, true, false, "m",
        new PromptEstimate(Api.OPENAI_CHAT, () -> Unpooled.wrappedBuffer(body.getBytes(StandardCharsets.UTF_8))));
    event(usage, delta);
    event(usage, "data: [DONE]\n\n");
    return usage;
  }

  private static void event(UsageTracker usage, String block) {
    ByteBuf event = Unpooled.copiedBuffer(block, StandardCharsets.UTF_8);
    try {
      usage.onEvent(event);
    } finally {
      event.release();
    }
  }

  private static long countInPieces(TextTokenCounter counter, int sentences) {
    String[] words = SENTENCE.split("(?= )");
    for (int i = 0; i < sentences; i++) {
      for (String word : words) {
        counter.append(word);
      }
    }
    return counter.tokens();
  }
}
