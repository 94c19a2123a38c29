package io.sluice.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.sluice.net.Transport;
import io.sluice.telemetry.GenAiMetrics;
import io.sluice.usage.ModelLabels;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.stream.IntStream;

/**
 * The gateway's Prometheus metrics (README, "Metrics", lists them). Meters are looked up once per
 * label set and cached, so recording on the hot path is a map lookup and an atomic add.
 *
 * <p>State that the gateway already holds elsewhere — endpoint health, listener certificates — is
 * read at scrape time from a source the owner registers ({@link #endpointHealthFrom},
 * {@link #certificateExpiryFrom}), so the series always match what is running now: an endpoint
 * removed by a reload disappears from {@code /metrics} instead of keeping its last value.
 */
public final class GatewayMetrics {
  /** Buckets up to 300 s: a streamed completion can run for minutes. */
  static final Duration[] DURATION_BUCKETS = {
      Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
      Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
      Duration.ofSeconds(60), Duration.ofSeconds(120), Duration.ofSeconds(300), Duration.ofSeconds(600)};

  /** Gaps between tokens: milliseconds to tens of seconds. */
  static final Duration[] TOKEN_GAP_BUCKETS = {
      Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(20),
      Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(500),
      Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10),
      Duration.ofSeconds(30)};
  /** Status codes as label text, so that counting a request does not format its status. */
  private static final String[] STATUS_TEXT = IntStream.range(0, 600).mapToObj(Integer::toString).toArray(String[]::new);

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final LabelledMeters<Counter> requests = new LabelledMeters<>(v -> Counter.builder("sluice.requests")
      .tags("route", v[0], "status", v[1]).description("Requests answered, by route and status").register(registry));
  private final ConcurrentHashMap<String, Timer> durations = new ConcurrentHashMap<>();
  private final LabelledMeters<AtomicInteger> activeStreams = new LabelledMeters<>(v -> {
    AtomicInteger value = new AtomicInteger();
    Gauge.builder("sluice.active.streams", value, AtomicInteger::get).tags("route", v[0], "transport", v[1])
        .description("Streamed responses in progress").register(registry);
    return value;
  });
  private final LabelledMeters<Counter> upstreamRequests = new LabelledMeters<>(v -> Counter.builder(
      "sluice.upstream.requests").tags("upstream", v[0], "endpoint", v[1], "outcome", v[2])
      .description("Attempts at upstream endpoints, by outcome").register(registry));
  private final ConcurrentHashMap<Tags, Counter> authFailures = new ConcurrentHashMap<>();
  // Recorded per content event: cheap histograms read at scrape time, not Micrometer timers (see LatencyHistogram).
  private final LatencyHistograms firstToken = new LatencyHistograms("sluice_time_to_first_token_seconds",
      "Request received to the first event carrying generated content", DURATION_BUCKETS, System::nanoTime)
      .registerOn(registry.getPrometheusRegistry());
  private final LatencyHistograms tokenGaps = new LatencyHistograms("sluice_inter_token_latency_seconds",
      "Time between consecutive content events of a stream", TOKEN_GAP_BUCKETS, System::nanoTime)
      .registerOn(registry.getPrometheusRegistry());
  private final LabelledMeters<Counter> tokens = new LabelledMeters<>(v -> Counter.builder("sluice.tokens")
      .tags("route", v[0], "consumer", v[1], "model", v[2], "type", v[3])
      .description("LLM tokens used, by route, consumer, model and type").register(registry));
  private final ConcurrentHashMap<Tags, Counter> failovers = new ConcurrentHashMap<>();
  private final ModelLabels modelLabels = new ModelLabels();
  private final CostMetrics cost = new CostMetrics(registry);
  private final GenAiMetrics genAi = new GenAiMetrics(registry);
  private final ConcurrentHashMap<Tags, Counter> rateLimitRejections = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, AtomicInteger> storeDegraded = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Tags, Counter> resumes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Tags, Counter> sessionEvictions = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Tags, Counter> streamErrors = new ConcurrentHashMap<>();
  private final Counter reloadsOk;
  private final Counter reloadsFailed;
  private final MultiGauge endpointHealthy;
  private final MultiGauge certificateExpiry;
  private volatile Supplier<? extends Collection<EndpointHealth>> endpointHealth = List::of;
  private volatile Supplier<Map<String, Instant>> certificates = Map::of;
  private volatile Clock clock = Clock.systemUTC();
  private final Object scrapeLock = new Object();

  /** One endpoint's health for {@code sluice_upstream_endpoint_healthy}. */
  public record EndpointHealth(String upstream, String endpoint, boolean healthy) {}

  public GatewayMetrics() {
    this(BuildInfo.version());
  }

  /** @param version the {@code version} label of {@code sluice_build_info} */
  public GatewayMetrics(String version) {
    lintClean(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    if (Transport.ALLOCATOR instanceof ByteBufAllocatorMetricProvider provider) {
      new NettyAllocatorMetrics(provider).bindTo(registry);
    }
    // A name ending in ".info" is exported as an info metric: sluice_build_info{version="…"} 1.
    Gauge.builder("sluice.build.info", () -> 1).strongReference(true).tag("version", version)
        .description("The running build; the value is always 1").register(registry);
    reloadsOk = reloadCounter("ok");
    reloadsFailed = reloadCounter("failed");
    endpointHealthy = MultiGauge.builder("sluice.upstream.endpoint.healthy")
        .description("1 while an upstream endpoint is healthy (active probes and passive failures), else 0")
        .register(registry);
    certificateExpiry = MultiGauge.builder("sluice.tls.certificate.expiry").baseUnit("seconds")
        .description("Seconds until the notAfter of a TLS listener's certificate (negative once expired)")
        .register(registry);
  }

  private Counter reloadCounter(String result) {
    return Counter.builder("sluice.config.reloads").tag("result", result)
        .description("Config reloads (file change, SIGHUP, POST /admin/reload), by result").register(registry);
  }

  /**
   * Keeps the exposition {@code promtool check metrics} clean: the library binders' few meters
   * that break Prometheus naming rules are renamed, and meters without help text get one.
   */
  private static void lintClean(PrometheusMeterRegistry registry) {
    // process_cpu_time_ns_total: an abbreviated unit; process_cpu_usage says the same.
    registry.config().meterFilter(MeterFilter.deny(id -> id.getName().equals("process.cpu.time")));
    registry.config().meterFilter(new MeterFilter() {
      @Override
      public Meter.Id map(Meter.Id id) {
        if (id.getName().equals("system.cpu.count")) {
          return id.withName("system.cpu.cores"); // a gauge must not end in _count
        }
        if (id.getDescription() != null || !id.getName().startsWith("netty.")) {
          return id;
        }
        return new Meter.Id(id.getName(), Tags.of(id.getTagsAsIterable()), id.getBaseUnit(),
            "Netty buffer allocator: " + id.getName().substring("netty.".length()).replace('.', ' '),
            id.getType());
      }
    });
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    synchronized (scrapeLock) { // two scrapers at once must not interleave the row swaps
      refreshEndpointHealth();
      refreshCertificateExpiry();
    }
    return registry.scrape();
  }

  /**
   * Where {@code sluice_upstream_endpoint_healthy{upstream,endpoint}} comes from: the endpoints
   * serving now (the owner swaps them on reload), read at every scrape.
   */
  public void endpointHealthFrom(Supplier<? extends Collection<EndpointHealth>> source) {
    this.endpointHealth = source;
  }

  /**
   * Where {@code sluice_tls_certificate_expiry_seconds{listener}} comes from: each TLS listener's
   * current certificate's notAfter (a reloaded certificate replaces it), read at every scrape.
   */
  public void certificateExpiryFrom(Supplier<Map<String, Instant>> source, Clock clock) {
    this.certificates = source;
    this.clock = clock;
  }

  private void refreshEndpointHealth() {
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    for (EndpointHealth e : endpointHealth.get()) {
      rows.add(MultiGauge.Row.of(Tags.of("upstream", e.upstream(), "endpoint", e.endpoint()), e.healthy() ? 1 : 0));
    }
    endpointHealthy.register(rows, true);
  }

  private void refreshCertificateExpiry() {
    Instant now = clock.instant();
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    certificates.get().forEach((listener, notAfter) ->
        rows.add(MultiGauge.Row.of(Tags.of("listener", listener), Duration.between(now, notAfter).toSeconds())));
    certificateExpiry.register(rows, true);
  }

  /** A config reload was applied ({@code ok}) or refused, in whole or in part ({@code failed}). */
  public void configReload(boolean ok) {
    (ok ? reloadsOk : reloadsFailed).increment();
  }

  /**
   * A stream ended with {@code event: error} carrying this code ({@code upstream_failed},
   * {@code upstream_timeout}, {@code draining}, {@code resume_gap}, a plugin's code, …). Its
   * {@code sluice_requests_total} status stays the 200 the client got at the start.
   */
  public void streamError(String route, String code) {
    streamErrors.computeIfAbsent(Tags.of("route", route, "code", code),
        tags -> Counter.builder("sluice.stream.errors").tags(tags)
            .description("Streams ended by the gateway with event: error, by route and error code").register(registry))
        .increment();
  }

  /**
   * An attempt at a model alias's target was abandoned before content and the request moved on
   * to the next target ({@code reason}: {@code http_5xx}, {@code http_429}, {@code connect_error},
   * {@code first_byte_timeout}, {@code error_event}, …).
   */
  public void failover(String route, String fromUpstream, String reason) {
    failovers.computeIfAbsent(Tags.of("route", route, "from_upstream", fromUpstream, "reason", reason),
        tags -> Counter.builder("sluice.failovers").tags(tags)
            .description("Attempts abandoned before content for the next target of a model alias").register(registry))
        .increment();
  }

  /** One exchange ended with this status ({@code route} is "none" when no route matched). */
  public void requestCompleted(String route, int status, long durationNanos) {
    String code = status >= 0 && status < STATUS_TEXT.length ? STATUS_TEXT[status] : Integer.toString(status);
    requests.get(route, code).increment();
    durations.computeIfAbsent(route, r -> Timer.builder("sluice.request.duration").tag("route", r)
            .description("Whole exchange, from request received to the last byte sent")
            .serviceLevelObjectives(DURATION_BUCKETS).register(registry))
        .record(durationNanos, TimeUnit.NANOSECONDS);
  }

  /** The gauge of streams open now on a route; the caller increments and decrements it. */
  public AtomicInteger activeStreams(String route, String transport) {
    return activeStreams.get(route, transport);
  }

  /**
   * The {@code model} label for a route: the model itself for the first 100 distinct ones, then
   * {@code other}, so a client that invents model names cannot explode the metrics' cardinality.
   */
  public String modelLabel(String route, String model) {
    return modelLabels.label(route, model);
  }

  /** The OpenTelemetry GenAI metrics ({@code gen_ai_*}), on this registry. */
  public GenAiMetrics genAi() {
    return genAi;
  }

  /** Request received → first event carrying generated content. */
  public void timeToFirstToken(String route, String model, long nanos) {
    firstToken.series(route, model).record(nanos);
  }

  /** Time between two consecutive content events of a stream. */
  public void interTokenLatency(String route, String model, long nanos) {
    interTokenHistogram(route, model).record(nanos);
  }

  /**
   * The inter-token histogram of a route and model, for a stream to keep: it is recorded on every
   * token, so a stream looks it up once rather than once per event.
   */
  public LatencyHistogram interTokenHistogram(String route, String model) {
    return tokenGaps.series(route, model);
  }

  /**
   * A resume ({@code Last-Event-ID}) or poll of a stream session, by outcome: {@code resumed},
   * {@code polled}, {@code not_found}, {@code gap}.
   */
  public void streamResume(String route, String outcome) {
    resumes.computeIfAbsent(Tags.of("route", route, "outcome", outcome),
        tags -> Counter.builder("sluice.stream.resumes").tags(tags)
            .description("Stream session resumes and polls, by route and outcome").register(registry))
        .increment();
  }

  /**
   * A stream session left the store before its time: {@code size} (the memory cap) or
   * {@code expired} (its ttl passed with no client).
   */
  public void streamSessionRemoved(String route, String cause) {
    sessionEvictions.computeIfAbsent(Tags.of("route", route, "cause", cause),
        tags -> Counter.builder("sluice.stream.sessions.evicted").tags(tags)
            .description("Stream sessions removed by the memory cap or their ttl").register(registry))
        .increment();
  }

  /** Gauges of the session store: sessions held and the bytes of their buffered events. */
  public void streamSessionGauges(LongSupplier sessions, LongSupplier bytes) {
    // Strong references: the suppliers are lambdas nobody else holds.
    Gauge.builder("sluice.stream.sessions", sessions, s -> s.getAsLong()).strongReference(true)
        .description("Stream sessions held for resume or long polling").register(registry);
    Gauge.builder("sluice.stream.session.memory", bytes, b -> b.getAsLong()).strongReference(true).baseUnit("bytes")
        .description("Bytes of events buffered by stream sessions (with bookkeeping)").register(registry);
  }

  /** Tokens used, by type {@code input} or {@code output}. */
  public void tokens(String route, String consumer, String model, String type, long count) {
    if (count <= 0) {
      return;
    }
    tokens.get(route, consumer, model, type).increment(count);
  }

  /** Cost and budget metrics ({@link CostMetrics}). */
  public CostMetrics cost() {
    return cost;
  }

  /**
   * A shared store (Redis) became unreachable or answers again:
   * {@code sluice_ratelimit_store_degraded{store}} is 1 while its users count locally.
   */
  public void storeDegraded(String store, boolean degraded) {
    storeDegraded.computeIfAbsent(store, s -> {
      AtomicInteger value = new AtomicInteger();
      Gauge.builder("sluice.ratelimit.store.degraded", value, AtomicInteger::get).tags("store", s)
          .description("1 while a shared rate-limit store is unreachable and limits are counted locally")
          .register(registry);
      return value;
    }).set(degraded ? 1 : 0);
  }

  /** A request was refused by an authentication plugin. */
  public void authFailure(String route, String plugin, String reason) {
    authFailures.computeIfAbsent(Tags.of("route", route, "plugin", plugin, "reason", reason),
        tags -> Counter.builder("sluice.auth.failures").tags(tags)
            .description("Requests refused by authentication plugins").register(registry))
        .increment();
  }

  /** A request was refused by a rate-limit plugin. */
  public void rateLimitRejection(String route, String plugin) {
    rateLimitRejections.computeIfAbsent(Tags.of("route", route, "plugin", plugin),
        tags -> Counter.builder("sluice.ratelimit.rejections").tags(tags)
            .description("Requests refused by rate-limit plugins").register(registry))
        .increment();
  }

  /** One attempt at an upstream endpoint ended with this outcome. */
  public void upstreamRequest(String upstream, String endpoint, String outcome) {
    upstreamRequests.get(upstream, endpoint, outcome).increment();
  }
}
