package io.sluice.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.plugin.PluginRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The JSON Schema of the config ({@code gateway-core/src/main/resources/sluice-config.schema.json})
 * and the loader behind {@code --check} agree, and every config the project ships or shows passes
 * both (gateway-core/docs/configuration.md, "Checking a config").
 *
 * <p>Where configs are found:
 *
 * <ul>
 *   <li>every YAML file under {@code config/} (so {@code config/examples/} too): each must be a
 *       gateway config and carry the {@code # yaml-language-server: $schema=…} line;
 *   <li>under {@code docker/}, every YAML document with a top-level {@code listeners} key, and
 *       every {@code *.yaml} entry of a Kubernetes ConfigMap that has one (compose, Prometheus,
 *       Grafana and the other manifests are not gateway configs);
 *   <li>every {@code ```yaml} block of README.md, SECURITY.md, bench/README.md and the pages in
 *       each module's {@code docs} folder.
 * </ul>
 *
 * <p>A block with a top-level {@code listeners} key is a full config: schema and loader. Any other
 * block is a fragment, checked against the part of the schema its shape names: top-level sections
 * ({@code routes:}, {@code limits:}, …), a plugins map ({@code cors: {…}}), or a list of routes,
 * upstreams, listeners or consumers. A block that is none of these fails, so no snippet goes
 * unchecked.
 *
 * <p>The loader runs as {@code --check} does (every installed plugin), with two allowances for
 * configs that describe another machine: an unset {@code ${VAR}} gets a stand-in value, and a file
 * the config names that does not exist here ({@code /run/secrets/…}, a certificate) is not an error.
 * Every other loader problem is.
 *
 * <p>And both directions of the agreement are table-driven: configs the loader refuses are refused
 * by the schema ({@link #refused}), and edge cases the loader accepts are accepted by it ({@link
 * #accepted}).
 */
class ConfigSchemaTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path SCHEMA_FILE =
      ROOT.resolve("gateway-core/src/main/resources/sluice-config.schema.json");
  private static final Path REFERENCE = ROOT.resolve("gateway-core/docs/configuration.md");
  /** Read as the loader reads: Jackson 2's YAML 1.1, where an unquoted {@code off} is false. */
  private static final ObjectMapper YAML = new YAMLMapper();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern CODE_BLOCK =
      Pattern.compile("(?m)^([ \\t]*)```ya?ml[^\\n]*\\n(.*?)^[ \\t]*```", Pattern.DOTALL);
  private static final Pattern SCHEMA_LINE =
      Pattern.compile("(?m)^# yaml-language-server: \\$schema=(\\S+)\\s*$");

  private static final JsonNode SCHEMA_JSON = readSchema();
  private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
  private static final Schema FULL = REGISTRY.getSchema(SCHEMA_JSON.toString());

  // ------------------------------------------------------------------ the files and blocks

  /** One config or fragment to check, named by where it comes from. */
  record Source(String where, String yaml, JsonNode tree, Path baseDir) {
    @Override
    public String toString() {
      return where;
    }
  }

  static Stream<Named<Source>> fullConfigs() throws IOException {
    return sources().filter(s -> isFullConfig(s.tree())).map(s -> Named.of(s.where(), s));
  }

  static Stream<Named<Source>> fragments() throws IOException {
    return sources().filter(s -> !isFullConfig(s.tree())).map(s -> Named.of(s.where(), s));
  }

  static Stream<Source> sources() throws IOException {
    List<Source> out = new ArrayList<>();
    for (Path file : yamlFiles(ROOT.resolve("config"))) {
      String yaml = Files.readString(file);
      out.add(new Source(ROOT.relativize(file).toString(), yaml, YAML.readTree(yaml), file.getParent()));
    }
    for (Path file : yamlFiles(ROOT.resolve("docker"))) {
      out.addAll(dockerConfigs(file));
    }
    for (Path page : markdownPages()) {
      String text = Files.readString(page);
      Matcher m = CODE_BLOCK.matcher(text);
      while (m.find()) {
        int line = (int) text.substring(0, m.start()).chars().filter(c -> c == '\n').count() + 1;
        String yaml = dedent(m.group(2));
        String where = ROOT.relativize(page) + ":" + line;
        JsonNode tree;
        try {
          tree = YAML.readTree(yaml);
        } catch (IOException e) {
          throw new AssertionError(where + ": the yaml block does not parse: " + e.getMessage(), e);
        }
        out.add(new Source(where, yaml, tree, page.getParent()));
      }
    }
    return out.stream();
  }

  /** The block without the indentation all its lines share (a fence inside a list item). */
  private static String dedent(String block) {
    int common = block.lines().filter(l -> !l.isBlank())
        .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
    StringBuilder out = new StringBuilder();
    block.lines().forEach(l -> out.append(l.isBlank() ? "" : l.substring(common)).append('\n'));
    return out.toString();
  }

  private static List<Path> yamlFiles(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
    }
  }

  private static List<Path> markdownPages() throws IOException {
    List<Path> pages = new ArrayList<>();
    for (String name : List.of("README.md", "SECURITY.md", "bench/README.md")) {
      if (Files.isRegularFile(ROOT.resolve(name))) {
        pages.add(ROOT.resolve(name));
      }
    }
    try (Stream<Path> modules = Files.list(ROOT)) {
      for (Path docs : modules.map(m -> m.resolve("docs")).filter(Files::isDirectory).sorted().toList()) {
        try (Stream<Path> md = Files.list(docs)) {
          md.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
      }
    }
    return pages;
  }

  /** Gateway configs in one file under docker/: plain ones, and those inside ConfigMaps. */
  private static List<Source> dockerConfigs(Path file) throws IOException {
    List<Source> out = new ArrayList<>();
    List<JsonNode> docs;
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
      docs = it.readAll();
    }
    String where = ROOT.relativize(file).toString();
    for (int i = 0; i < docs.size(); i++) {
      JsonNode doc = docs.get(i);
      if (isFullConfig(doc)) {
        out.add(new Source(where + (docs.size() > 1 ? "#" + i : ""), Files.readString(file), doc, file.getParent()));
      } else if (doc != null && doc.path("kind").asText().equals("ConfigMap")) {
        for (Iterator<Map.Entry<String, JsonNode>> e = doc.path("data").fields(); e.hasNext(); ) {
          Map.Entry<String, JsonNode> entry = e.next();
          if (entry.getKey().endsWith(".yaml") || entry.getKey().endsWith(".yml")) {
            String yaml = entry.getValue().asText();
            JsonNode tree = YAML.readTree(yaml);
            if (isFullConfig(tree)) {
              out.add(new Source(where + " ConfigMap " + doc.path("metadata").path("name").asText() + " "
                  + entry.getKey(), yaml, tree, file.getParent()));
            }
          }
        }
      }
    }
    return out;
  }

  private static boolean isFullConfig(JsonNode tree) {
    return tree != null && tree.isObject() && tree.has("listeners");
  }

  // ------------------------------------------------------------------ what is checked

  @ParameterizedTest(name = "{0}")
  @MethodSource("fullConfigs")
  void everyShippedAndDocumentedConfigPassesTheSchemaAndCheck(Source source) {
    assertThat(schemaErrors(FULL, source.tree())).as("%s: schema errors", source).isEmpty();
    assertThat(loaderErrors(source.yaml(), source.baseDir())).as("%s: --check errors", source).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fragments")
  void everyDocumentedFragmentPassesItsPartOfTheSchema(Source source) {
    JsonNode tree = source.tree();
    Set<String> sections = propertyNames("sections");
    Set<String> plugins = propertyNames("routePlugins");
    if (tree != null && tree.isObject() && !tree.isEmpty() && isSubset(tree, sections)) {
      assertThat(schemaErrors(part("sections"), tree)).as("%s: schema errors", source).isEmpty();
    } else if (tree != null && tree.isObject() && !tree.isEmpty() && isSubset(tree, plugins)) {
      assertThat(schemaErrors(part("routePlugins"), tree)).as("%s: schema errors", source).isEmpty();
    } else if (tree != null && tree.isArray() && !tree.isEmpty()) {
      for (JsonNode item : tree) {
        String def = item.has("match") ? "route" : item.has("endpoints") ? "upstream"
            : item.has("port") ? "listener" : "consumer";
        assertThat(schemaErrors(part(def), item)).as("%s: schema errors (as a %s)", source, def).isEmpty();
      }
    } else {
      fail(source.where() + ": a yaml block that is neither a full config (top-level listeners) nor a fragment of"
          + " one (top-level sections " + sections + ", a plugins map, or a list of routes, upstreams, listeners or"
          + " consumers): make it one, or mark it as another language");
    }
  }

  @Test
  void everyFileUnderConfigIsAGatewayConfigWithTheSchemaLine() throws IOException {
    List<Path> files = yamlFiles(ROOT.resolve("config"));
    assertThat(files).extracting(p -> p.getFileName().toString()).contains("gateway.yaml");
    for (Path file : files) {
      String text = Files.readString(file);
      assertThat(isFullConfig(YAML.readTree(text)))
          .as("%s is a gateway config (top-level listeners)", ROOT.relativize(file)).isTrue();
      Matcher m = SCHEMA_LINE.matcher(text);
      String expected = "# yaml-language-server: $schema="
          + file.getParent().relativize(SCHEMA_FILE).toString().replace('\\', '/');
      assertThat(m.find()).as("%s names the schema for editors; add the line:%n%s", ROOT.relativize(file), expected)
          .isTrue();
      assertThat(file.getParent().resolve(m.group(1)).normalize()).as("%s: the $schema path", ROOT.relativize(file))
          .isEqualTo(SCHEMA_FILE);
    }
  }

  @Test
  void theSchemaShipsOnTheClassPath() throws IOException {
    try (InputStream in = ConfigLoader.class.getResourceAsStream("/sluice-config.schema.json")) {
      assertThat(in).as("sluice-config.schema.json in gateway-core's jar").isNotNull();
      assertThat(JSON.readTree(in)).isEqualTo(SCHEMA_JSON);
    }
  }

  /** The reference page names every key of the schema (a key added to one must reach the other). */
  @Test
  void theReferencePageNamesEveryKeyOfTheSchema() throws IOException {
    String page = Files.readString(REFERENCE);
    Set<String> keys = new TreeSet<>();
    collectPropertyNames(SCHEMA_JSON, keys);
    assertThat(keys).hasSizeGreaterThan(60);
    assertThat(keys.stream().filter(k -> !page.contains("`" + k + "`")).toList())
        .as("keys of the schema that gateway-core/docs/configuration.md does not name").isEmpty();
  }

  // ------------------------------------------------------------------ both directions, table-driven

  private static final String BASE = """
      listeners: [ { name: public, port: 8080 } ]
      upstreams: [ { name: pool, endpoints: [ { url: "http://127.0.0.1:9000" } ] } ]
      consumers: [ { name: alice, api-keys: [ k-alice-1 ] } ]
      """;

  private static String withRoute(String lines) {
    return BASE + "routes:\n  - name: chat\n    match: { path-prefix: /v1/chat/completions }\n    upstream: pool\n"
        + lines.indent(4);
  }

  private static String withPlugins(String lines) {
    return withRoute("plugins:\n" + lines.indent(2));
  }

  private static String withUpstream(String lines) {
    return """
        listeners: [ { name: public, port: 8080 } ]
        upstreams:
          - name: pool
        """ + lines.indent(4);
  }

  private static final String SECRET_32 = "0123456789abcdef0123456789abcdef";

  /** Configs the loader refuses, with the path of the loader's problem: the schema refuses them too. */
  static Stream<Arguments> refused() {
    return Stream.of(
        Arguments.of("an unknown top-level key", BASE + "listner: []", "listner"),
        Arguments.of("no listeners", "upstreams: []", "listeners"),
        Arguments.of("an empty listener list", "listeners: []", "listeners"),
        Arguments.of("a port out of range", "listeners: [ { name: a, port: 70000 } ]", "listeners[0].port"),
        Arguments.of("a port as a plain string", "listeners: [ { name: a, port: \"8080\" } ]", "listeners[0].port"),
        Arguments.of("a listener without a name", "listeners: [ { port: 8080 } ]", "listeners[0].name"),
        Arguments.of("http2 not a boolean", "listeners: [ { name: a, port: 8080, http2: maybe } ]",
            "listeners[0].http2"),
        Arguments.of("an old TLS protocol",
            "listeners: [ { name: a, port: 8443, tls: { certificate: a.crt, private-key: a.key, protocols: [TLSv1.1] } } ]",
            "listeners[0].tls.protocols[0]"),
        Arguments.of("a bad trusted-proxies network",
            "listeners: [ { name: a, port: 8080, trusted-proxies: [ 10.0.0.0/33 ] } ]", "listeners[0].trusted-proxies[0]"),
        Arguments.of("an admin host open to the network without a token",
            BASE + "admin: { host: 0.0.0.0, port: 9901 }", "admin.token"),
        Arguments.of("a duration without a unit", BASE + "limits: { idle-timeout: 300 }", "limits.idle-timeout"),
        Arguments.of("a decimal size unit", BASE + "limits: { max-request-body: 10MB }", "limits.max-request-body"),
        Arguments.of("a size of zero", BASE + "limits: { max-header-size: 0KiB }", "limits.max-header-size"),
        Arguments.of("a negative io-threads", BASE + "io-threads: -1", "io-threads"),
        Arguments.of("an unknown limits key", BASE + "limits: { max-body: 1MiB }", "limits.max-body"),
        Arguments.of("a zero connect-timeout", withUpstream("endpoints: [ { url: \"http://a:1\" } ]\nconnect-timeout: 0s"),
            "upstreams[0].connect-timeout"),
        Arguments.of("an unknown balancer", withUpstream("endpoints: [ { url: \"http://a:1\" } ]\nbalancer: fastest"),
            "upstreams[0].balancer"),
        Arguments.of("an upstream without endpoints", withUpstream("retries: 1"), "upstreams[0].endpoints"),
        Arguments.of("an endpoint URL without a scheme", withUpstream("endpoints: [ { url: \"127.0.0.1:9000\" } ]"),
            "upstreams[0].endpoints[0].url"),
        Arguments.of("an endpoint URL with user info",
            withUpstream("endpoints: [ { url: \"http://user:pw@a:1\" } ]"), "upstreams[0].endpoints[0].url"),
        Arguments.of("a weight of 0", withUpstream("endpoints: [ { url: \"http://a:1\", weight: 0 } ]"),
            "upstreams[0].endpoints[0].weight"),
        Arguments.of("too many retries", withUpstream("endpoints: [ { url: \"http://a:1\" } ]\nretries: 11"),
            "upstreams[0].retries"),
        Arguments.of("a health-check path without a slash",
            withUpstream("endpoints: [ { url: \"http://a:1\" } ]\nhealth-check: { path: health }"),
            "upstreams[0].health-check.path"),
        Arguments.of("an upstream header value with a line break",
            withUpstream("endpoints: [ { url: \"http://a:1\" } ]\nheaders: { x-a: \"one\\ntwo\" }"),
            "upstreams[0].headers.x-a"),
        Arguments.of("a consumer without a name", BASE.replace("{ name: alice, ", "{ "), "consumers[0].name"),
        Arguments.of("path and path-prefix together",
            BASE + "routes: [ { name: r, match: { path: /a, path-prefix: /b }, upstream: pool } ]", "routes[0].match"),
        Arguments.of("a match with neither path nor path-prefix",
            BASE + "routes: [ { name: r, match: { methods: [POST] }, upstream: pool } ]", "routes[0].match"),
        Arguments.of("a route without an upstream", BASE + "routes: [ { name: r, match: { path: /a } } ]",
            "routes[0].upstream"),
        Arguments.of("an unknown route key", withRoute("upstreams: pool"), "routes[0].upstreams"),
        Arguments.of("an unknown api", withRoute("api: openai-completions"), "routes[0].api"),
        Arguments.of("a method with a space",
            BASE + "routes: [ { name: r, match: { path: /a, methods: [ \"PO ST\" ] }, upstream: pool } ]",
            "routes[0].match.methods[0]"),
        Arguments.of("a header to remove with a space", withRoute("request-headers: { remove: [ \"x debug\" ] }"),
            "routes[0].request-headers.remove[0]"),
        Arguments.of("a header name with a space", withRoute("response-headers: { set: { \"x a\": b } }"),
            "routes[0].response-headers.set.x a"),
        Arguments.of("a rewrite-path without a slash", withRoute("rewrite-path: v1/chat"), "routes[0].rewrite-path"),
        Arguments.of("a resume store that is not Redis", withRoute("sse: { resume: { enabled: true, store: memcached://a:1 } }"),
            "routes[0].sse.resume.store"),
        Arguments.of("buffer-events of 0", withRoute("sse: { resume: { buffer-events: 0 } }"),
            "routes[0].sse.resume.buffer-events"),
        Arguments.of("a zero long-poll wait", withRoute("sse: { long-poll: { enabled: true, wait: 0s } }"),
            "routes[0].sse.long-poll.wait"),
        Arguments.of("an unknown websocket key", withRoute("websocket: { enabled: true, ping: 30s }"),
            "routes[0].websocket.ping"),
        Arguments.of("compression not a map", withRoute("compression: gzip"), "routes[0].compression"),
        Arguments.of("an unknown plugin", withPlugins("oauth: {}"), "routes[0].plugins.oauth"),
        Arguments.of("ip-restriction with neither allow nor deny", withPlugins("ip-restriction: {}"),
            "routes[0].plugins.ip-restriction"),
        Arguments.of("ip-restriction with a bad network", withPlugins("ip-restriction: { deny: [ 300.1.2.3/8 ] }"),
            "routes[0].plugins.ip-restriction.deny[0]"),
        Arguments.of("cors without allow-origins", withPlugins("cors: { max-age: 1h }"),
            "routes[0].plugins.cors.allow-origins"),
        Arguments.of("cors credentials with the wildcard origin",
            withPlugins("cors: { allow-origins: [ \"*\" ], allow-credentials: true }"),
            "routes[0].plugins.cors.allow-credentials"),
        Arguments.of("cors wildcard with other origins",
            withPlugins("cors: { allow-origins: [ \"*\", \"https://a.example\" ] }"), "routes[0].plugins.cors.allow-origins"),
        Arguments.of("cors origin with a path", withPlugins("cors: { allow-origins: [ \"https://a.example/app\" ] }"),
            "routes[0].plugins.cors.allow-origins[0]"),
        Arguments.of("key-auth with an empty allow list", withPlugins("key-auth: { allow: [] }"),
            "routes[0].plugins.key-auth.allow"),
        Arguments.of("key-auth with an unknown key", withPlugins("key-auth: { alow: [alice] }"),
            "routes[0].plugins.key-auth.alow"),
        Arguments.of("jwt-auth without keys", withPlugins("jwt-auth: { issuer: https://idp.example }"),
            "routes[0].plugins.jwt-auth.keys"),
        Arguments.of("a jwt secret without an algorithm", withPlugins("jwt-auth: { keys: [ { secret: " + SECRET_32 + " } ] }"),
            "routes[0].plugins.jwt-auth.keys[0].algorithm"),
        Arguments.of("a jwt secret that is too short for HS256",
            withPlugins("jwt-auth: { keys: [ { algorithm: HS256, secret: short-secret } ] }"),
            "routes[0].plugins.jwt-auth.keys[0].secret"),
        Arguments.of("a jwt secret with an RSA algorithm",
            withPlugins("jwt-auth: { keys: [ { algorithm: RS256, secret: " + SECRET_32 + " } ] }"),
            "routes[0].plugins.jwt-auth.keys[0].algorithm"),
        Arguments.of("a jwt key with two kinds",
            withPlugins("jwt-auth: { keys: [ { algorithm: HS256, secret: " + SECRET_32
                + ", jwks-uri: \"https://idp.example/jwks\" } ] }"),
            "routes[0].plugins.jwt-auth.keys[0]"),
        Arguments.of("a kid on a jwks-uri key",
            withPlugins("jwt-auth: { keys: [ { jwks-uri: \"https://idp.example/jwks\", kid: k1 } ] }"),
            "routes[0].plugins.jwt-auth.keys[0].kid"),
        Arguments.of("refresh on a secret key",
            withPlugins("jwt-auth: { keys: [ { algorithm: HS256, secret: " + SECRET_32 + ", refresh: 5m } ] }"),
            "routes[0].plugins.jwt-auth.keys[0].refresh"),
        Arguments.of("a jwks-uri that is not http", withPlugins("jwt-auth: { keys: [ { jwks-uri: \"ftp://idp/jwks\" } ] }"),
            "routes[0].plugins.jwt-auth.keys[0].jwks-uri"),
        Arguments.of("rate-limit rules combined with an inline rule",
            withPlugins("rate-limit: { limit-by: ip, rules: [ { limit-by: ip, requests-per-second: 1 } ] }"),
            "routes[0].plugins.rate-limit"),
        Arguments.of("rate-limit at zero requests per second",
            withPlugins("rate-limit: { limit-by: ip, requests-per-second: 0 }"),
            "routes[0].plugins.rate-limit.requests-per-second"),
        Arguments.of("rate-limit by an unknown key", withPlugins("rate-limit: { limit-by: user, requests-per-second: 1 }"),
            "routes[0].plugins.rate-limit.limit-by"),
        Arguments.of("rate-limit without settings", withPlugins("rate-limit:"), "routes[0].plugins.rate-limit"),
        Arguments.of("ai-token-ratelimit with two windows in one rule",
            withPlugins("ai-token-ratelimit: { rules: [ { limit-by: ip, tokens-per-minute: 1, tokens-per-hour: 2 } ] }"),
            "routes[0].plugins.ai-token-ratelimit.rules[0]"),
        Arguments.of("ai-token-ratelimit with no window",
            withPlugins("ai-token-ratelimit: { rules: [ { limit-by: ip } ] }"),
            "routes[0].plugins.ai-token-ratelimit.rules[0]"),
        Arguments.of("ai-token-ratelimit with an unknown enforce",
            withPlugins("ai-token-ratelimit: { rules: [ { limit-by: ip, tokens-per-minute: 1 } ], enforce: sometimes }"),
            "routes[0].plugins.ai-token-ratelimit.enforce"),
        Arguments.of("ai-token-ratelimit with a fractional limit",
            withPlugins("ai-token-ratelimit: { rules: [ { limit-by: ip, tokens-per-minute: 1.5 } ] }"),
            "routes[0].plugins.ai-token-ratelimit.rules[0].tokens-per-minute"),
        Arguments.of("ai-token-ratelimit with no rules", withPlugins("ai-token-ratelimit: { rules: [] }"),
            "routes[0].plugins.ai-token-ratelimit.rules"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refused")
  void whatTheLoaderRefusesTheSchemaRefuses(String name, String yaml, String loaderPath) throws IOException {
    List<String> loader = loaderErrors(yaml, null);
    assertThat(loader).as("the loader refuses it").isNotEmpty();
    assertThat(loader).as("the loader names %s", loaderPath).anyMatch(e -> e.startsWith(loaderPath + ":"));
    // Refused for the same reason, not for another mistake elsewhere: a schema error sits on the
    // loader's path, or on one of its parents (a missing key is reported on its map).
    String pointer = "/" + loaderPath.replaceAll("\\[(\\d+)]", ".$1").replace('.', '/');
    List<String> locations = schemaErrorLocations(YAML.readTree(yaml));
    assertThat(locations).as("the schema refuses it").isNotEmpty();
    assertThat(locations).as("a schema error at %s or a parent of it", pointer)
        .anyMatch(l -> pointer.equals(l) || pointer.startsWith(l + "/") || l.isEmpty());
  }

  /** Edge cases the loader accepts: the schema must not be stricter than it. */
  static Stream<Arguments> accepted() {
    return Stream.of(
        Arguments.of("the base of the refused table", withRoute("timeout: 10m")),
        Arguments.of("substituted numbers and booleans", """
            listeners: [ { name: a, port: "${PORT:-8080}", http2: "${H2:-false}" } ]
            io-threads: "${THREADS:-0}"
            """),
        Arguments.of("an empty key-auth", withPlugins("key-auth:")),
        Arguments.of("0s where a duration may be off",
            BASE + "shutdown: { drain-timeout: 0s }\nroutes: [ { name: r, match: { path: /a }, upstream: pool,"
                + " timeout: 0s, sse: { heartbeat: 0s }, websocket: { enabled: true, ping-interval: 0s, idle-timeout: 0s } } ]"),
        Arguments.of("IPv6 networks and addresses", """
            listeners: [ { name: a, host: "::", port: 8080, trusted-proxies: [ "fd00::/8", 10.0.0.1 ] } ]
            upstreams: [ { name: pool, endpoints: [ { url: "http://[::1]:9000/base" } ] } ]
            """),
        Arguments.of("an admin host with a token", BASE + "admin: { host: 0.0.0.0, port: 9901, token: \"${T:-t0ken}\" }"),
        Arguments.of("a loopback admin host without a token", BASE + "admin: { host: localhost, port: 9902 }"),
        Arguments.of("every limit", BASE + """
            limits: { max-request-body: 1GiB, max-header-size: 64KiB, max-uri-length: 4KiB, request-header-timeout: 5s,
                      request-body-timeout: 2m, max-connections: 10, max-connections-per-ip: 0, idle-timeout: 1h,
                      max-session-memory: 1TiB }
            """),
        Arguments.of("an upstream with every key", withUpstream("""
            endpoints: [ { url: "https://models.internal/v1", weight: 1000 } ]
            balancer: random
            connect-timeout: 250ms
            first-byte-timeout: 2m
            stream-idle-timeout: 1d
            max-connections-per-endpoint: 1
            retries: 0
            health-check: { path: /health, interval: 1s, timeout: 1s, unhealthy-after: 1, healthy-after: 1 }
            dns-refresh: 1m
            headers: { Authorization: "Bearer ${KEY:-k}" }
            tls: { verify: false }
            """)),
        Arguments.of("a route with every key", withRoute("""
            api: anthropic-messages
            rewrite-path: /v1/messages
            request-headers: { set: { x-origin: sluice }, remove: [ x-debug ] }
            response-headers: { remove: [ server ] }
            timeout: 10m
            compression: { gzip: true, min-size: 0B }
            sse:
              heartbeat: 5s
              resume: { enabled: true, buffer-events: 1000000, buffer-bytes: 4MiB, ttl: 1m, store: "redis://redis:6379" }
              long-poll: { enabled: true, wait: 10s }
            websocket: { enabled: true, max-frame-size: 125B, ping-interval: 30s, idle-timeout: 5m }
            """).replace("match: { path-prefix: /v1/chat/completions }",
                "match: { path: /v1/messages, methods: [POST, get], headers: { x-tenant: acme }, models: [ \"claude-*\" ] }")),
        Arguments.of("every plugin", withPlugins("""
            ip-restriction: { allow: [ 127.0.0.0/8 ] }
            cors: { allow-origins: [ "https://app.example", "http://localhost:3000" ], allow-methods: [POST],
                    allow-headers: [ x-tenant ], expose-headers: [ x-request-id ], allow-credentials: true, max-age: 1h }
            key-auth: { allow: [ alice ] }
            jwt-auth:
              issuer: https://idp.example
              audiences: [ sluice ]
              consumer-claim: client_id
              allow-undeclared: true
              clock-skew: 5s
              keys:
                - { jwks-uri: "https://idp.example/jwks", refresh: 1m }
                - { algorithm: HS512, secret: "%s", kid: k2 }
            rate-limit: { rules: [ { limit-by: "header:x-user", requests-per-second: 0.5, burst: 3 },
                                   { limit-by: consumer, requests-per-second: 10 } ] }
            ai-token-ratelimit:
              rules:
                - { limit-by: consumer, tokens-per-minute: 100000, overrides: { alice: 0 } }
                - { limit-by: "cookie:session", tokens-per-day: 1000000 }
              default-max-tokens: 10000000
              enforce: mid-stream
              store: local
            """.formatted(SECRET_32 + SECRET_32))));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("accepted")
  void whatTheLoaderAcceptsTheSchemaAccepts(String name, String yaml) throws IOException {
    assertThat(loaderErrors(yaml, null)).as("the loader accepts it").isEmpty();
    assertThat(schemaErrors(FULL, YAML.readTree(yaml))).as("the schema accepts it").isEmpty();
  }

  // ------------------------------------------------------------------ helpers

  /**
   * The loader's problems, as {@code --check} would print them. Allowed: a file that does not exist
   * on this machine. An unset {@code ${VAR}} stands for a value of the kind its name suggests; with a
   * {@code :-default} it is left unset, so the default is what is checked.
   */
  private static List<String> loaderErrors(String yaml, Path baseDir) {
    Function<String, String> env = name -> yaml.contains("${" + name + ":-") ? null : standIn(name);
    try {
      new ConfigLoader(env, PluginRegistry.load()).parse(yaml, baseDir);
      return List.of();
    } catch (ConfigException e) {
      return e.errors().stream().filter(err -> !err.endsWith("(no such file)")).toList();
    }
  }

  private static String standIn(String name) {
    String n = name.toUpperCase(Locale.ROOT);
    if (n.endsWith("_URL")) {
      return "http://127.0.0.1:9000";
    }
    if (n.endsWith("PORT")) {
      return "8080";
    }
    // Long enough for an HS512 secret; unique per name, as keys of two consumers must be.
    return "stand-in-" + name.toLowerCase(Locale.ROOT) + "-" + "0123456789abcdef".repeat(4);
  }

  private static List<String> schemaErrors(Schema schema, JsonNode tree) {
    return schema.validate(tree == null ? "null" : tree.toString(), InputFormat.JSON).stream()
        .map(Object::toString).toList();
  }

  /** Where the schema finds fault, as JSON pointers ("" for the root). */
  private static List<String> schemaErrorLocations(JsonNode tree) {
    return FULL.validate(tree.toString(), InputFormat.JSON).stream()
        .map(e -> e.getInstanceLocation().toString())
        .map(l -> l.equals("/") || l.equals("$") ? "" : l)
        .toList();
  }

  /** The schema of one {@code $defs} entry, with the other definitions it refers to. */
  private static Schema part(String def) {
    ObjectNode wrapper = JSON.createObjectNode();
    wrapper.set("$schema", SCHEMA_JSON.get("$schema"));
    wrapper.set("$defs", SCHEMA_JSON.get("$defs"));
    wrapper.put("$ref", "#/$defs/" + def);
    return REGISTRY.getSchema(wrapper.toString());
  }

  private static Set<String> propertyNames(String def) {
    Set<String> names = new TreeSet<>();
    SCHEMA_JSON.path("$defs").path(def).path("properties").fieldNames().forEachRemaining(names::add);
    assertThat(names).as("$defs/%s/properties", def).isNotEmpty();
    return names;
  }

  private static boolean isSubset(JsonNode map, Set<String> names) {
    for (Iterator<String> it = map.fieldNames(); it.hasNext(); ) {
      if (!names.contains(it.next())) {
        return false;
      }
    }
    return true;
  }

  private static void collectPropertyNames(JsonNode node, Set<String> out) {
    if (node.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("properties") && e.getValue().isObject()) {
          e.getValue().fieldNames().forEachRemaining(out::add);
        }
        collectPropertyNames(e.getValue(), out);
      }
    } else if (node.isArray()) {
      node.forEach(n -> collectPropertyNames(n, out));
    }
  }

  private static JsonNode readSchema() {
    try {
      return JSON.readTree(Files.readString(SCHEMA_FILE, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
