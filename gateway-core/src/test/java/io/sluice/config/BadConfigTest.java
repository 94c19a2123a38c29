package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kind of config mistake, with the exact message the user sees: every problem at once, each
 * under its full path (README, "Configuration walkthrough").
 */
class BadConfigTest {
  private static final Map<String, String> ENV = Map.of("PROVIDER_KEY", "sk-test", "NOT_A_NUMBER", "hunter2");

  /** A valid config that the cases below append to. */
  private static final String UPSTREAM =
      "upstreams: [ { name: chat-pool, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]\n";
  private static final String LISTENER = "listeners: [ { name: public, port: 8080 } ]\n";
  private static final String BASE = LISTENER + UPSTREAM;

  private static final String ROUTE_KEYS =
      "name, match, api, models, upstream, failover, rewrite-path, request-headers, response-headers, timeout, compression, sse, plugins, websocket, default-max-tokens";

  static Stream<Arguments> badConfigs() {
    return Stream.of(
        // ---- document shape
        arguments("- just\n- a list\n", List.of("(root): expected a map")),
        arguments("", List.of("listeners: required")),
        arguments(
            BASE + "listenrs: []\n",
            List.of("listenrs: unknown key (expected one of: listeners, admin, limits, shutdown, io-threads, upstreams, models, consumers, plugins, routes, logging, pricing, telemetry)")),
        // ---- pricing
        arguments(BASE + "pricing: [ { model: 'gpt-4.1*', input: 2 } ]\n", List.of("pricing[0].output: required")),
        arguments(BASE + "pricing: [ { model: 'a', input: -1, output: 1 } ]\n",
            List.of("pricing[0].input: expected a number >= 0 (got -1)")),
        arguments(BASE + "pricing: [ { model: 'a', input: 1, output: 'x' } ]\n",
            List.of("pricing[0].output: expected a number >= 0 (got 'x')")),
        arguments(BASE + "pricing: [ { model: 'a', input: 1, output: 1 }, { model: 'a', input: 2, output: 2 } ]\n",
            List.of("pricing[1].model: duplicate model a (also pricing[0].model)")),
        arguments(BASE + "pricing: [ { model: 'a', input: 1, output: 1, cache: 1 } ]\n",
            List.of("pricing[0].cache: unknown key (expected one of: model, input, cached-input, output)")),
        // ---- listeners
        arguments(UPSTREAM, List.of("listeners: required")),
        arguments("listeners: []\n", List.of("listeners: must not be empty")),
        arguments("listeners: { name: public }\n", List.of("listeners: expected a list")),
        arguments("listeners: [ 8080 ]\n", List.of("listeners[0]: expected a map")),
        arguments("listeners: [ { name: public } ]\n", List.of("listeners[0].port: required")),
        arguments("listeners: [ { port: 8080 } ]\n", List.of("listeners[0].name: required")),
        arguments("listeners: [ { name: '', port: 8080 } ]\n", List.of("listeners[0].name: must not be empty")),
        arguments("listeners: [ { name: [a], port: 8080 } ]\n", List.of("listeners[0].name: expected a string")),
        arguments(
            "listeners: [ { name: public, port: 70000 } ]\n",
            List.of("listeners[0].port: expected a port 0..65535 (got 70000)")),
        arguments("listeners: [ { name: public, port: '8080' } ]\n", List.of("listeners[0].port: expected an integer")),
        arguments("listeners: [ { name: public, port: 80.5 } ]\n", List.of("listeners[0].port: expected an integer")),
        arguments(
            "listeners: [ { name: public, port: '${NOT_A_NUMBER}' } ]\n",
            List.of("listeners[0].port: expected an integer (got a substituted value)")),
        // a number whose reference fails says so once, without a second "expected a number"
        arguments(
            "listeners: [ { name: public, port: '${MISSING_PORT}' } ]\n",
            List.of("listeners[0].port: environment variable MISSING_PORT is not set")),
        arguments(BASE + "pricing: [ { model: 'a', input: '${MISSING_PRICE}', output: 1 } ]\n",
            List.of("pricing[0].input: environment variable MISSING_PRICE is not set")),
        arguments(LISTENER + "telemetry: { otlp-endpoint: 'http://c:4318', sample-ratio: '${MISSING_RATIO}' }\n",
            List.of("telemetry.sample-ratio: environment variable MISSING_RATIO is not set")),
        arguments(
            "listeners: [ { name: public, port: 8080 }, { name: public, port: 8081 } ]\n",
            List.of("listeners[1].name: duplicate listener name 'public' (also listeners[0].name)")),
        arguments(
            "listeners: [ { name: a, port: 8080 }, { name: b, host: 127.0.0.1, port: 8080 } ]\n",
            List.of("listeners[1].port: port 8080 is already used by listeners[0].port")),
        arguments(
            "listeners: [ { name: a, port: 9901 } ]\n",
            List.of("admin: port 9901 is already used by listeners[0].port")),
        arguments(
            "listeners: [ { name: a, port: 8080, hots: x } ]\n",
            List.of("listeners[0].hots: unknown key (expected one of: name, host, port, tls, http2, proxy-protocol, trusted-proxies)")),
        arguments(
            "listeners: [ { name: a, port: 8443, tls: { certificate: /nonexistent/a.crt, private-key: /nonexistent/a.key } } ]\n",
            List.of("listeners[0].tls.certificate: cannot read /nonexistent/a.crt (no such file)",
                "listeners[0].tls.private-key: cannot read /nonexistent/a.key (no such file)")),
        arguments(
            "listeners: [ { name: a, port: 8443, tls: { private-key: /nonexistent/a.key, protocols: [TLSv1.1, TLSv1.3] } } ]\n",
            List.of("listeners[0].tls.certificate: required",
                "listeners[0].tls.protocols[0]: expected one of: TLSv1.3, TLSv1.2 (got 'TLSv1.1'; older protocols are refused)")),
        arguments(
            "listeners: [ { name: a, port: 8443, tls: { certificate: '', private-key: /x, protocols: [] } } ]\n",
            List.of("listeners[0].tls.certificate: must not be empty", "listeners[0].tls.protocols: must not be empty")),
        arguments(
            "listeners: [ { name: a, port: 8443, tls: { certificate: /a, private-key: /b, ciphers: [RC4] } } ]\n",
            List.of("listeners[0].tls.ciphers: unknown key (expected one of: certificate, private-key, protocols)",
                "listeners[0].tls.certificate: cannot read /a (no such file)",
                "listeners[0].tls.private-key: cannot read /b (no such file)")),
        arguments("listeners: [ { name: a, port: 8080, http2: 'maybe' } ]\n", List.of("listeners[0].http2: expected true or false")),
        arguments(
            "listeners: [ { name: a, port: 8080, proxy-protocol: 'yes please' } ]\n",
            List.of("listeners[0].proxy-protocol: expected true or false")),
        arguments(
            "listeners: [ { name: a, port: 8080, trusted-proxies: [10.0.0.0/8, 10.1.2.3/33, not-an-ip, '::1/129'] } ]\n",
            List.of(
                "listeners[0].trusted-proxies[1]: the prefix length must be 0..32 (got '10.1.2.3/33')",
                "listeners[0].trusted-proxies[2]: expected an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32 (got 'not-an-ip')",
                "listeners[0].trusted-proxies[3]: the prefix length must be 0..128 (got '::1/129')")),
        // ---- admin
        arguments(
            LISTENER + "admin: { host: 0.0.0.0 }\n",
            List.of("admin.token: required when admin.host is not a loopback address")),
        arguments(LISTENER + "admin: { token: '' }\n", List.of("admin.token: must not be empty")),
        arguments(LISTENER + "admin: { port: -1 }\n", List.of("admin.port: expected a port 0..65535 (got -1)")),
        arguments(LISTENER + "admin: [ 9901 ]\n", List.of("admin: expected a map")),
        // ---- limits, shutdown, io-threads
        arguments(
            LISTENER + "limits: { max-request-body: 10MB }\n",
            List.of("limits.max-request-body: expected a size such as 256B, 64KiB, 10MiB, 1GiB (got '10MB')")),
        arguments(
            LISTENER + "limits: { max-header-size: 4GiB }\n",
            List.of("limits.max-header-size: must be at most 2147483647B (got '4GiB')")),
        arguments(LISTENER + "limits: { max-uri-length: 0B }\n", List.of("limits.max-uri-length: must be larger than 0B")),
        arguments(
            LISTENER + "limits: { request-header-timeout: 10 }\n",
            List.of("limits.request-header-timeout: expected a duration such as 250ms, 30s, 5m, 1h (got 10)")),
        arguments(LISTENER + "limits: { idle-timeout: 0s }\n", List.of("limits.idle-timeout: must be longer than 0s")),
        arguments(LISTENER + "limits: { request-body-timeout: 0s }\n",
            List.of("limits.request-body-timeout: must be longer than 0s")),
        arguments(
            LISTENER + "limits: { max-connections: 0 }\n",
            List.of("limits.max-connections: expected an integer >= 1 (got 0)")),
        arguments(
            LISTENER + "limits: { max-body: 1MiB }\n",
            List.of("limits.max-body: unknown key (expected one of: max-request-body, max-header-size, max-uri-length, "
                + "request-header-timeout, max-connections, max-connections-per-ip, idle-timeout, request-body-timeout, "
                + "max-session-memory)")),
        arguments(
            LISTENER + "shutdown: { drain-timeout: 1.5s }\n",
            List.of("shutdown.drain-timeout: expected a duration such as 250ms, 30s, 5m, 1h (got '1.5s')")),
        arguments(LISTENER + "io-threads: -1\n", List.of("io-threads: expected an integer >= 0 (got -1)")),
        // ---- telemetry
        arguments(LISTENER + "telemetry: { sample-ratio: 0.1 }\n", List.of("telemetry.otlp-endpoint: required")),
        arguments(
            LISTENER + "telemetry: { otlp-endpoint: 'collector:4318' }\n",
            List.of("telemetry.otlp-endpoint: expected an http:// or https:// URL of an OTLP/HTTP collector, "
                + "e.g. http://collector:4318 (got 'collector:4318')")),
        arguments(
            LISTENER + "telemetry: { otlp-endpoint: 'http://c:4318', sample-ratio: 1.5, service-name: '', queue-size: 0 }\n",
            List.of("telemetry.sample-ratio: expected a number 0..1 (got 1.5)",
                "telemetry.service-name: must not be empty",
                "telemetry.queue-size: expected an integer 1..1000000 (got 0)")),
        arguments(
            LISTENER + "telemetry: { otlp-endpoint: 'http://c:4318', export-delay: 0s, sampling: 1 }\n",
            List.of("telemetry.export-delay: must be longer than 0s",
                "telemetry.sampling: unknown key (expected one of: otlp-endpoint, sample-ratio, service-name, queue-size, "
                    + "export-delay)")),
        // ---- upstreams
        arguments(LISTENER + "upstreams: [ { name: p } ]\n", List.of("upstreams[0].endpoints: required")),
        arguments(LISTENER + "upstreams: [ { name: p, endpoints: [] } ]\n", List.of("upstreams[0].endpoints: must not be empty")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ 'http://a:1' ] } ]\n",
            List.of("upstreams[0].endpoints[0]: expected a map")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'https://models.internal' } ], tls: { ca: /nonexistent/ca.pem } } ]\n",
            List.of("upstreams[0].tls.ca: cannot read /nonexistent/ca.pem (no such file)")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://user:pw@a:1' } ] } ]\n",
            List.of("upstreams[0].endpoints[0].url: must not contain user info (set credentials in upstreams[].headers)")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'ftp://a:1' } ] } ]\n",
            List.of("upstreams[0].endpoints[0].url: expected an http:// or https:// URL such as http://127.0.0.1:9000 (got 'ftp://a:1')")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a:99999' } ] } ]\n",
            List.of("upstreams[0].endpoints[0].url: expected an http:// or https:// URL such as http://127.0.0.1:9000 with a port 1..65535 (got 'http://a:99999')")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a/x?y=1' } ] } ]\n",
            List.of("upstreams[0].endpoints[0].url: must not have a query or fragment (got 'http://a/x?y=1')")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a', weight: 0 } ] } ]\n",
            List.of("upstreams[0].endpoints[0].weight: expected an integer 1..1000 (got 0)")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ], balancer: fastest } ]\n",
            List.of("upstreams[0].balancer: expected one of: round-robin, least-requests, random (got 'fastest')")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ], stream-idle-timeout: 0s } ]\n",
            List.of("upstreams[0].stream-idle-timeout: must be longer than 0s")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ], retries: 11 } ]\n",
            List.of("upstreams[0].retries: expected an integer 0..10 (got 11)")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ], max-connections-per-endpoint: 0 } ]\n",
            List.of("upstreams[0].max-connections-per-endpoint: expected an integer >= 1 (got 0)")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ], health-check: { path: health } } ]\n",
            List.of("upstreams[0].health-check.path: must start with '/' (got 'health')")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ], tls: { verify: 'yes', sni: a } } ]\n",
            List.of("upstreams[0].tls.verify: expected true or false",
                "upstreams[0].tls.sni: unknown key (expected one of: ca, verify)")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ], headers: { Authorization: 'Bearer ${MISSING_KEY}' } } ]\n",
            List.of("upstreams[0].headers.Authorization: environment variable MISSING_KEY is not set")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ], headers: [ x ] } ]\n",
            List.of("upstreams[0].headers: expected a map")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ], headers: { 'X Bad': v } } ]\n",
            List.of("upstreams[0].headers.X Bad: not a valid header name")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ], headers: { X-Key: '' } } ]\n",
            List.of("upstreams[0].headers.X-Key: must not be empty")),
        arguments(
            LISTENER + "upstreams: [ { name: p, endpoints: [ { url: 'http://a' } ] }, { name: p, endpoints: [ { url: 'http://b' } ] } ]\n",
            List.of("upstreams[1].name: duplicate upstream name 'p' (also upstreams[0].name)")),
        // ---- consumers
        arguments(BASE + "consumers: [ { name: alice, api-keys: [ '' ] } ]\n", List.of("consumers[0].api-keys[0]: must not be empty")),
        arguments(BASE + "consumers: [ { name: alice, api-keys: 'k1' } ]\n", List.of("consumers[0].api-keys: expected a list")),
        arguments(
            BASE + "consumers: [ { name: alice, api-keys: [ k1 ] }, { name: bob, api-keys: [ k1 ] } ]\n",
            List.of("consumers[1].api-keys[0]: duplicate API key (also consumers[0].api-keys[0])")),
        arguments(
            BASE + "consumers: [ { name: alice, jwt-claim-value: x }, { name: bob, jwt-claim-value: x } ]\n",
            List.of("consumers[1].jwt-claim-value: duplicate jwt-claim-value 'x' (also consumers[0].jwt-claim-value)")),
        arguments(BASE + "consumers: [ { api-keys: [ k1 ] } ]\n", List.of("consumers[0].name: required")),
        // ---- routes
        arguments(
            BASE + "routes: [ { name: chat, match: { path-prefix: /v1 }, upstream: chat-pol } ]\n",
            List.of("routes[0].upstream: 'chat-pol' is not defined (expected one of: chat-pool)")),
        arguments(
            LISTENER + "routes: [ { name: chat, match: { path-prefix: /v1 }, upstream: chat-pool } ]\n",
            List.of("routes[0].upstream: 'chat-pool' is not defined (no upstreams are defined)")),
        arguments(BASE + "routes: [ { name: chat, upstream: chat-pool } ]\n", List.of("routes[0].match: required")),
        arguments(BASE + "routes: [ { name: chat, match: { path-prefix: /v1 } } ]\n", List.of("routes[0].upstream: required")),
        arguments(BASE + "routes: [ { name: chat, match: /v1, upstream: chat-pool } ]\n", List.of("routes[0].match: expected a map")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /a, path-prefix: /b }, upstream: chat-pool } ]\n",
            List.of("routes[0].match: path and path-prefix cannot be combined (use one)")),
        arguments(
            BASE + "routes: [ { name: chat, match: { methods: [GET] }, upstream: chat-pool } ]\n",
            List.of("routes[0].match: requires path or path-prefix")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path-prefix: v1 }, upstream: chat-pool } ]\n",
            List.of("routes[0].match.path-prefix: must start with '/' (got 'v1')")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: v1 }, upstream: chat-pool } ]\n",
            List.of("routes[0].match.path: must start with '/' (got 'v1')")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1, methods: [ 'GE T' ] }, upstream: chat-pool } ]\n",
            List.of("routes[0].match.methods[0]: not a valid HTTP method (got 'GE T')")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1, methods: GET }, upstream: chat-pool } ]\n",
            List.of("routes[0].match.methods: expected a list")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1, headers: { x-tenant: [a] } }, upstream: chat-pool } ]\n",
            List.of("routes[0].match.headers.x-tenant: expected a string")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1, models: [ 4 ] }, upstream: chat-pool } ]\n",
            List.of("routes[0].match.models[0]: expected a string")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, api: grpc } ]\n",
            List.of("routes[0].api: expected one of: openai-chat, openai-responses, anthropic-messages, passthrough, models (got 'grpc')")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, rewrite-path: v2 } ]\n",
            List.of("routes[0].rewrite-path: must start with '/' (got 'v2')")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, request-headers: { set: [a] } } ]\n",
            List.of("routes[0].request-headers.set: expected a map")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, response-headers: { drop: [a] } } ]\n",
            List.of("routes[0].response-headers.drop: unknown key (expected one of: set, remove)")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, request-headers: { set: { x-a: \"a\\r\\nx-b: b\" } } } ]\n",
            List.of("routes[0].request-headers.set.x-a: must not contain line breaks")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, timeout: 10 minutes } ]\n",
            List.of("routes[0].timeout: expected a duration such as 250ms, 30s, 5m, 1h (got '10 minutes')")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, foo: 1 } ]\n",
            List.of("routes[0].foo: unknown key (expected one of: " + ROUTE_KEYS + ")")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, sse: { resume: { enabled: yes please, "
                + "buffer-events: 0, buffer-bytes: 1 MB, ttl: forever, store: memcached://x, keep: 1 }, "
                + "long-poll: { enabled: true, wait: 0s } } } ]\n",
            List.of("routes[0].sse.resume.enabled: expected true or false",
                "routes[0].sse.resume.buffer-events: expected an integer 1..1000000 (got 0)",
                "routes[0].sse.resume.buffer-bytes: expected a size such as 256B, 64KiB, 10MiB, 1GiB (got '1 MB')",
                "routes[0].sse.resume.ttl: expected a duration such as 250ms, 30s, 5m, 1h (got 'forever')",
                "routes[0].sse.resume.store: expected local, redis://host:port or rediss://host:port (got 'memcached://x')",
                "routes[0].sse.resume.keep: unknown key (expected one of: enabled, buffer-events, buffer-bytes, ttl, store)",
                "routes[0].sse.long-poll.wait: must be longer than 0s")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, sse: { heartbeat: often, beat: 1s } } ]\n",
            List.of("routes[0].sse.heartbeat: expected a duration such as 250ms, 30s, 5m, 1h (got 'often')",
                "routes[0].sse.beat: unknown key (expected one of: heartbeat, resume, long-poll)")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, websocket: { enabled: yes please, max-frame-size: 64B, ping-interval: often, idle: 1s } } ]\n",
            List.of("routes[0].websocket.enabled: expected true or false",
                "routes[0].websocket.ping-interval: expected a duration such as 250ms, 30s, 5m, 1h (got 'often')",
                "routes[0].websocket.idle: unknown key (expected one of: enabled, max-frame-size, ping-interval, idle-timeout)",
                "routes[0].websocket.max-frame-size: must be between 125B and 1GiB (got '64B')")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, websocket: [ on ] } ]\n",
            List.of("routes[0].websocket: expected a map")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, plugins: { frobnicate: {} } } ]\n",
            List.of("routes[0].plugins.frobnicate: unknown plugin (no plugins are installed)")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, plugins: [ key-auth ] } ]\n",
            List.of("routes[0].plugins: expected a map")),
        arguments(
            BASE + "plugins: { key-auth: {} }\n",
            List.of("plugins.key-auth: unknown plugin (no plugins are installed)")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, plugins: { key-auth: off } } ]\n",
            List.of("routes[0].plugins.key-auth: unknown plugin (no plugins are installed)")),
        arguments(
            BASE + "routes: [ { name: chat, match: { path: /v1 }, upstream: chat-pool, compression: { gzip: 'yes', brotli: true } } ]\n",
            List.of("routes[0].compression.gzip: expected true or false",
                "routes[0].compression.brotli: unknown key (expected one of: gzip, min-size)")),
        arguments(
            BASE + "routes: [ { name: a, match: { path: /v1 }, upstream: chat-pool }, { name: a, match: { path: /v2 }, upstream: chat-pool } ]\n",
            List.of("routes[1].name: duplicate route name 'a' (also routes[0].name)")),
        // ---- substitution syntax
        arguments(
            BASE + "admin: { token: '${NOT CLOSED' }\n",
            List.of("admin.token: unterminated '${' (expected ${ENV_VAR}, ${ENV_VAR:-default} or ${file:/path})")),
        arguments(
            BASE + "admin: { token: '${A B}' }\n",
            List.of("admin.token: invalid reference '${A B}' (expected ${ENV_VAR}, ${ENV_VAR:-default} or ${file:/path})")),
        arguments(
            BASE + "admin: { token: '${MISSING_A}-${MISSING_B}' }\n",
            List.of(
                "admin.token: environment variable MISSING_A is not set",
                "admin.token: environment variable MISSING_B is not set")));
  }

  private static final String TWO_ROUTES = BASE
      + "consumers: [ { name: alice, api-keys: [ sk-alice ] } ]\n"
      + "routes:\n"
      + "  - { name: chat, match: { path: /v1/chat }, upstream: chat-pool, plugins: %s }\n"
      + "  - { name: embeddings, match: { path: /v1/embeddings }, upstream: chat-pool, plugins: %s }\n";

  /**
   * The top-level {@code plugins} block and a route's {@code off}, with a catalog that knows
   * {@code jwt-auth}, {@code key-auth} and {@code rate-limit} ({@link FakePluginCatalog}).
   */
  static Stream<Arguments> badGlobalPlugins() {
    return Stream.of(
        arguments(
            TWO_ROUTES.formatted("{}", "{}") + "plugins: { key-auht: {} }\n",
            List.of("plugins.key-auht: unknown plugin (expected one of: jwt-auth, key-auth, rate-limit)")),
        arguments(
            TWO_ROUTES.formatted("{}", "{}") + "plugins: [ key-auth ]\n",
            List.of("plugins: expected a map")),
        arguments(
            TWO_ROUTES.formatted("{}", "{}") + "plugins: { key-auth: { alow: [alice] } }\n",
            List.of("plugins.key-auth.alow: unknown key (expected one of: allow)")),
        // off has nothing to turn off in the global block itself
        arguments(
            TWO_ROUTES.formatted("{}", "{}") + "plugins: { key-auth: off }\n",
            List.of("plugins.key-auth: off is only for a route's plugins block, to turn a global plugin off there "
                + "(to run key-auth on no route, remove it here)")),
        // a global plugin's settings are checked once, not once per route that inherits them
        arguments(
            TWO_ROUTES.formatted("{}", "{}") + "plugins: { key-auth: { allow: [carol] } }\n",
            List.of("plugins.key-auth.allow[0]: 'carol' is not a declared consumer (expected one of: alice)")),
        // off for a plugin that is not global turns nothing off: refused, with what is global
        arguments(
            TWO_ROUTES.formatted("{ jwt-auth: off }", "{}") + "plugins: { key-auth: {}, rate-limit: {} }\n",
            List.of("routes[0].plugins.jwt-auth: off turns off a global plugin, but jwt-auth is not one "
                + "(global plugins: key-auth, rate-limit)")),
        arguments(
            TWO_ROUTES.formatted("{ key-auth: off }", "{ key-auth: 'off' }"),
            List.of("routes[0].plugins.key-auth: off turns off a global plugin, but key-auth is not one "
                    + "(no global plugins are configured)",
                "routes[1].plugins.key-auth: off turns off a global plugin, but key-auth is not one "
                    + "(no global plugins are configured)")),
        // off for a plugin nobody installed is an unknown plugin like any other
        arguments(
            TWO_ROUTES.formatted("{ frobnicate: off }", "{}") + "plugins: { key-auth: {} }\n",
            List.of("routes[0].plugins.frobnicate: unknown plugin (expected one of: jwt-auth, key-auth, rate-limit)")),
        // everything at once; turning off a global plugin whose settings are wrong is no second error
        arguments(
            TWO_ROUTES.formatted("{ key-auth: off, jwt-auth: off }", "{ rate-limit: { allow: [bob] } }")
                + "plugins: { key-auth: { allow: [carol] } }\n",
            List.of("plugins.key-auth.allow[0]: 'carol' is not a declared consumer (expected one of: alice)",
                "routes[0].plugins.jwt-auth: off turns off a global plugin, but jwt-auth is not one "
                    + "(global plugins: key-auth)",
                "routes[1].plugins.rate-limit.allow[0]: 'bob' is not a declared consumer (expected one of: alice)")));
  }

  @ParameterizedTest
  @MethodSource("badGlobalPlugins")
  void reportsGlobalPluginMistakesExactly(String yaml, List<String> expected) {
    ConfigException e = catchThrowableOfType(ConfigException.class,
        () -> new ConfigLoader(ENV::get, FakePluginCatalog.INSTANCE).parse(yaml, null));
    assertThat(e).as("config should be refused:%n%s", yaml).isNotNull();
    assertThat(e.errors()).containsExactlyElementsOf(expected);
  }

  @ParameterizedTest
  @MethodSource("badConfigs")
  void reportsExactly(String yaml, List<String> expected) {
    ConfigException e =
        catchThrowableOfType(ConfigException.class, () -> new ConfigLoader(ENV::get, PluginCatalog.NONE).parse(yaml, null));
    assertThat(e).as("config should be refused:%n%s", yaml).isNotNull();
    assertThat(e.errors()).containsExactlyElementsOf(expected);
  }
}
