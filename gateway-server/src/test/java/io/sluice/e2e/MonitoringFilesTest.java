package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.sluice.demo.MockModelServer;
import io.sluice.testing.TestGateway;
import io.sluice.testing.TestPki;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Grafana dashboard and the alerting rules ask only for metrics the gateway really exports:
 * every metric name in their PromQL is compared with a live {@code /metrics} scrape of a gateway
 * that has served the traffic that makes each family appear (a stream, a refused key, a rate
 * limit, a poll of an unknown stream, an unreachable Redis, a GC, a TLS listener). An alert on a metric nobody
 * exports never fires; one on a job nobody scrapes fires on every healthy instance.
 */
class MonitoringFilesTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  /** Series Prometheus makes itself, not the gateway. */
  private static final Set<String> PROMETHEUS_OWN = Set.of("up");
  private static final Set<String> PROMQL_KEYWORDS = Set.of(
      "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right",
      "inf", "nan");
  private static final Pattern SAMPLE = Pattern.compile("(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)})? ");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"");

  private static MockModelServer model;
  private static TestGateway gateway;
  /** Every sample name of the scrape, with the label names it carries. */
  private static Map<String, Set<String>> exported;

  @BeforeAll
  static void serveTrafficAndScrape(@TempDir Path dir) throws Exception {
    TestPki.Files2 tls = TestPki.create("Monitoring Test CA").issueForName("localhost").write(dir, "server");
    model = MockModelServer.start("127.0.0.1", 0, new MockModelServer.Options(Duration.ZERO, "Hello there, operator"));
    int deadRedis;
    try (ServerSocket s = new ServerSocket(0)) {
      deadRedis = s.getLocalPort(); // closed again: connecting is refused
    }
    gateway = TestGateway.start("""
        listeners:
          - { name: public, host: 127.0.0.1, port: 0 }
          - { name: secure, host: 127.0.0.1, port: 0, tls: { certificate: "%3$s", private-key: "%4$s" } }
        consumers: [ { name: alice, api-keys: [ "${ALICE_KEY}" ] } ]
        pricing: [ { model: "sluice-mock-*", input: 0.15, cached-input: 0.075, output: 0.60 } ]
        upstreams:
          - name: mock
            endpoints: [ { url: "http://127.0.0.1:%1$d" } ]
        routes:
          - name: chat
            match: { path-prefix: /v1/chat/completions, methods: [POST] }
            upstream: mock
            sse: { resume: { enabled: true }, long-poll: { enabled: true } }
          - name: guarded
            match: { path-prefix: /guarded/v1/chat/completions, methods: [POST] }
            upstream: mock
            rewrite-path: /v1/chat/completions
            plugins: { key-auth: {} }
          - name: limited
            match: { path: /v1/models, methods: [GET] }
            upstream: mock
            plugins: { rate-limit: { limit-by: ip, requests-per-second: 0.001, burst: 1 } }
          - name: budgeted
            match: { path-prefix: /budgeted/v1/chat/completions, methods: [POST] }
            upstream: mock
            rewrite-path: /v1/chat/completions
            plugins:
              key-auth: {}
              ai-budget: { rules: [ { limit-by: consumer, period: month, usd: 50 } ] }
          - name: shared
            match: { path-prefix: /shared/v1/chat/completions, methods: [POST] }
            upstream: mock
            rewrite-path: /v1/chat/completions
            plugins:
              ai-token-ratelimit:
                rules: [ { limit-by: ip, tokens-per-minute: 100000 } ]
                store: "redis://127.0.0.1:%2$d"
        """.formatted(model.port(), deadRedis, tls.certificate(), tls.key()), Map.of("ALICE_KEY", "alice-key-0123456789"));

    String chat = "{\"model\":\"sluice-mock-1\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    assertThat(send(post("/v1/chat/completions", chat)).statusCode()).isEqualTo(200);
    assertThat(send(post("/guarded/v1/chat/completions", chat)).statusCode()).isEqualTo(401);
    // priced (sluice_cost_usd_total), within a budget (sluice_budget_*), and a model without a price
    assertThat(send(post("/budgeted/v1/chat/completions", chat, "Authorization", "Bearer alice-key-0123456789"))
        .statusCode()).isEqualTo(200);
    assertThat(send(post("/v1/chat/completions", chat.replace("sluice-mock-1", "unpriced-model"))).statusCode())
        .isEqualTo(200);
    assertThat(send(get("/v1/models")).statusCode()).isEqualTo(200);
    assertThat(send(get("/v1/models")).statusCode()).isEqualTo(429); // burst 1, one more in 1,000 s
    assertThat(send(get("/sluice/streams/0123456789abcdef0123456789abcdef/events?after=0")).statusCode()).isEqualTo(404);
    System.gc(); // a GC pause, recorded when the JVM reports it (asynchronously)
    // Families that appear on an asynchronous event: wait for them rather than for a fixed time.
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    do {
      exported = scrape();
    } while (!(exported.containsKey("sluice_ratelimit_store_degraded") && exported.containsKey("jvm_gc_pause_seconds_max"))
        && System.nanoTime() < deadline && pause());
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (model != null) {
      model.close();
    }
  }

  @Test
  void everyMetricTheDashboardShowsIsExported() throws Exception {
    Map<String, Set<String>> used = new LinkedHashMap<>();
    for (Map.Entry<String, String> q : dashboardQueries().entrySet()) {
      used.put(q.getKey(), metricNames(q.getValue()));
    }
    assertNamesExported("dashboard", used);
  }

  @Test
  void everyMetricTheAlertsWatchIsExported() throws Exception {
    JsonNode rules = YAML.readTree(ROOT.resolve("docker/prometheus/alerts.yaml").toFile());
    Map<String, Set<String>> used = new LinkedHashMap<>();
    for (JsonNode group : rules.path("groups")) {
      for (JsonNode rule : group.path("rules")) {
        used.put(rule.path("alert").asText(), metricNames(rule.path("expr").asText()));
      }
    }
    assertThat(used).hasSizeGreaterThan(5);
    assertNamesExported("alerts.yaml", used);
  }

  @Test
  void theDashboardFiltersByInstanceRouteAndModel() throws Exception {
    JsonNode dashboard = dashboard();
    Map<String, JsonNode> variables = new HashMap<>();
    dashboard.path("templating").path("list").forEach(v -> variables.put(v.path("name").asText(), v));
    assertThat(variables).containsKeys("datasource", "instance", "route", "model");
    for (String name : List.of("instance", "route", "model")) {
      JsonNode v = variables.get(name);
      assertThat(v.path("type").asText()).as("$" + name).isEqualTo("query");
      assertThat(v.path("includeAll").asBoolean()).as("$" + name + " offers All").isTrue();
      assertThat(v.path("allValue").asText()).as("$" + name + " All matches every value").isEqualTo(".*");
      Matcher values = Pattern.compile("^label_values\\((.*),\\s*" + name + "\\)$").matcher(query(v));
      assertThat(values.matches()).as("$" + name + " lists the values of label " + name + ": " + query(v)).isTrue();
      for (String metric : metricNames(values.group(1))) {
        // The instance label comes from Prometheus; route and model from the gateway.
        if (!name.equals("instance")) {
          assertThat(exported.get(metric)).as("$%s's metric %s has label %s", name, metric, name).contains(name);
        }
      }
    }
    // Every query narrows to the chosen instances, and to the chosen routes and models where the
    // metric has those labels: otherwise a panel ignores the selection without anyone noticing.
    for (Map.Entry<String, String> q : dashboardQueries().entrySet()) {
      String expr = q.getValue();
      if (q.getKey().startsWith("$")) {
        continue;
      }
      assertThat(expr).as(q.getKey()).contains("instance=~\"$instance\"");
      for (String metric : metricNames(expr)) {
        for (String label : List.of("route", "model")) {
          if (exported.getOrDefault(metric, Set.of()).contains(label)) {
            assertThat(expr).as(q.getKey() + ": " + metric + " has a " + label + " label")
                .contains(label + "=~\"$" + label + "\"");
          }
        }
      }
    }
  }

  @Test
  void theDashboardShowsSessionsRedisEndpointHealthAndGcPauses() throws Exception {
    Set<String> shown = new HashSet<>();
    for (String expr : dashboardQueries().values()) {
      shown.addAll(metricNames(expr));
    }
    assertThat(shown).contains("sluice_stream_sessions", "sluice_stream_resumes_total",
        "sluice_ratelimit_store_degraded", "sluice_upstream_endpoint_healthy", "jvm_gc_pause_seconds_sum",
        "jvm_gc_pause_seconds_max");
    Set<Integer> ids = new HashSet<>();
    for (JsonNode panel : dashboard().path("panels")) {
      assertThat(ids.add(panel.path("id").asInt())).as("panel id %s is unique", panel.path("id")).isTrue();
    }
  }

  @Test
  void promqlNamesAreFoundOutsideLabelsStringsRangesAndGroupings() {
    assertThat(metricNames("histogram_quantile(0.99, sum by (route, le) (rate(a_bucket{route=~\"$route\", le!=\"x\"}"
        + "[$__rate_interval]))) / on(instance) group_left(model) b > 200 * 1024 unless c offset 5m"))
        .containsExactlyInAnyOrder("a_bucket", "b", "c");
    assertThat(metricNames("up{job=\"sluice\"} == 1 and on() sum(rate(x_total[10m])) > 0.05 * count(up == 1)"))
        .containsExactlyInAnyOrder("up", "x_total");
  }

  // ---- helpers

  private static void assertNamesExported(String where, Map<String, Set<String>> used) {
    Map<String, Set<String>> missing = new LinkedHashMap<>();
    used.forEach((who, names) -> names.stream()
        .filter(n -> !exported.containsKey(n) && !PROMETHEUS_OWN.contains(n))
        .forEach(n -> missing.computeIfAbsent(who, k -> new TreeSet<>()).add(n)));
    assertThat(missing).as(where + " names metrics the gateway does not export (exported: " + exported.keySet() + ")")
        .isEmpty();
  }

  private static JsonNode dashboard() throws Exception {
    return JSON.readTree(ROOT.resolve("docker/grafana/sluice-dashboard.json").toFile());
  }

  /** Every PromQL query of the dashboard, keyed by panel title and refId (variables by {@code $name}). */
  private static Map<String, String> dashboardQueries() throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    JsonNode dashboard = dashboard();
    for (JsonNode v : dashboard.path("templating").path("list")) {
      if (v.path("type").asText().equals("query")) {
        Matcher m = Pattern.compile("^label_values\\((.*),\\s*\\w+\\)$").matcher(query(v));
        out.put("$" + v.path("name").asText(), m.matches() ? m.group(1) : query(v));
      }
    }
    List<JsonNode> panels = new ArrayList<>();
    dashboard.path("panels").forEach(p -> {
      panels.add(p);
      p.path("panels").forEach(panels::add); // panels inside collapsed rows
    });
    for (JsonNode p : panels) {
      for (JsonNode t : p.path("targets")) {
        out.put(p.path("title").asText() + " [" + t.path("refId").asText() + "]", t.path("expr").asText());
      }
    }
    assertThat(out).hasSizeGreaterThan(10);
    return out;
  }

  private static String query(JsonNode variable) {
    JsonNode q = variable.path("query");
    return q.isObject() ? q.path("query").asText() : q.asText();
  }

  /**
   * The metric names a PromQL expression reads: identifiers outside strings, label matchers,
   * ranges and grouping clauses that are neither functions (followed by a parenthesis) nor
   * keywords.
   */
  static Set<String> metricNames(String expr) {
    String s = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
        .replaceAll("\\{[^\\}]*\\}", " ")
        .replaceAll("\\[[^\\]]*\\]", " ")
        .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
    Set<String> names = new TreeSet<>();
    Matcher m = Pattern.compile("(?<![A-Za-z0-9_:.$])([A-Za-z_:][A-Za-z0-9_:]*)(\\s*\\()?").matcher(s);
    while (m.find()) {
      String word = m.group(1);
      if (m.group(2) == null && !PROMQL_KEYWORDS.contains(word.toLowerCase())) {
        names.add(word);
      }
    }
    return names;
  }

  private static Map<String, Set<String>> scrape() throws Exception {
    String text = gateway.admin("/metrics").body();
    Map<String, Set<String>> out = new HashMap<>();
    Matcher m = SAMPLE.matcher(text);
    while (m.find()) {
      Set<String> labels = out.computeIfAbsent(m.group(1), k -> new HashSet<>());
      if (m.group(3) != null) {
        Matcher l = LABEL.matcher(m.group(3));
        while (l.find()) {
          labels.add(l.group(1));
        }
      }
    }
    return out;
  }

  private static boolean pause() {
    try {
      Thread.sleep(100); // polling for an asynchronous event, not ordering two actions
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static HttpRequest post(String path, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway.url(path))).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return b.build();
  }

  private static HttpRequest get(String path) {
    return HttpRequest.newBuilder(URI.create(gateway.url(path))).timeout(Duration.ofSeconds(30)).GET().build();
  }

  private static HttpResponse<String> send(HttpRequest request) throws Exception {
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
  }
}
