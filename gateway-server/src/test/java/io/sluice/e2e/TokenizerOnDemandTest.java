package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import io.sluice.testing.TestGateway;
import io.sluice.usage.TokenEstimator;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The tokenizer's vocabulary over real sockets: loaded only when an estimate needs it, never on
 * the event loop, and the estimate of a stream without usage the same whether it came before or
 * after the vocabulary was there (gateway-core/docs/usage.md, "Estimation").
 */
class TokenizerOnDemandTest {
  private static final String REQUEST =
      "{\"model\":\"%s\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Tell the fox a short story\"}]}";
  private static final String ROLE = "data: {\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n";
  private static final String TOKEN = "data: {\"model\":\"%s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Once upon a time, a quick brown fox\"}}]}\n\n";
  private static final String USAGE = "data: {\"model\":\"%s\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":9,\"total_tokens\":21}}\n\n";
  private static final String DONE = "data: [DONE]\n\n";

  // One event loop: anything that waited for the vocabulary on it would hold the other stream too.
  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      io-threads: 1
      upstreams: [ { name: models, endpoints: [ { url: "${upstream}" } ] } ]
      routes: [ { name: chat, match: { path-prefix: /v1/chat/completions }, upstream: models } ]
      """);

  private final CompletableFuture<Void> letGo = new CompletableFuture<>();

  @AfterEach
  void vocabularyThereForTheNextTests() {
    letGo.complete(null);
    assertThat(TokenEstimator.warmUp()).isTrue();
  }

  @Test
  void aStreamWithoutUsageIsEstimatedOnceTheVocabularyLoadsAndTheLoopServesMeanwhile() throws Exception {
    TokenEstimator.unloadForTests(letGo); // as in a fresh process; the load waits for the test

    assertThat(streamWithoutUsage("est-model")).isEqualTo(String.format(ROLE + TOKEN, "est-model", "est-model") + DONE);
    for (int i = 0; i < 500 && !TokenEstimator.loadStarted(); i++) {
      Thread.sleep(10); // the exchange ends just after its last byte
    }
    assertThat(TokenEstimator.loadStarted()).as("the estimate asked for it").isTrue();
    // The vocabulary is held back: a stream on the same loop still goes through, start to end.
    assertThat(streamWithUsage("qwen-7b")).isEqualTo(String.format(ROLE + TOKEN, "qwen-7b", "qwen-7b") + DONE);
    String metrics = scrapeWhen("model=\"qwen-7b\",route=\"chat\",type=\"output\"");
    assertThat(tokens(metrics, "qwen-7b", "input")).isEqualTo(12);
    assertThat(tokens(metrics, "est-model", "input")).as("its ending waits for the vocabulary").isEqualTo(-1);
    assertThat(TokenEstimator.loaded()).isFalse();

    letGo.complete(null);
    metrics = scrapeWhen("model=\"est-model\",route=\"chat\",type=\"output\"");
    long input = tokens(metrics, "est-model", "input");
    long output = tokens(metrics, "est-model", "output");
    assertThat(input).isGreaterThan(4);
    assertThat(output).isGreaterThan(4);

    // The same exchange with the vocabulary already there: the same estimate.
    assertThat(streamWithoutUsage("est-model")).isEqualTo(String.format(ROLE + TOKEN, "est-model", "est-model") + DONE);
    for (int i = 0; i < 500 && tokens(metrics, "est-model", "output") != 2 * output; i++) {
      Thread.sleep(10); // the exchange is counted just after its last byte
      metrics = gateway.admin("/metrics").body();
    }
    assertThat(tokens(metrics, "est-model", "input")).isEqualTo(2 * input);
    assertThat(tokens(metrics, "est-model", "output")).isEqualTo(2 * output);
  }

  @Test
  void aGatewayWhoseUpstreamReportsUsageNeverLoadsTheVocabulary() throws Exception {
    TokenEstimator.unloadForTests(letGo);

    assertThat(streamWithUsage("qwen-7b")).isEqualTo(String.format(ROLE + TOKEN, "qwen-7b", "qwen-7b") + DONE);
    String metrics = scrapeWhen("model=\"qwen-7b\",route=\"chat\",type=\"output\"");
    assertThat(tokens(metrics, "qwen-7b", "output")).isEqualTo(9);
    assertThat(TokenEstimator.loadStarted()).isFalse();
  }

  @Test
  void aConfigurationThatWatchesStreamsHasTheVocabularyBeforeItsListenersOpen() throws Exception {
    TokenEstimator.unloadForTests(CompletableFuture.completedFuture(null));
    try (TestGateway watching = TestGateway.start("""
        upstreams: [ { name: models, endpoints: [ { url: "http://127.0.0.1:9" } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions }
            upstream: models
            plugins:
              ai-token-ratelimit: { rules: [ { limit-by: ip, tokens-per-day: 60 } ], enforce: mid-stream }
        """)) {
      assertThat(watching.port()).isPositive();
      assertThat(TokenEstimator.loaded()).as("its watch reads estimates from the first content event").isTrue();
    }
  }

  private String streamWithoutUsage(String model) throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", String.format(REQUEST, model));
      gateway.upstream().next().startSse()
          .send(String.format(ROLE, model)).send(String.format(TOKEN, model)).send(DONE).end();
      assertThat(client.readHead().status()).isEqualTo(200);
      return client.readToEnd();
    }
  }

  private String streamWithUsage(String model) throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", String.format(REQUEST, model));
      gateway.upstream().next().startSse().send(String.format(ROLE, model)).send(String.format(TOKEN, model))
          .send(String.format(USAGE, model)).send(DONE).end();
      assertThat(client.readHead().status()).isEqualTo(200);
      return client.readToEnd();
    }
  }

  private String scrapeWhen(String series) throws Exception {
    String metrics = "";
    for (int i = 0; i < 500 && !metrics.contains(series); i++) {
      Thread.sleep(10); // the exchange is counted just after its last byte
      metrics = gateway.admin("/metrics").body();
    }
    return metrics;
  }

  /** {@code sluice_tokens_total} of the model and type, or -1 when there is none. */
  private static long tokens(String metrics, String model, String type) {
    Matcher m = Pattern.compile("sluice_tokens_total\\{consumer=\"anonymous\",model=\"" + model
        + "\",route=\"chat\",type=\"" + type + "\"} ([0-9.]+)").matcher(metrics);
    return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
  }
}
