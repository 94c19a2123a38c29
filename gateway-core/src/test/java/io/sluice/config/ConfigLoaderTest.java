package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.sluice.config.RouteConfig.Api;
import io.sluice.config.UpstreamConfig.Balancer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir Path dir;

  private final Map<String, String> env = new HashMap<>();
  private final ConfigLoader loader = new ConfigLoader(env::get, PluginCatalog.NONE);

  private static final String MINIMAL =
      """
      listeners: [ { name: public, port: 8080 } ]
      upstreams: [ { name: chat-pool, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]
      """;

  /**
   * A config in the shape of the README's example ("Configuration walkthrough"), setting most keys
   * explicitly so that each is seen to be read. Plugins have their own tests in gateway-plugins.
   */
  private static final String FULL =
      """
      listeners:
        - name: public
          host: 0.0.0.0
          port: 8443
          http2: false
          proxy-protocol: false
        - name: plain
          port: 8080

      admin:
        host: 127.0.0.1
        port: 9901
        token: "${file:secrets/admin}"

      limits:
        max-request-body: 20MiB
        max-header-size: 32KiB
        max-uri-length: 4KiB
        request-header-timeout: 5s
        max-connections: 5000
        max-connections-per-ip: 100
        idle-timeout: 2m
        max-session-memory: 64MiB

      shutdown:
        drain-timeout: 45s

      io-threads: 4

      upstreams:
        - name: chat-pool
          endpoints:
            - url: http://127.0.0.1:9000
              weight: 1
            - url: http://models_internal:8000/base/
              weight: 3
            - url: http://[::1]
          balancer: least-requests
          connect-timeout: 1s
          first-byte-timeout: 60s
          stream-idle-timeout: 200s
          max-connections-per-endpoint: 64
          retries: 2
          health-check:
            path: /health
            interval: 10s
            timeout: 1s
            unhealthy-after: 4
            healthy-after: 1
          dns-refresh: 1m
          headers:
            Authorization: "Bearer ${PROVIDER_KEY}"
        - name: realtime-pool
          endpoints: [ { url: http://127.0.0.1:9100 } ]
          health-check: { unhealthy-after: 5 }

      consumers:
        - name: alice
          api-keys: [ "${ALICE_KEY}" ]
        - name: bob
          jwt-claim-value: bob

      routes:
        - name: chat
          match:
            path-prefix: /v1/chat/completions
            methods: [post]
            headers: { X-Tenant: acme }
            models: [ "qwen-*", gpt-4o ]
          upstream: chat-pool
          api: openai-chat
          rewrite-path: /v1/chat/completions
          request-headers: { set: { x-origin: sluice }, remove: [ x-debug ] }
          response-headers: { set: {}, remove: [ server ] }
          timeout: 10m
        - name: events
          match: { path-prefix: /v1/events, methods: [GET] }
          upstream: chat-pool
          sse:
            heartbeat: 10s
            resume: { enabled: true, buffer-events: 4096, buffer-bytes: 4MiB, ttl: 10m, store: local }
            long-poll: { enabled: true, wait: 20s }
        - name: realtime
          match: { path: /v1/realtime }
          upstream: realtime-pool
      """;

  private GatewayConfig loadFull() throws Exception {
    Files.createDirectories(dir.resolve("secrets"));
    Files.writeString(dir.resolve("secrets/admin"), "admin-token\n");
    env.put("PROVIDER_KEY", "sk-provider");
    env.put("ALICE_KEY", "alice-key");
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(file, FULL);
    return loader.load(file);
  }

  @Test
  void mapsAFullConfigToRecords() throws Exception {
    GatewayConfig c = loadFull();

    assertThat(c.listeners())
        .containsExactly(new ListenerConfig("public", "0.0.0.0", 8443), new ListenerConfig("plain", "0.0.0.0", 8080));
    assertThat(c.admin()).isEqualTo(new AdminConfig("127.0.0.1", 9901, new Secret("admin-token")));
    assertThat(c.limits())
        .isEqualTo(
            new LimitsConfig(20L << 20, 32 << 10, 4 << 10, Duration.ofSeconds(5), 5000, 100, Duration.ofMinutes(2),
                LimitsConfig.DEFAULT_REQUEST_BODY_TIMEOUT, 64L << 20));
    assertThat(c.shutdown()).isEqualTo(new ShutdownConfig(Duration.ofSeconds(45)));
    assertThat(c.routes().get(1).sse()).isEqualTo(new SseConfig(Duration.ofSeconds(10),
        new SseConfig.Resume(true, 4096, 4L << 20, Duration.ofMinutes(10), null),
        new SseConfig.LongPoll(true, Duration.ofSeconds(20))));
    assertThat(c.routes().get(0).sse()).as("the documented defaults").isEqualTo(SseConfig.DEFAULTS);
    assertThat(c.ioThreads()).isEqualTo(4);

    assertThat(c.upstreams()).hasSize(2);
    assertThat(c.upstream("chat-pool"))
        .isEqualTo(
            new UpstreamConfig(
                "chat-pool",
                List.of(
                    new EndpointConfig("http://127.0.0.1:9000", "http", "127.0.0.1", 9000, "", 1),
                    new EndpointConfig("http://models_internal:8000/base/", "http", "models_internal", 8000, "/base", 3),
                    new EndpointConfig("http://[::1]", "http", "::1", 80, "", 1)),
                Balancer.LEAST_REQUESTS,
                Duration.ofSeconds(1),
                Duration.ofSeconds(60),
                Duration.ofSeconds(200),
                64,
                2,
                new HealthCheckConfig("/health", Duration.ofSeconds(10), Duration.ofSeconds(1), 4, 1),
                Duration.ofMinutes(1),
                Map.of("Authorization", new Secret("Bearer sk-provider"))));
    assertThat(c.upstream("chat-pool").endpoints().get(2).hostHeader()).isEqualTo("[::1]");
    UpstreamConfig realtime = c.upstream("realtime-pool");
    assertThat(realtime.balancer()).isEqualTo(Balancer.ROUND_ROBIN);
    assertThat(realtime.retries()).isEqualTo(1);
    assertThat(realtime.maxConnectionsPerEndpoint()).isEqualTo(1024);
    assertThat(realtime.connectTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(realtime.firstByteTimeout()).isEqualTo(Duration.ofSeconds(120));
    assertThat(realtime.streamIdleTimeout()).isEqualTo(Duration.ofSeconds(300));
    assertThat(realtime.dnsRefresh()).isEqualTo(Duration.ofSeconds(30));
    assertThat(realtime.headers()).isEmpty();
    // health-check without a path: passive only, with the thresholds given
    assertThat(realtime.healthCheck())
        .isEqualTo(new HealthCheckConfig(null, Duration.ofSeconds(5), Duration.ofSeconds(2), 5, 2));
    assertThat(realtime.healthCheck().activeProbes()).isFalse();

    assertThat(c.consumers())
        .containsExactly(
            new ConsumerConfig("alice", List.of(new Secret("alice-key")), null),
            new ConsumerConfig("bob", List.of(), "bob"));

    assertThat(c.routes())
        .containsExactly(
            new RouteConfig(
                "chat",
                new MatchConfig(
                    null, "/v1/chat/completions", List.of("POST"), Map.of("x-tenant", "acme"), List.of("qwen-*", "gpt-4o")),
                "chat-pool",
                Api.OPENAI_CHAT,
                "/v1/chat/completions",
                new HeaderOps(Map.of("x-origin", "sluice"), List.of("x-debug")),
                new HeaderOps(Map.of(), List.of("server")),
                Duration.ofMinutes(10)),
            new RouteConfig(
                "events",
                new MatchConfig(null, "/v1/events", List.of("GET"), Map.of(), List.of()),
                "chat-pool",
                null,
                null,
                HeaderOps.NONE,
                HeaderOps.NONE,
                Duration.ZERO,
                List.of(),
                CompressionConfig.OFF,
                c.routes().get(1).sse()),
            new RouteConfig(
                "realtime",
                new MatchConfig("/v1/realtime", null, List.of(), Map.of(), List.of()),
                "realtime-pool",
                null,
                null,
                HeaderOps.NONE,
                HeaderOps.NONE,
                Duration.ZERO));
  }

  @Test
  void appliesTheDocumentedDefaults() throws Exception {
    GatewayConfig c = loader.parse(MINIMAL, null);

    assertThat(c.admin()).isEqualTo(new AdminConfig("127.0.0.1", 9901, null));
    assertThat(c.limits()).isEqualTo(LimitsConfig.DEFAULTS);
    assertThat(c.shutdown()).isEqualTo(ShutdownConfig.DEFAULTS);
    assertThat(c.ioThreads()).isZero();
    assertThat(c.telemetry()).isEqualTo(TelemetryConfig.OFF);
    assertThat(c.telemetry().tracing()).isFalse();
    assertThat(c.upstream("chat-pool").healthCheck()).isSameAs(HealthCheckConfig.PASSIVE_ONLY);
    assertThat(c.upstream("chat-pool").endpoints().get(0).weight()).isEqualTo(1);
    assertThat(c.consumers()).isEmpty();
    assertThat(c.routes()).isEmpty();
  }

  @Test
  void readsTheTelemetryBlockWithItsDefaults() throws Exception {
    GatewayConfig c = loader.parse(MINIMAL + "telemetry: { otlp-endpoint: 'http://collector:4318/', sample-ratio: 0.1 }\n",
        null);

    assertThat(c.telemetry()).isEqualTo(new TelemetryConfig(URI.create("http://collector:4318/"), 0.1,
        "sluice", 2048, Duration.ofSeconds(5)));
    assertThat(c.telemetry().tracesUrl()).isEqualTo("http://collector:4318/v1/traces");
    GatewayConfig all = loader.parse(MINIMAL + "telemetry: { otlp-endpoint: 'https://otel.example/base', "
        + "sample-ratio: 0, service-name: edge, queue-size: 100, export-delay: 250ms }\n", null);
    assertThat(all.telemetry()).isEqualTo(new TelemetryConfig(URI.create("https://otel.example/base"), 0.0,
        "edge", 100, Duration.ofMillis(250)));
    assertThat(all.telemetry().tracesUrl()).isEqualTo("https://otel.example/base/v1/traces");
  }

  @Test
  void reportsEveryMistakeWithItsPath() {
    String yaml =
        """
        listeners:
          - name: public
            port: 70000
        limits:
          max-request-body: 10MB
        upstreams: [ { name: chat-pool, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]
        routes:
          - name: chat
            match: { path-prefix: /v1 }
            upstream: chat-pol
        """;

    ConfigException e = catchThrowableOfType(ConfigException.class, () -> loader.parse(yaml, null));

    assertThat(e.errors())
        .containsExactly(
            "listeners[0].port: expected a port 0..65535 (got 70000)",
            "limits.max-request-body: expected a size such as 256B, 64KiB, 10MiB, 1GiB (got '10MB')",
            "routes[0].upstream: 'chat-pol' is not defined (expected one of: chat-pool)");
    assertThat(e.getMessage()).isEqualTo(String.join("\n", e.errors()));
  }

  @Test
  void reportsYamlSyntaxErrorsWithLineAndColumn() {
    ConfigException e =
        catchThrowableOfType(
            ConfigException.class, () -> loader.parse("listeners:\n  - name: a\n    port: [8080\n", null));

    assertThat(e.errors())
        .containsExactly(
            "line 4, column 1: invalid YAML: expected ',' or ']', but got <stream end>"
                + " (while parsing a flow sequence started at line 3, column 11)");
  }

  @Test
  void refusesDuplicateYamlKeys() {
    ConfigException e =
        catchThrowableOfType(
            ConfigException.class,
            () -> loader.parse("listeners: [ { name: a, port: 1 } ]\nlisteners: []\n", null));

    assertThat(e.errors()).containsExactly("line 2, column 10: invalid YAML: Duplicate field 'listeners'");
  }

  @Test
  void refusesAliasesWhichJacksonWouldReadAsPlainStrings() {
    String yaml = "listeners: [ { name: a, host: &h 127.0.0.1, port: 1 }, { name: b, host: *h, port: 2 } ]\n";

    ConfigException e = catchThrowableOfType(ConfigException.class, () -> loader.parse(yaml, null));

    assertThat(e.errors())
        .containsExactly("line 1, column 73: YAML aliases are not supported (*h): write the value out");
  }

  @Test
  void refusesASecondDocument() {
    ConfigException e =
        catchThrowableOfType(ConfigException.class, () -> loader.parse(MINIMAL + "---\nio-threads: 2\n", null));

    assertThat(e.errors()).hasSize(1);
    assertThat(e.errors().get(0)).matches("line 4, column \\d+: invalid YAML: only one document is allowed in a config file");
  }

  @Test
  void readsYaml11BooleansAsBooleans() throws Exception {
    // Jackson follows YAML 1.1 here: an unquoted yes/no is a boolean, so a name must be quoted.
    assertThat(loader.parse("listeners: [ { name: 'no', port: 1, http2: no } ]\n", null).listeners())
        .containsExactly(new ListenerConfig("no", "0.0.0.0", 1));
  }

  @Test
  void namesAMissingConfigFile() {
    Path missing = dir.resolve("nope.yaml");

    ConfigException e = catchThrowableOfType(ConfigException.class, () -> loader.load(missing));

    assertThat(e.errors()).containsExactly(missing + ": cannot read the config file (no such file)");
  }

  @Test
  void namesAConfigFileThatIsADirectory() {
    ConfigException e = catchThrowableOfType(ConfigException.class, () -> loader.load(dir));

    assertThat(e.errors()).containsExactly(dir + ": cannot read the config file (it is a directory)");
  }

  // ---------------------------------------------------------------- substitution

  private String adminToken(String value) throws ConfigException {
    String yaml = MINIMAL + "admin: { token: '" + value + "' }\n";
    return loader.parse(yaml, dir).admin().token().reveal();
  }

  private List<String> adminTokenErrors(String value) {
    String yaml = MINIMAL + "admin: { token: '" + value + "' }\n";
    return catchThrowableOfType(ConfigException.class, () -> loader.parse(yaml, dir)).errors();
  }

  @Test
  void substitutesEnvironmentVariables() throws Exception {
    env.put("ORG", "acme");
    env.put("KEY", "k-123");

    assertThat(adminToken("${KEY}")).isEqualTo("k-123");
    assertThat(adminToken("${ORG}/${KEY}!")).isEqualTo("acme/k-123!");
  }

  @Test
  void reportsAnUnsetVariableAtItsPath() {
    assertThat(adminTokenErrors("${ADMIN_TOKEN}"))
        .containsExactly("admin.token: environment variable ADMIN_TOKEN is not set");
  }

  @Test
  void usesTheDefaultWhenUnsetOrEmpty() throws Exception {
    assertThat(adminToken("${ADMIN_TOKEN:-fallback}")).isEqualTo("fallback");
    env.put("ADMIN_TOKEN", "");
    assertThat(adminToken("${ADMIN_TOKEN:-fallback}")).isEqualTo("fallback");
    env.put("ADMIN_TOKEN", "set");
    assertThat(adminToken("${ADMIN_TOKEN:-fallback}")).isEqualTo("set");
  }

  @Test
  void anEmptySecretIsAnError() {
    env.put("ADMIN_TOKEN", "");
    assertThat(adminTokenErrors("${ADMIN_TOKEN}")).containsExactly("admin.token: must not be empty");
  }

  @Test
  void readsFilesAndTrimsTrailingNewlines() throws Exception {
    Path secret = dir.resolve("token");
    Files.writeString(secret, "s3cret\r\n\n");

    assertThat(adminToken("${file:" + secret + "}")).isEqualTo("s3cret");
  }

  @Test
  void resolvesRelativeFilesAgainstTheBaseDir() throws Exception {
    Files.createDirectories(dir.resolve("secrets"));
    Files.writeString(dir.resolve("secrets/admin"), "from-file\n");

    assertThat(adminToken("${file:secrets/admin}")).isEqualTo("from-file");
  }

  @Test
  void reportsAnUnreadableFileWithItsPath() {
    assertThat(adminTokenErrors("${file:secrets/none}"))
        .containsExactly("admin.token: cannot read file " + dir.resolve("secrets/none") + " (no such file)");
  }

  @Test
  void keepsEscapedReferencesLiteral() throws Exception {
    assertThat(adminToken("$${NOT_A_VAR}")).isEqualTo("${NOT_A_VAR}");
    assertThat(adminToken("a$b")).isEqualTo("a$b");
  }

  @Test
  void substitutesNumbersAndBooleansToo() throws Exception {
    env.put("PORT", "8181");
    String yaml =
        """
        listeners: [ { name: public, port: '${PORT}', http2: '${H2:-false}' } ]
        """;

    assertThat(loader.parse(yaml, null).listeners().get(0).port()).isEqualTo(8181);
  }

  @Test
  void neverEchoesASecretInAMessage() {
    env.put("RETRIES", "hunter2");
    String yaml =
        MINIMAL.replace("name: chat-pool,", "name: chat-pool, retries: '${RETRIES}',")
            + "consumers: [ { name: a, api-keys: [ hunter3 ] }, { name: b, api-keys: [ hunter3 ] } ]\n";

    ConfigException e = catchThrowableOfType(ConfigException.class, () -> loader.parse(yaml, null));

    assertThat(e.errors())
        .containsExactly(
            "upstreams[0].retries: expected an integer (got a substituted value)",
            "consumers[1].api-keys[0]: duplicate API key (also consumers[0].api-keys[0])");
    assertThat(e.getMessage()).doesNotContain("hunter");
  }

  // ---------------------------------------------------------------- redaction

  @Test
  void redactsEverySecretInTheConfigAsWritten() throws Exception {
    env.put("TENANT", "acme");
    String yaml =
        """
        listeners: [ { name: public, port: 8080 } ]
        admin: { token: inline-admin-token }
        upstreams:
          - name: chat-pool
            endpoints: [ { url: 'http://127.0.0.1:9000' } ]
            headers: { Authorization: Bearer inline-provider-key }
        consumers: [ { name: alice, api-keys: [ inline-alice-key ], jwt-claim-value: alice } ]
        routes:
          - name: chat
            match: { path-prefix: /v1, headers: { x-tenant: '${TENANT}' } }
            upstream: chat-pool
            request-headers: { set: { x-note: 'costs $${PRICE}' } }
        """;

    GatewayConfig c = loader.parse(yaml, null);
    JsonNode r = c.redacted();

    assertThat(r.at("/admin/token").asText()).isEqualTo("<redacted>");
    assertThat(r.at("/upstreams/0/headers/Authorization").asText()).isEqualTo("<redacted>");
    assertThat(r.at("/consumers/0/api-keys/0").asText()).isEqualTo("<redacted>");
    assertThat(r.at("/routes/0/match/headers/x-tenant").asText()).isEqualTo("<redacted>");
    // everything else stays as written (after escapes)
    assertThat(r.at("/consumers/0/jwt-claim-value").asText()).isEqualTo("alice");
    assertThat(r.at("/listeners/0/port").asInt()).isEqualTo(8080);
    assertThat(r.at("/upstreams/0/endpoints/0/url").asText()).isEqualTo("http://127.0.0.1:9000");
    assertThat(r.at("/routes/0/request-headers/set/x-note").asText()).isEqualTo("costs ${PRICE}");
    assertThat(r.toString()).doesNotContain("inline-", "acme");
    // the records themselves still hold the real values
    assertThat(c.routes().get(0).match().headers()).containsEntry("x-tenant", "acme");
  }

  @Test
  void redactsUrlPasswordsAnywhere() throws Exception {
    JsonNode tree =
        new YAMLMapper()
            .readTree("store: 'redis://user:pw@redis:6379/0'\nplain: 'redis://redis:6379'\n");

    JsonNode r = Redactor.redact(tree);

    assertThat(r.get("store").asText()).isEqualTo("redis://user:<redacted>@redis:6379/0");
    assertThat(r.get("plain").asText()).isEqualTo("redis://redis:6379");
  }

  @Test
  void readsWebSocketRoutesWithTheirDefaults() throws Exception {
    GatewayConfig c = loader.parse(MINIMAL + """
        limits: { idle-timeout: 2m }
        routes:
          - { name: plain, match: { path: /v1/a }, upstream: chat-pool }
          - { name: defaults, match: { path: /v1/b }, upstream: chat-pool, websocket: { enabled: true } }
          - name: realtime
            match: { path-prefix: /v1/realtime }
            upstream: chat-pool
            websocket: { enabled: true, max-frame-size: 4MiB, ping-interval: 0s, idle-timeout: 10m }
        """, null);

    assertThat(c.routes().get(0).websocket()).isSameAs(WebSocketConfig.DISABLED);
    WebSocketConfig defaults = c.routes().get(1).websocket();
    assertThat(defaults).isEqualTo(new WebSocketConfig(true, 1 << 20, Duration.ofSeconds(30), null));
    assertThat(defaults.idleTimeout(c.limits().idleTimeout())).isEqualTo(Duration.ofMinutes(2));
    assertThat(c.routes().get(2).websocket())
        .isEqualTo(new WebSocketConfig(true, 4 << 20, Duration.ZERO, Duration.ofMinutes(10)));
  }

  // ---- global plugins: the top-level plugins block, resolved into every route

  private final ConfigLoader withPlugins = new ConfigLoader(env::get, FakePluginCatalog.INSTANCE);

  /** Four routes under one global block: inherits, overrides key-auth, turns key-auth off, adds jwt-auth. */
  private static String globalPlugins(String global) {
    return MINIMAL + """
        consumers: [ { name: alice }, { name: bob } ]
        plugins: %s
        routes:
          - { name: inherits, match: { path: /v1/a }, upstream: chat-pool }
          - { name: overrides, match: { path: /v1/b }, upstream: chat-pool, plugins: { key-auth: { allow: [bob] } } }
          - { name: opts-out, match: { path: /v1/c }, upstream: chat-pool, plugins: { key-auth: off } }
          - { name: adds, match: { path: /v1/d }, upstream: chat-pool, plugins: { jwt-auth: {} } }
        """.formatted(global);
  }

  private static List<RoutePlugin> plugins(GatewayConfig c, String route) {
    return c.routes().stream().filter(r -> r.name().equals(route)).findFirst().orElseThrow().plugins();
  }

  @Test
  void appliesGlobalPluginsToEveryRouteThatDoesNotSayOtherwise() throws Exception {
    GatewayConfig c = withPlugins.parse(globalPlugins("{ key-auth: { allow: [alice] }, rate-limit: {} }"), null);

    FakePluginCatalog.FakePlugin keyAuth = FakePluginCatalog.FakePlugin.of("key-auth", "alice");
    FakePluginCatalog.FakePlugin rateLimit = FakePluginCatalog.FakePlugin.of("rate-limit");
    assertThat(plugins(c, "inherits")).containsExactly(keyAuth, rateLimit);
    // the route's own settings replace the global ones whole and keep their place in the list
    assertThat(plugins(c, "overrides")).containsExactly(FakePluginCatalog.FakePlugin.of("key-auth", "bob"), rateLimit);
    assertThat(plugins(c, "opts-out")).containsExactly(rateLimit);
    assertThat(plugins(c, "adds")).containsExactly(keyAuth, rateLimit, FakePluginCatalog.FakePlugin.of("jwt-auth"));
  }

  @Test
  void anOverrideReplacesTheGlobalSettingsWithoutMergingKeys() throws Exception {
    GatewayConfig c = withPlugins.parse(MINIMAL + """
        consumers: [ { name: alice } ]
        plugins: { key-auth: { allow: [alice] } }
        routes: [ { name: open-to-all, match: { path: /v1 }, upstream: chat-pool, plugins: { key-auth: {} } } ]
        """, null);

    assertThat(plugins(c, "open-to-all")).containsExactly(FakePluginCatalog.FakePlugin.of("key-auth"));
  }

  @Test
  void readsOffWrittenAsAYamlBooleanOrQuoted() throws Exception {
    GatewayConfig c = withPlugins.parse(MINIMAL + """
        plugins: { key-auth: {}, rate-limit: {} }
        routes:
          - { name: a, match: { path: /v1/a }, upstream: chat-pool, plugins: { key-auth: off } }
          - { name: b, match: { path: /v1/b }, upstream: chat-pool, plugins: { key-auth: 'off', rate-limit: false } }
        """, null);

    assertThat(plugins(c, "a")).containsExactly(FakePluginCatalog.FakePlugin.of("rate-limit"));
    assertThat(plugins(c, "b")).isEmpty();
  }

  @Test
  void withoutAGlobalBlockARouteHasOnlyItsOwnPlugins() throws Exception {
    GatewayConfig c = withPlugins.parse(MINIMAL + """
        routes:
          - { name: a, match: { path: /v1/a }, upstream: chat-pool }
          - { name: b, match: { path: /v1/b }, upstream: chat-pool, plugins: { rate-limit: {} } }
        """, null);

    assertThat(plugins(c, "a")).isEmpty();
    assertThat(plugins(c, "b")).containsExactly(FakePluginCatalog.FakePlugin.of("rate-limit"));
  }

  @Test
  void aChangedGlobalBlockChangesExactlyTheRoutesThatInheritIt() throws Exception {
    // A reload keeps a route's running plugins when the route equals the one before; a change to
    // the global key-auth must therefore change the routes that run it, and only those.
    GatewayConfig before = withPlugins.parse(globalPlugins("{ key-auth: { allow: [alice] }, rate-limit: {} }"), null);
    GatewayConfig same = withPlugins.parse(globalPlugins("{ key-auth: { allow: [alice] }, rate-limit: {} }"), null);
    GatewayConfig after = withPlugins.parse(globalPlugins("{ key-auth: { allow: [alice, bob] }, rate-limit: {} }"), null);

    assertThat(same.routes()).isEqualTo(before.routes());
    assertThat(before.routes()).doesNotContain(after.routes().get(0), after.routes().get(3)); // inherits, adds
    assertThat(before.routes()).contains(after.routes().get(1), after.routes().get(2)); // overrides, opts-out
  }
}
