package io.sluice.bench;

import io.sluice.config.ConsumerConfig;
import io.sluice.config.GatewayConfig;
import io.sluice.config.ConfigLoader;
import io.sluice.plugin.ConfiguredPlugin;
import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginRegistry;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import io.sluice.store.RedisStore;
import io.sluice.usage.Pricing;
import io.sluice.usage.Usage;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The rate-limit check of {@code ai-token-ratelimit} with its local store, through the plugin SPI
 * exactly as the gateway calls it (the plugin is built from YAML by {@link ConfigLoader} and
 * {@link PluginRegistry}, as at start-up):
 *
 * <ul>
 *   <li>{@link #requestCycle}: the per-request cost — {@code onRequest} (the rules' keys and
 *       windows, the token estimate from the JSON body, the reservation under the counters' lock
 *       in a Caffeine cache), {@code onResponseHeaders} (the three {@code x-ratelimit-*-tokens}
 *       headers) and {@code onComplete} (reconciling the reservation with the reported usage);
 *   <li>{@link #midStreamCheck}: the per-event cost with {@code enforce: mid-stream} —
 *       {@code onStreamUsage} after every content event while the stream is within its
 *       reservation (the relay calls it only on routes whose plugins watch streams).
 * </ul>
 *
 * <p>Parameters: 1 rule (consumer, per day: the bench's plugins scenario) or 3 rules (consumer per
 * minute, ip per hour, {@code header:x-user} per day); the body is the load client's short chat
 * request (~150 B) or a ~2 KiB one (a system prompt, three turns), since the estimate parses it.
 * Limits are out of reach, so every request is admitted, as in the benchmark's runs.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TokenLimitBenchmark {
  @Param({"1", "3"})
  public int rules;

  @Param({"short", "2KiB"})
  public String body;

  private Plugin plugin;
  private Plugin midStream;
  private Request request;
  private Request streaming;
  private Headers headers;
  private ExchangeSummary summary;
  private Usage[] soFar;
  private int event;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    String ruleYaml = rules == 1
        ? "[ { limit-by: consumer, tokens-per-day: 1000000000000 } ]"
        : "[ { limit-by: consumer, tokens-per-minute: 1000000000000 },"
            + " { limit-by: ip, tokens-per-hour: 1000000000000 },"
            + " { limit-by: 'header:x-user', tokens-per-day: 1000000000000 } ]";
    plugin = plugin("{ rules: " + ruleYaml + " }");
    midStream = plugin("{ rules: " + ruleYaml + ", enforce: mid-stream }");
    byte[] bytes = ("short".equals(body) ? shortBody() : longBody()).getBytes(StandardCharsets.UTF_8);
    request = new Request(bytes);
    headers = new Headers();
    // The mock's answer to the bench request: 100 tokens out, the prompt in.
    summary = new ExchangeSummary(200, "ok", 1_000_000, new Usage(12, 100, 0, 0, "sluice-mock-1", false));
    streaming = new Request(bytes);
    Decision d = midStream.onRequest(streaming).toCompletableFuture().join();
    if (!(d instanceof Decision.Proceed)) {
      throw new IllegalStateException("not admitted: " + d);
    }
    soFar = new Usage[100];
    for (int i = 0; i < soFar.length; i++) {
      soFar[i] = new Usage(12, i + 1, 0, 0, "sluice-mock-1", true);
    }
  }

  @Benchmark
  public Object requestCycle() {
    Decision d = plugin.onRequest(request).toCompletableFuture().join();
    plugin.onResponseHeaders(request, 200, headers);
    plugin.onComplete(request, summary);
    return d;
  }

  @Benchmark
  public void midStreamCheck(Blackhole bh) {
    // Output so far grows like a stream's (1..100 tokens), within the 100-token reservation.
    bh.consume(midStream.onStreamUsage(streaming, soFar[event]));
    event = event == soFar.length - 1 ? 0 : event + 1;
  }

  private static Plugin plugin(String pluginYaml) throws Exception {
    String yaml = "listeners: [ { name: public, port: 8080 } ]\n"
        + "upstreams: [ { name: chat-pool, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]\n"
        + "consumers: [ { name: bench, jwt-claim-value: bench } ]\n"
        + "routes:\n  - name: chat\n    match: { path-prefix: /v1/chat/completions }\n    upstream: chat-pool\n"
        + "    plugins:\n      ai-token-ratelimit: " + pluginYaml + "\n";
    GatewayConfig config = new ConfigLoader(k -> null, PluginRegistry.load()).parse(yaml, null);
    return ConfiguredPlugin.of(config.routes().get(0).plugins().get(0)).create(new Services());
  }

  /** The load client's request (bench/LoadClient.java) with max_tokens 100. */
  static String shortBody() {
    return "{\"model\":\"sluice-mock-1\",\"stream\":true,\"max_tokens\":100,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story about a river.\"}]}";
  }

  /** A system prompt and three turns, ~2 KiB. */
  static String longBody() {
    String para = "The river starts in the hills above the town and runs for three hundred kilometres "
        + "before it reaches the sea; tell the story of one boat that makes the whole journey. ";
    StringBuilder sb = new StringBuilder("{\"model\":\"sluice-mock-1\",\"stream\":true,\"max_tokens\":100,\"messages\":[");
    sb.append("{\"role\":\"system\",\"content\":\"You are a careful storyteller. ").append(para.repeat(3)).append("\"},");
    sb.append("{\"role\":\"user\",\"content\":\"").append(para.repeat(4)).append("\"},");
    sb.append("{\"role\":\"assistant\",\"content\":\"").append(para.repeat(3)).append("\"},");
    sb.append("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"").append(para).append("\"}]}]}");
    return sb.toString();
  }

  /**
   * What the request context gives the plugin: a consumer (named by jwt-auth), an IP, headers.
   *
   * <p>Not gateway-core's test {@code FakeRequest} (its test jar): a benchmark needs a request that
   * is the same at every invocation, and FakeRequest records and applies what plugins do — after
   * jwt-auth's first call it would have no Authorization header left (so every later call would be
   * refused), and its list of removed headers would grow for the whole run.
   */
  static final class Request implements RequestContext {
    private final byte[] body;
    private final Map<String, String> headers = new HashMap<>(Map.of("x-user", "u-1234", "content-type", "application/json"));

    Request(byte[] body) {
      this.body = body;
    }

    Request header(String name, String value) {
      headers.put(name.toLowerCase(Locale.ROOT), value);
      return this;
    }

    @Override
    public String route() {
      return "chat";
    }

    @Override
    public String method() {
      return "POST";
    }

    @Override
    public String path() {
      return "/v1/chat/completions";
    }

    @Override
    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    @Override
    public List<String> headers(String name) {
      String v = header(name);
      return v == null ? List.of() : List.of(v);
    }

    @Override
    public String queryParam(String name) {
      return null;
    }

    @Override
    public String cookie(String name) {
      return null;
    }

    @Override
    public String clientIp() {
      return "127.0.0.1";
    }

    @Override
    public boolean isWebSocketUpgrade() {
      return false;
    }

    @Override
    public String consumer() {
      return "bench";
    }

    @Override
    public void consumer(String name) {}

    @Override
    public void removeRequestHeader(String name) {}

    @Override
    public void removeQueryParam(String name) {}

    @Override
    public void addResponseHeader(String name, String value) {}

    @Override
    public byte[] body() {
      return body;
    }
  }

  /** Response headers: a small map, cleared by being overwritten (the same three names each time). */
  static final class Headers implements Plugin.ResponseHeaders {
    private final Map<String, String> map = new HashMap<>();

    @Override
    public String get(String name) {
      return map.get(name);
    }

    @Override
    public void set(String name, String value) {
      map.put(name, value);
    }

    @Override
    public void remove(String name) {
      map.remove(name);
    }
  }

  /**
   * The system clock and the config's consumers; no Redis, no fetches (local store). Not the test
   * {@code FakeServices}, whose clock stands still unless a test moves it: the bench measures the
   * plugins with the clock the gateway gives them, windows rolling as in production.
   */
  static final class Services implements PluginServices {
    private final List<ConsumerConfig> consumers;
    private final Pricing pricing;

    Services() {
      this(List.of());
    }

    Services(List<ConsumerConfig> consumers) {
      this(consumers, Pricing.NONE);
    }

    /** @param pricing the price table {@code ai-budget} reads (CostAccountingBenchmark) */
    Services(List<ConsumerConfig> consumers, Pricing pricing) {
      this.consumers = consumers;
      this.pricing = pricing;
    }

    @Override
    public Pricing pricing() {
      return pricing;
    }

    @Override
    public Clock clock() {
      return Clock.systemUTC();
    }

    @Override
    public LongSupplier nanoTime() {
      return System::nanoTime;
    }

    @Override
    public List<ConsumerConfig> consumers() {
      return consumers;
    }

    @Override
    public void authFailure(String route, String plugin, String reason) {}

    @Override
    public void rateLimitRejection(String route, String plugin) {}

    @Override
    public RedisStore redis(String uri) {
      throw new UnsupportedOperationException("local store only");
    }

    @Override
    public CompletionStage<String> fetch(String url, Duration timeout) {
      throw new UnsupportedOperationException("no fetches");
    }
  }
}
