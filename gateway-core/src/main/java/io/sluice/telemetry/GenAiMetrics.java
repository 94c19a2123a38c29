package io.sluice.telemetry;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The OpenTelemetry GenAI metrics in Prometheus form, beside {@code sluice_*}:
 * {@code gen_ai_client_token_usage}, {@code gen_ai_server_request_duration_seconds},
 * {@code gen_ai_server_time_to_first_token_seconds} and
 * {@code gen_ai_server_time_per_output_token_seconds}, each a histogram with exactly the bucket
 * boundaries the semantic conventions specify (gen-ai-metrics.md) — explicit buckets, no
 * percentile histograms. Labels are the conventions' attribute names with dots as underscores;
 * model labels are bounded by the caller (at most 100 per route, then {@code other}).
 */
public final class GenAiMetrics {
  /** gen_ai.client.token.usage: powers of 4 from 1 to 4^13 tokens. */
  static final double[] TOKEN_BUCKETS = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
      16777216, 67108864};
  /** gen_ai.server.request.duration (seconds): doubling from 10 ms. */
  static final double[] DURATION_BUCKETS = {0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
      20.48, 40.96, 81.92};
  /** gen_ai.server.time_to_first_token (seconds). */
  static final double[] FIRST_TOKEN_BUCKETS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
      1.0, 2.5, 5.0, 7.5, 10.0};
  /** gen_ai.server.time_per_output_token (seconds). */
  static final double[] PER_TOKEN_BUCKETS = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0,
      2.5};

  private final MeterRegistry registry;
  private final ConcurrentHashMap<Tags, DistributionSummary> tokens = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Tags, Timer> durations = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Tags, Timer> firstTokens = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Tags, Timer> perToken = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Key, Series> series = new ConcurrentHashMap<>();

  public GenAiMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /**
   * One model exchange ended.
   *
   * @param operation the GenAI operation ({@link GenAiRequest#operation})
   * @param provider the provider ({@link GenAiRequest#provider})
   * @param requestModel the request's model label (bounded)
   * @param responseModel the answer's model label (bounded), {@code unknown} when none
   * @param inputTokens input tokens, or -1 when the exchange produced no usage
   * @param durationNanos request received → last byte
   * @param firstTokenNanos request received → first content event, or -1 (not streamed, or none)
   * @param perTokenNanos the time per output token after the first, or -1 when not measurable
   */
  public void record(String operation, String provider, String requestModel, String responseModel,
      long inputTokens, long outputTokens, long durationNanos, long firstTokenNanos, long perTokenNanos) {
    Series s = last;
    if (s == null || !s.key.sameInstances(operation, provider, requestModel, responseModel)) {
      Key key = new Key(operation, provider, requestModel, responseModel);
      s = series.get(key);
      if (s == null) {
        s = series.computeIfAbsent(key, Series::new);
      }
      last = s;
    }
    if (inputTokens >= 0) {
      s.input().record(inputTokens);
    }
    if (outputTokens >= 0) {
      s.output().record(outputTokens);
    }
    s.duration().record(durationNanos, TimeUnit.NANOSECONDS);
    if (firstTokenNanos >= 0) {
      s.firstToken().record(firstTokenNanos, TimeUnit.NANOSECONDS);
    }
    if (perTokenNanos >= 0) {
      s.perToken().record(perTokenNanos, TimeUnit.NANOSECONDS);
    }
  }

  /** A series' label values (bounded: the models are labels from {@code ModelLabels}). */
  private record Key(String operation, String provider, String requestModel, String responseModel) {
    /**
     * Whether these are this key's very strings. The labels come as the same instances request
     * after request (model labels are {@code ModelLabels}' kept ones), so this identity check
     * finds the last series without a key, a hash or a map; equal strings that are other
     * instances simply take the map.
     */
    boolean sameInstances(String operation, String provider, String requestModel, String responseModel) {
      return this.operation == operation && this.provider == provider && this.requestModel == requestModel
          && this.responseModel == responseModel;
    }
  }

  /**
   * The series recorded last, checked first: a gateway serving one model (the common case) finds
   * its series here. Volatile: event loops share it; a stale one only sends a lookup to the map.
   */
  private volatile Series last;

  /**
   * One series' meters, each made on its first record (a meter a series never records is never
   * exported, as before). Why: building the {@code Tags} of a lookup (a sorted array of five tags)
   * on every request was ~1.5 % of the gateway's CPU under load; the key's strings are the same
   * instances request after request. A racing first record of one meter finds it through the
   * {@code Tags}-keyed maps below, so it is still registered once.
   */
  private final class Series {
    private final Key key;
    private final Tags base;
    private DistributionSummary input;
    private DistributionSummary output;
    private Timer duration;
    private Timer firstToken;
    private Timer perToken;

    Series(Key k) {
      key = k;
      base = Tags.of("gen_ai.operation.name", k.operation(), "gen_ai.provider.name", k.provider(),
          "gen_ai.request.model", k.requestModel(), "gen_ai.response.model", k.responseModel());
    }

    DistributionSummary input() {
      return input != null ? input : (input = tokenSummary(base.and("gen_ai.token.type", "input")));
    }

    DistributionSummary output() {
      return output != null ? output : (output = tokenSummary(base.and("gen_ai.token.type", "output")));
    }

    Timer duration() {
      return duration != null ? duration : (duration = timer(durations, "gen_ai.server.request.duration", base,
          DURATION_BUCKETS, "Generative AI server request duration: request received to the last byte of the answer"));
    }

    Timer firstToken() {
      return firstToken != null ? firstToken : (firstToken = timer(firstTokens, "gen_ai.server.time_to_first_token",
          base, FIRST_TOKEN_BUCKETS, "Time to the first content event of successful streamed responses"));
    }

    Timer perToken() {
      return perToken != null ? perToken : (perToken = timer(GenAiMetrics.this.perToken,
          "gen_ai.server.time_per_output_token", base, PER_TOKEN_BUCKETS,
          "Time per output token after the first, for successful streamed responses"));
    }
  }

  private DistributionSummary tokenSummary(Tags tags) {
    return tokens.computeIfAbsent(tags, t -> DistributionSummary.builder("gen_ai.client.token.usage").tags(t)
        .description("Number of input and output tokens used, per model exchange")
        .serviceLevelObjectives(TOKEN_BUCKETS).register(registry));
  }

  private Timer timer(ConcurrentHashMap<Tags, Timer> cache, String name, Tags tags, double[] seconds,
      String description) {
    return cache.computeIfAbsent(tags, t -> Timer.builder(name).tags(t).description(description)
        .serviceLevelObjectives(durations(seconds)).register(registry));
  }

  private static Duration[] durations(double[] seconds) {
    return Arrays.stream(seconds).mapToObj(s -> Duration.ofNanos(Math.round(s * 1e9))).toArray(Duration[]::new);
  }
}
