package io.sluice.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.sluice.config.RouteConfig.Api;
import io.sluice.config.UpstreamConfig.Balancer;
import io.sluice.net.CidrSet;
import io.sluice.store.RedisStores;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import io.sluice.http.HttpSyntax;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Loads the YAML config (README, "Configuration walkthrough") into a validated
 * {@link GatewayConfig}.
 *
 * <p>The YAML is parsed by Jackson into a tree, and the tree is then walked by hand rather than
 * bound to classes: that is what lets every problem carry its full path
 * ({@code routes[1].match.path-prefix}) and lets all of them be reported together, instead of
 * the first one Jackson's data binding would stop at. A {@link ConfigException} holds the list;
 * nothing is built unless the whole config is valid.
 *
 * <p>String values may use {@code ${ENV_VAR}}, {@code ${ENV_VAR:-default}} and
 * {@code ${file:/path}} (relative paths resolve against the config file's folder; {@code $${} is a
 * literal {@code ${}). Values that came from such a reference are secrets: they are never echoed in
 * messages, and {@link GatewayConfig#redacted()} hides them.
 *
 * <p>Keys whose feature is not built yet ({@code sse.resume}, {@code sse.long-poll}, …) are
 * recognised and refused with "not supported yet", never ignored: a config asking for TLS must not
 * quietly serve plaintext.
 *
 * <p>Instances are immutable and thread-safe; one may serve every reload.
 */
public final class ConfigLoader {
  private static final YAMLMapper MAPPER =
      YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  private static final String URL_FORM = "an http:// or https:// URL such as http://127.0.0.1:9000";


  private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9._-]+");

  private final Function<String, String> env;
  private final PluginCatalog plugins;

  /**
   * A loader that knows exactly these plugins. There is no default: the config package knows no
   * plugin type, so the caller says which plugins exist (the gateway: {@code PluginRegistry.load()},
   * the factories on the class path; {@link PluginCatalog#NONE} for none).
   *
   * @param env looks up environment variables for {@code ${ENV_VAR}} (null = unset); tests pass a
   *     map's {@code get} so they never depend on the machine
   */
  public ConfigLoader(Function<String, String> env, PluginCatalog plugins) {
    this.env = Objects.requireNonNull(env, "env");
    this.plugins = Objects.requireNonNull(plugins, "plugins");
  }

  /**
   * Reads and validates a config file; relative file names in it ({@code ${file:…}}, TLS
   * certificates and keys, {@code public-key}) are relative to its folder.
   *
   * @throws ConfigException with every problem found, or one naming the file when it cannot be read
   */
  public GatewayConfig load(Path file) throws ConfigException {
    Path absolute = file.toAbsolutePath().normalize();
    String yaml;
    try {
      if (Files.isDirectory(absolute)) {
        throw fileProblem(absolute, "it is a directory");
      }
      yaml = Files.readString(absolute, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw fileProblem(absolute, "no such file");
    } catch (AccessDeniedException e) {
      throw fileProblem(absolute, "permission denied");
    } catch (CharacterCodingException e) {
      throw fileProblem(absolute, "not UTF-8 text");
    } catch (IOException e) {
      throw fileProblem(absolute, e.getClass().getSimpleName() + ": " + e.getMessage());
    }
    return parse(yaml, absolute.getParent());
  }

  /**
   * Parses and validates config text.
   *
   * @param baseDir folder that relative file names ({@code ${file:…}}, TLS certificates and keys,
   *     {@code public-key}) resolve against; null = the working directory
   * @throws ConfigException with every problem found, each as {@code <path>: <problem>}
   */
  public GatewayConfig parse(String yaml, Path baseDir) throws ConfigException {
    JsonNode tree;
    try {
      String structural = structuralProblem(yaml);
      if (structural != null) {
        throw new ConfigException(List.of(structural));
      }
      tree = MAPPER.readTree(yaml);
    } catch (JsonProcessingException e) {
      throw new ConfigException(List.of(syntaxProblem(e)));
    } catch (IOException e) {
      throw new UncheckedIOException(e); // reading from a String: cannot happen
    }
    if (tree == null || tree.isMissingNode() || tree.isNull()) {
      tree = JsonNodeFactory.instance.objectNode(); // an empty file: report what is missing
    }
    Walk walk = new Walk(new Substitutor(env, baseDir), plugins);
    GatewayConfig config = walk.gateway(tree);
    if (!walk.problems.isEmpty() || config == null) {
      throw new ConfigException(walk.problems.messages());
    }
    return config;
  }

  private static ConfigException fileProblem(Path file, String reason) {
    return new ConfigException(List.of(file + ": cannot read the config file (" + reason + ")"));
  }

  /**
   * Finds what Jackson's tree reading would silently get wrong: it does not expand YAML aliases
   * ({@code b: *x} reads as the string {@code "x"}) and reads only the first of several documents.
   * Both are refused, with their place, rather than loaded as something the user did not write.
   */
  private static String structuralProblem(String yaml) throws IOException {
    try (JsonParser p = MAPPER.createParser(yaml)) {
      int depth = 0;
      boolean rootDone = false;
      for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
        if (rootDone) {
          return at(p.currentTokenLocation()) + ": invalid YAML: only one document is allowed in a config file";
        }
        if (p instanceof YAMLParser y && y.isCurrentAlias()) {
          return at(p.currentTokenLocation())
              + ": YAML aliases are not supported (*"
              + p.getText()
              + "): write the value out";
        }
        if (t.isStructStart()) {
          depth++;
        } else if (t.isStructEnd()) {
          depth--;
        }
        rootDone = depth == 0;
      }
      return null;
    }
  }

  private static String syntaxProblem(JsonProcessingException e) {
    // SnakeYAML's own exception says what is wrong and where, without the multi-line excerpt that
    // Jackson's message carries.
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof MarkedYAMLException m && m.getProblemMark() != null) {
        String context =
            m.getContext() == null || m.getContextMark() == null
                ? ""
                : " (" + m.getContext() + " started at line " + (m.getContextMark().getLine() + 1)
                    + ", column " + (m.getContextMark().getColumn() + 1) + ")";
        return "line " + (m.getProblemMark().getLine() + 1) + ", column " + (m.getProblemMark().getColumn() + 1)
            + ": invalid YAML: " + m.getProblem() + context;
      }
    }
    String problem = e.getOriginalMessage();
    problem = problem == null ? "invalid YAML" : problem.strip().lines().findFirst().orElse("invalid YAML");
    return at(e.getLocation()) + ": invalid YAML: " + problem;
  }

  private static String at(JsonLocation loc) {
    return loc != null && loc.getLineNr() > 0
        ? "line " + loc.getLineNr() + ", column " + loc.getColumnNr()
        : "(root)";
  }

  /** One pass over one tree; holds the problems and what later sections cross-check. */
  private static final class Walk {
    final Problems problems = new Problems();
    final Substitutor substitutor;
    /** Bound addresses, to name two listeners (or a listener and admin) fighting over a port. */
    final List<Bind> binds = new ArrayList<>();
    final Set<String> upstreamNames = new LinkedHashSet<>();

    record Bind(String host, int port, String path) {}

    final Set<String> consumerNames = new LinkedHashSet<>();
    final PluginBlocks pluginBlocks;
    final ModelBlocks modelBlocks = new ModelBlocks(this::upstreamRef);

    Walk(Substitutor substitutor, PluginCatalog plugins) {
      this.substitutor = substitutor;
      this.pluginBlocks = new PluginBlocks(plugins, consumerNames);
    }

    GatewayConfig gateway(JsonNode tree) {
      MapReader top = new ConfigNode(tree, "", problems, substitutor).map();
      if (top == null) {
        return null;
      }
      List<ListenerConfig> listeners = listeners(top.get("listeners"));
      AdminConfig admin = admin(top.get("admin"));
      LimitsConfig limits = limits(top.get("limits"));
      ShutdownConfig shutdown = shutdown(top.get("shutdown"));
      Integer ioThreads = or(top.get("io-threads").integer(0, Integer.MAX_VALUE, null), 0);
      List<UpstreamConfig> upstreams = upstreams(top.get("upstreams"));
      List<ModelConfig> models = modelBlocks.models(top.get("models"));
      List<ConsumerConfig> consumers = consumers(top.get("consumers"));
      pluginBlocks.global(top.get("plugins"));
      List<RouteConfig> routes = routes(top.get("routes"));
      LoggingConfig logging = logging(top.get("logging"));
      List<PriceConfig> pricing = PricingBlock.read(top.get("pricing"));
      TelemetryConfig telemetry = TelemetryBlock.read(top.get("telemetry"));
      top.finish();
      if (!problems.isEmpty() || admin == null || limits == null || shutdown == null || telemetry == null) {
        return null;
      }
      return new GatewayConfig(
          listeners, admin, limits, shutdown, ioThreads, upstreams, consumers, routes, logging, models, telemetry,
          Redactor.redact(tree), pricing);
    }

    // ---------------------------------------------------------------- logging

    /** A logger name as Logback takes it: dotted segments (packages, classes, {@code sluice.access}). */
    private static final Pattern LOGGER_NAME = Pattern.compile("[A-Za-z_$][\\w$-]*(\\.[A-Za-z_$][\\w$-]*)*");

    /** {@code logging.level}: logger name (or {@code root}) to level. */
    LoggingConfig logging(ConfigNode node) {
      MapReader m = node.map();
      if (m == null) {
        return LoggingConfig.DEFAULTS;
      }
      Map<String, ConfigNode> entries = m.get("level").entries();
      m.finish();
      Map<String, String> levels = new LinkedHashMap<>();
      if (entries == null) {
        return LoggingConfig.DEFAULTS;
      }
      entries.forEach((logger, value) -> {
        if (!LOGGER_NAME.matcher(logger).matches()) {
          value.problem("not a logger name (expected root, or a package or class such as io.sluice.upstream)");
          return;
        }
        // YAML 1.1, which the parser follows, reads a bare `off` as the boolean false.
        String level = "false".equals(value.got()) ? "off" : value.present() ? value.nonEmptyString() : null;
        if (!value.present()) {
          value.problem("expected a level: " + String.join(", ", LoggingConfig.LEVELS));
        } else if (level != null && !LoggingConfig.LEVELS.contains(level.toLowerCase(Locale.ROOT))) {
          value.problem("expected one of: " + String.join(", ", LoggingConfig.LEVELS) + " (got " + value.got() + ")");
        } else if (level != null) {
          levels.put(logger, level.toLowerCase(Locale.ROOT));
        }
      });
      return new LoggingConfig(levels);
    }

    // ---------------------------------------------------------------- listeners, admin, limits

    List<ListenerConfig> listeners(ConfigNode node) {
      List<ConfigNode> items = node.required().nonEmptyItems();
      List<ListenerConfig> out = new ArrayList<>();
      Map<String, String> names = new HashMap<>();
      for (ConfigNode item : items) {
        MapReader m = item.mapItem();
        if (m == null) {
          continue;
        }
        String name = m.get("name").required().unique(names, "listener name");
        String host = or(m.get("host").nonEmptyString(), "0.0.0.0");
        ConfigNode portNode = m.get("port").required();
        Integer port = portNode.integer(0, 65535, "a port 0..65535");
        ConfigNode tlsNode = m.get("tls");
        TlsConfig tls = listenerTls(tlsNode);
        // Default: h2 by ALPN on TLS listeners; h2c (prior knowledge) only when asked for.
        Boolean http2 = or(m.get("http2").bool(), tlsNode.present());
        boolean proxyProtocol = or(m.get("proxy-protocol").bool(), false);
        List<String> trusted = cidrs(m.get("trusted-proxies"));
        m.finish();
        if (port != null) {
          bind(host, port, portNode);
        }
        if (name != null && port != null && (tls != null || !tlsNode.present())) {
          out.add(new ListenerConfig(name, host, port, proxyProtocol, trusted, tls, http2));
        }
      }
      return out;
    }

    /**
     * {@code listeners[].tls}: the files are read and checked now, so {@code --check} reports an
     * unreadable file, a key in an unsupported form (encrypted, DSA, …), a key that does not match,
     * or an expired certificate. Relative paths resolve against the config file's folder, like
     * every other file the config names ({@code public-key}, {@code ${file:…}}), so a config and
     * its certificates move together whatever folder the gateway is started from.
     */
    TlsConfig listenerTls(ConfigNode node) {
      MapReader m = node.map();
      if (m == null) {
        return null;
      }
      ConfigNode certNode = m.get("certificate").required();
      ConfigNode keyNode = m.get("private-key").required();
      Path certPath = certNode.file();
      Path keyPath = keyNode.file();
      ConfigNode protocolsNode = m.get("protocols");
      List<String> protocols = new ArrayList<>();
      for (ConfigNode p : orEmpty(protocolsNode.list())) {
        String name = p.present() ? p.nonEmptyString() : null;
        if (!p.present()) {
          p.problem("expected a string");
        } else if (name != null && !TlsConfig.ALLOWED_PROTOCOLS.contains(name)) {
          p.problem("expected one of: " + String.join(", ", TlsConfig.ALLOWED_PROTOCOLS) + " (got " + p.got()
              + "; older protocols are refused)");
        } else if (name != null && !protocols.contains(name)) {
          protocols.add(name);
        }
      }
      List<ConfigNode> listed = protocolsNode.list();
      if (listed != null && listed.isEmpty()) {
        protocolsNode.problem("must not be empty");
      }
      m.finish();
      if (certPath == null || keyPath == null) {
        return null;
      }
      boolean filesOk = true;
      try {
        PemFiles.certificates(certPath);
      } catch (PemFiles.PemException e) {
        certNode.problem(e.getMessage());
        filesOk = false;
      }
      try {
        PemFiles.privateKey(keyPath);
      } catch (PemFiles.PemException e) {
        keyNode.problem(e.getMessage());
        filesOk = false;
      }
      if (filesOk) {
        try {
          PemFiles.checkPair(certPath, keyPath, Instant.now());
        } catch (PemFiles.PemException e) {
          node.problem(e.getMessage());
          filesOk = false;
        }
      }
      return filesOk ? new TlsConfig(certPath, keyPath, protocols.isEmpty() ? List.of("TLSv1.3") : protocols) : null;
    }

    /** {@code upstreams[].tls}; a relative {@code ca} resolves against the config file's folder. */
    UpstreamTlsConfig upstreamTls(ConfigNode node) {
      MapReader m = node.map();
      if (m == null) {
        return node.present() ? null : UpstreamTlsConfig.DEFAULT;
      }
      ConfigNode caNode = m.get("ca");
      Path caPath = caNode.file();
      Boolean verify = m.get("verify").bool();
      m.finish();
      if (caPath != null) {
        try {
          PemFiles.certificates(caPath);
        } catch (PemFiles.PemException e) {
          caNode.problem(e.getMessage());
          return null;
        }
      }
      return new UpstreamTlsConfig(caPath, or(verify, true));
    }

    /** {@code routes[].compression}. */
    CompressionConfig compression(ConfigNode node) {
      MapReader m = node.map();
      if (m == null) {
        return CompressionConfig.OFF;
      }
      Boolean gzip = m.get("gzip").bool();
      Long minSize = m.get("min-size").size();
      m.finish();
      return new CompressionConfig(or(gzip, false), or(minSize, CompressionConfig.OFF.minSize()));
    }

    /** {@code routes[].sse}: heartbeats, resumable sessions, long polling. */
    SseConfig sse(ConfigNode node) {
      MapReader m = node.map();
      if (m == null) {
        return SseConfig.DEFAULTS;
      }
      Duration heartbeat = or(m.get("heartbeat").duration(), SseConfig.DEFAULTS.heartbeat());
      SseConfig.Resume resume = resume(m.get("resume"));
      SseConfig.LongPoll longPoll = longPoll(m.get("long-poll"));
      m.finish();
      return new SseConfig(heartbeat, resume, longPoll);
    }

    SseConfig.Resume resume(ConfigNode node) {
      SseConfig.Resume d = SseConfig.Resume.OFF;
      MapReader m = node.map();
      if (m == null) {
        return d;
      }
      Boolean enabled = m.get("enabled").bool();
      Integer events = m.get("buffer-events").integer(1, 1_000_000, null);
      Long bytes = positiveSize(m.get("buffer-bytes"), Integer.MAX_VALUE);
      Duration ttl = m.get("ttl").positiveDuration();
      ConfigNode storeNode = m.get("store");
      String store = storeNode.present() ? storeNode.nonEmptyString() : null;
      if ("local".equals(store)) {
        store = null;
      } else if (store != null) {
        String problem = RedisStores.problem(store);
        if (problem != null) {
          storeNode.problem(problem.startsWith("expected ") ? "expected local, " + problem.substring(9) : problem);
          store = null;
        }
      }
      m.finish();
      return new SseConfig.Resume(or(enabled, false), or(events, d.bufferEvents()), or(bytes, d.bufferBytes()),
          or(ttl, d.ttl()), store);
    }

    SseConfig.LongPoll longPoll(ConfigNode node) {
      MapReader m = node.map();
      if (m == null) {
        return SseConfig.LongPoll.OFF;
      }
      Boolean enabled = m.get("enabled").bool();
      Duration wait = m.get("wait").positiveDuration();
      m.finish();
      return new SseConfig.LongPoll(or(enabled, false), or(wait, SseConfig.LongPoll.OFF.maxWait()));
    }

    /** A list of IPv4/IPv6 networks, each checked. */
    List<String> cidrs(ConfigNode node) {
      List<String> out = new ArrayList<>();
      for (ConfigNode item : orEmpty(node.list())) {
        String cidr = item.present() ? item.nonEmptyString() : null;
        if (!item.present()) {
          item.problem("expected a string");
        } else if (cidr != null) {
          String problem = CidrSet.problem(cidr);
          if (problem != null) {
            item.problem(problem);
          } else {
            out.add(cidr);
          }
        }
      }
      return out;
    }

    AdminConfig admin(ConfigNode node) {
      MapReader m = node.map();
      if (m == null) {
        if (!node.present()) {
          bind("127.0.0.1", 9901, node);
          return new AdminConfig("127.0.0.1", 9901, null);
        }
        return null;
      }
      String host = or(m.get("host").nonEmptyString(), "127.0.0.1");
      ConfigNode portNode = m.get("port");
      Integer port = or(portNode.integer(0, 65535, "a port 0..65535"), portNode.present() ? null : 9901);
      ConfigNode tokenNode = m.get("token");
      String token = tokenNode.nonEmptyString();
      m.finish();
      if (!tokenNode.present() && !isLoopback(host)) {
        tokenNode.problem("required when admin.host is not a loopback address");
      }
      if (port == null) {
        return null;
      }
      bind(host, port, portNode.present() ? portNode : node);
      return new AdminConfig(host, port, token == null ? null : new Secret(token));
    }

    LimitsConfig limits(ConfigNode node) {
      LimitsConfig d = LimitsConfig.DEFAULTS;
      MapReader m = node.map();
      if (m == null) {
        return node.present() ? null : d;
      }
      Long body = positiveSize(m.get("max-request-body"), Long.MAX_VALUE);
      Long header = positiveSize(m.get("max-header-size"), Integer.MAX_VALUE);
      Long uri = positiveSize(m.get("max-uri-length"), Integer.MAX_VALUE);
      Duration headerTimeout = m.get("request-header-timeout").positiveDuration();
      Integer conns = m.get("max-connections").integer(1, Integer.MAX_VALUE, null);
      Integer perIp = m.get("max-connections-per-ip").integer(0, Integer.MAX_VALUE, null);
      Duration idle = m.get("idle-timeout").positiveDuration();
      Duration bodyTimeout = m.get("request-body-timeout").positiveDuration();
      Long sessionMemory = positiveSize(m.get("max-session-memory"), Long.MAX_VALUE);
      m.finish();
      return new LimitsConfig(
          or(body, d.maxRequestBody()),
          header == null ? d.maxHeaderSize() : header.intValue(),
          uri == null ? d.maxUriLength() : uri.intValue(),
          or(headerTimeout, d.requestHeaderTimeout()),
          or(conns, d.maxConnections()),
          or(perIp, d.maxConnectionsPerIp()),
          or(idle, d.idleTimeout()),
          or(bodyTimeout, d.requestBodyTimeout()),
          or(sessionMemory, d.maxSessionMemory()));
    }

    ShutdownConfig shutdown(ConfigNode node) {
      MapReader m = node.map();
      if (m == null) {
        return node.present() ? null : ShutdownConfig.DEFAULTS;
      }
      // 0s is allowed: stop at once, without draining.
      Duration drain = m.get("drain-timeout").duration();
      m.finish();
      return new ShutdownConfig(or(drain, ShutdownConfig.DEFAULTS.drainTimeout()));
    }

    // ---------------------------------------------------------------- upstreams

    List<UpstreamConfig> upstreams(ConfigNode node) {
      List<UpstreamConfig> out = new ArrayList<>();
      Map<String, String> names = new HashMap<>();
      for (ConfigNode item : orEmpty(node.list())) {
        MapReader m = item.mapItem();
        if (m == null) {
          continue;
        }
        String name = m.get("name").required().unique(names, "upstream name");
        if (name != null) {
          upstreamNames.add(name);
        }
        Provider provider = or(choice(m.get("provider"), Provider.values(), Provider::yamlName),
            Provider.OPENAI_COMPATIBLE);
        ConfigNode endpointsNode = m.get("endpoints");
        List<EndpointConfig> endpoints = provider.baseUrl() != null && !endpointsNode.present()
            ? List.of(provider.defaultEndpoint()) : endpoints(endpointsNode);
        Secret apiKey = apiKey(m.get("api-key"));
        if (name != null) {
          modelBlocks.upstream(name, provider);
        }
        String apiVersion = m.get("api-version").nonEmptyString();
        if (apiVersion != null && provider != Provider.AZURE_OPENAI) {
          m.get("api-version").problem("only for provider azure-openai");
        }
        Balancer balancer = choice(m.get("balancer"), Balancer.values(), Balancer::yamlName);
        Duration connect = m.get("connect-timeout").positiveDuration();
        Duration firstByte = m.get("first-byte-timeout").positiveDuration();
        Duration streamIdle = m.get("stream-idle-timeout").positiveDuration();
        Integer maxConns = m.get("max-connections-per-endpoint").integer(1, Integer.MAX_VALUE, null);
        Integer retries = m.get("retries").integer(0, 10, null);
        HealthCheckConfig health = healthCheck(m.get("health-check"), provider.healthPath());
        Duration dns = m.get("dns-refresh").positiveDuration();
        Map<String, Secret> headers = upstreamHeaders(m.get("headers"));
        UpstreamTlsConfig tls = upstreamTls(m.get("tls"));
        m.finish();
        if (name != null && endpoints != null && health != null && tls != null) {
          out.add(
              new UpstreamConfig(
                  name,
                  endpoints,
                  or(balancer, Balancer.ROUND_ROBIN),
                  or(connect, Duration.ofSeconds(2)),
                  or(firstByte, Duration.ofSeconds(120)),
                  or(streamIdle, Duration.ofSeconds(300)),
                  or(maxConns, 1024),
                  or(retries, 1),
                  health,
                  or(dns, Duration.ofSeconds(30)),
                  headers,
                  tls,
                  provider,
                  apiKey,
                  provider == Provider.AZURE_OPENAI ? or(apiVersion, Provider.AZURE_DEFAULT_API_VERSION) : null));
        }
      }
      return out;
    }

    List<EndpointConfig> endpoints(ConfigNode node) {
      List<ConfigNode> items = node.required().nonEmptyItems();
      List<EndpointConfig> out = new ArrayList<>();
      boolean complete = node.present();
      for (ConfigNode item : items) {
        MapReader m = item.mapItem();
        if (m == null) {
          complete = false;
          continue;
        }
        ConfigNode urlNode = m.get("url").required();
        Integer weight = m.get("weight").integer(1, 1000, null);
        m.finish();
        EndpointConfig e = endpoint(urlNode, or(weight, 1));
        if (e == null) {
          complete = false;
        } else {
          out.add(e);
        }
      }
      return complete && !out.isEmpty() ? out : null;
    }

    /**
     * Parses an endpoint URL by hand after {@link URI} has split it: {@code URI.getHost()} returns
     * null for names with an underscore, which Docker Compose service names often have.
     */
    EndpointConfig endpoint(ConfigNode node, int weight) {
      String url = node.nonEmptyString();
      if (url == null) {
        return null;
      }
      String shown = node.isSubstituted() ? "a substituted value" : "'" + Redactor.hideUrlPassword(url) + "'";
      URI uri;
      try {
        uri = new URI(url);
      } catch (URISyntaxException e) {
        node.problem("expected " + URL_FORM + " (got " + shown + ")");
        return null;
      }
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      String authority = uri.getRawAuthority();
      if (!(scheme.equals("http") || scheme.equals("https")) || uri.isOpaque() || authority == null) {
        node.problem("expected " + URL_FORM + " (got " + shown + ")");
        return null;
      }
      if (authority.contains("@")) {
        node.problem("must not contain user info (set credentials in upstreams[].headers)");
        return null;
      }
      if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
        node.problem("must not have a query or fragment (got " + shown + ")");
        return null;
      }
      String host;
      String portText = null;
      if (authority.startsWith("[")) {
        int close = authority.indexOf(']');
        host = close < 0 ? "" : authority.substring(1, close);
        String rest = close < 0 ? "" : authority.substring(close + 1);
        if (!rest.isEmpty()) {
          portText = rest.startsWith(":") ? rest.substring(1) : "x";
        }
      } else {
        int colon = authority.lastIndexOf(':');
        host = colon < 0 ? authority : authority.substring(0, colon);
        portText = colon < 0 ? null : authority.substring(colon + 1);
        if (!HOST_NAME.matcher(host).matches()) {
          host = "";
        }
      }
      if (host.isEmpty()) {
        node.problem("expected " + URL_FORM + " with a valid host (got " + shown + ")");
        return null;
      }
      int port = scheme.equals("https") ? 443 : 80;
      if (portText != null) {
        port = portText.matches("[0-9]{1,5}") ? Integer.parseInt(portText) : -1;
        if (port < 1 || port > 65535) {
          node.problem("expected " + URL_FORM + " with a port 1..65535 (got " + shown + ")");
          return null;
        }
      }
      String basePath = uri.getRawPath() == null ? "" : uri.getRawPath();
      while (basePath.endsWith("/")) {
        basePath = basePath.substring(0, basePath.length() - 1);
      }
      return new EndpointConfig(url, scheme, host, port, basePath, weight);
    }

    /** {@code presetPath}: the provider preset's probe path, used when the block sets none. */
    HealthCheckConfig healthCheck(ConfigNode node, String presetPath) {
      HealthCheckConfig d = HealthCheckConfig.PASSIVE_ONLY;
      MapReader m = node.map();
      if (m == null) {
        return node.present() ? null : presetPath == null ? d
            : new HealthCheckConfig(presetPath, d.interval(), d.timeout(), d.unhealthyAfter(), d.healthyAfter());
      }
      String path = or(absolutePath(m.get("path")), presetPath);
      Duration interval = m.get("interval").positiveDuration();
      Duration timeout = m.get("timeout").positiveDuration();
      Integer unhealthy = m.get("unhealthy-after").integer(1, Integer.MAX_VALUE, null);
      Integer healthy = m.get("healthy-after").integer(1, Integer.MAX_VALUE, null);
      m.finish();
      return new HealthCheckConfig(
          path,
          or(interval, d.interval()),
          or(timeout, d.timeout()),
          or(unhealthy, d.unhealthyAfter()),
          or(healthy, d.healthyAfter()));
    }

    /** {@code upstreams[].api-key}: a secret like the headers; a line break would inject headers. */
    Secret apiKey(ConfigNode node) {
      if (!node.present()) {
        return null;
      }
      String v = headerValue(node);
      if (v != null && v.isEmpty()) {
        node.problem("must not be empty (remove the key for none)");
        return null;
      }
      return v == null ? null : new Secret(v);
    }

    Map<String, Secret> upstreamHeaders(ConfigNode node) {
      Map<String, Secret> out = new LinkedHashMap<>();
      Map<String, ConfigNode> entries = node.entries();
      if (entries == null) {
        return out;
      }
      entries.forEach(
          (name, value) -> {
            checkHeaderName(name, value);
            String v = headerValue(value);
            if (v != null && v.isEmpty()) {
              value.problem("must not be empty");
            } else if (v != null) {
              out.put(name, new Secret(v));
            }
          });
      return out;
    }

    // ---------------------------------------------------------------- consumers

    List<ConsumerConfig> consumers(ConfigNode node) {
      List<ConsumerConfig> out = new ArrayList<>();
      Map<String, String> names = new HashMap<>();
      Map<String, String> keys = new HashMap<>();
      Map<String, String> claims = new HashMap<>();
      for (ConfigNode item : orEmpty(node.list())) {
        MapReader m = item.mapItem();
        if (m == null) {
          continue;
        }
        String name = m.get("name").required().unique(names, "consumer name");
        List<Secret> apiKeys = new ArrayList<>();
        for (ConfigNode keyNode : orEmpty(m.get("api-keys").list())) {
          if (!keyNode.present()) {
            keyNode.problem("expected a string");
            continue;
          }
          String key = keyNode.nonEmptyString();
          if (key == null) {
            continue;
          }
          // The key itself is never echoed: only where it was seen first.
          String first = keys.putIfAbsent(key, keyNode.path());
          if (first != null) {
            keyNode.problem("duplicate API key (also " + first + ")");
          } else {
            apiKeys.add(new Secret(key));
          }
        }
        String claim = m.get("jwt-claim-value").unique(claims, "jwt-claim-value");
        m.finish();
        if (name != null) {
          out.add(new ConsumerConfig(name, apiKeys, claim));
          consumerNames.add(name);
        }
      }
      return out;
    }

    // ---------------------------------------------------------------- routes

    List<RouteConfig> routes(ConfigNode node) {
      List<RouteConfig> out = new ArrayList<>();
      Map<String, String> names = new HashMap<>();
      for (ConfigNode item : orEmpty(node.list())) {
        MapReader m = item.mapItem();
        if (m == null) {
          continue;
        }
        String name = m.get("name").required().unique(names, "route name");
        MatchConfig match = match(m.get("match").required());
        Api api = choice(m.get("api"), Api.values(), Api::yamlName);
        List<String> aliases = modelBlocks.routeModels(m.get("models"));
        ConfigNode upstreamNode = m.get("upstream");
        String upstream = aliases.isEmpty() && api != Api.MODELS ? upstreamRef(upstreamNode.required())
            : upstreamNode.present() ? upstreamRef(upstreamNode) : null;
        modelBlocks.checkApi(api, upstream, upstreamNode, aliases, m.get("models"));
        FailoverConfig failover = ModelBlocks.failover(m.get("failover"));
        String rewrite = absolutePath(m.get("rewrite-path"));
        HeaderOps requestHeaders = headerOps(m.get("request-headers"));
        HeaderOps responseHeaders = headerOps(m.get("response-headers"));
        Duration timeout = or(m.get("timeout").duration(), Duration.ZERO);
        CompressionConfig compression = compression(m.get("compression"));
        SseConfig sse = sse(m.get("sse"));
        List<RoutePlugin> plugins = pluginBlocks.route(m.get("plugins"));
        WebSocketConfig websocket = WebSocketConfig.parse(m.get("websocket"));
        Long defaultMaxTokens = or(m.get("default-max-tokens").longValue(1, 10_000_000), 0L);
        m.finish();
        if (websocket.enabled() && upstream == null && name != null) {
          m.get("websocket").problem("a WebSocket route needs an upstream (model aliases serve HTTP requests)");
        }
        boolean served = upstream != null || !aliases.isEmpty() || api == Api.MODELS;
        if (name != null && match != null && served && failover != null) {
          out.add(new RouteConfig(name, match, upstream, api, rewrite, requestHeaders, responseHeaders, timeout,
              plugins, compression, sse, websocket, aliases, failover, defaultMaxTokens));
        }
      }
      return out;
    }

    MatchConfig match(ConfigNode node) {
      MapReader m = node.map();
      if (m == null) {
        return null;
      }
      ConfigNode pathNode = m.get("path");
      ConfigNode prefixNode = m.get("path-prefix");
      String path = absolutePath(pathNode);
      String prefix = absolutePath(prefixNode);
      List<String> methods = new ArrayList<>();
      for (ConfigNode methodNode : orEmpty(m.get("methods").list())) {
        String method = methodNode.present() ? methodNode.nonEmptyString() : null;
        if (!methodNode.present()) {
          methodNode.problem("expected a string");
        } else if (method != null && !HttpSyntax.isToken(method)) {
          methodNode.problem("not a valid HTTP method (got " + methodNode.got() + ")");
        } else if (method != null && !methods.contains(method.toUpperCase(Locale.ROOT))) {
          methods.add(method.toUpperCase(Locale.ROOT));
        }
      }
      Map<String, String> headers = new LinkedHashMap<>();
      Map<String, ConfigNode> headerNodes = m.get("headers").entries();
      if (headerNodes != null) {
        headerNodes.forEach(
            (name, value) -> {
              checkHeaderName(name, value);
              String v = headerValue(value);
              if (v != null) {
                headers.put(name.toLowerCase(Locale.ROOT), v);
              }
            });
      }
      List<String> models = new ArrayList<>();
      for (ConfigNode modelNode : orEmpty(m.get("models").list())) {
        String model = modelNode.present() ? modelNode.nonEmptyString() : null;
        if (!modelNode.present()) {
          modelNode.problem("expected a string");
        } else if (model != null) {
          models.add(model);
        }
      }
      m.finish();
      if (pathNode.present() && prefixNode.present()) {
        node.problem("path and path-prefix cannot be combined (use one)");
        return null;
      }
      if (!pathNode.present() && !prefixNode.present()) {
        node.problem("requires path or path-prefix");
        return null;
      }
      if (path == null && prefix == null) {
        return null;
      }
      return new MatchConfig(path, prefix, methods, headers, models);
    }

    String upstreamRef(ConfigNode node) {
      String name = node.nonEmptyString();
      if (name == null) {
        return null;
      }
      if (!upstreamNames.contains(name)) {
        node.problem(
            node.got()
                + " is not defined ("
                + (upstreamNames.isEmpty()
                    ? "no upstreams are defined"
                    : "expected one of: " + String.join(", ", upstreamNames))
                + ")");
        return null;
      }
      return name;
    }

    HeaderOps headerOps(ConfigNode node) {
      MapReader m = node.map();
      if (m == null) {
        return HeaderOps.NONE;
      }
      Map<String, String> set = new LinkedHashMap<>();
      Map<String, ConfigNode> setNodes = m.get("set").entries();
      if (setNodes != null) {
        setNodes.forEach(
            (name, value) -> {
              checkHeaderName(name, value);
              String v = headerValue(value);
              if (v != null) {
                set.put(name, v);
              }
            });
      }
      List<String> remove = new ArrayList<>();
      for (ConfigNode nameNode : orEmpty(m.get("remove").list())) {
        String name = nameNode.present() ? nameNode.string() : null;
        if (!nameNode.present()) {
          nameNode.problem("expected a string");
        } else if (name != null && !HttpSyntax.isToken(name)) {
          nameNode.problem("not a valid header name (got " + nameNode.got() + ")");
        } else if (name != null) {
          remove.add(name);
        }
      }
      m.finish();
      return new HeaderOps(set, remove);
    }

    // ---------------------------------------------------------------- shared checks

    /** A path that must start with '/' (match paths, rewrite-path, health-check path). */
    String absolutePath(ConfigNode node) {
      String s = node.string();
      if (s != null && !s.startsWith("/")) {
        node.problem("must start with '/' (got " + node.got() + ")");
        return null;
      }
      return s;
    }

    <E> E choice(ConfigNode node, E[] values, Function<E, String> yamlName) {
      String s = node.string();
      if (s == null) {
        return null;
      }
      for (E v : values) {
        if (yamlName.apply(v).equals(s)) {
          return v;
        }
      }
      node.problem(
          "expected one of: "
              + Arrays.stream(values).map(yamlName).collect(Collectors.joining(", "))
              + " (got "
              + node.got()
              + ")");
      return null;
    }

    Long positiveSize(ConfigNode node, long max) {
      Long size = node.size();
      if (size == null) {
        return null;
      }
      if (size <= 0) {
        // There is no "unlimited": 0 would refuse everything, which is never what was meant.
        node.problem("must be larger than 0B");
        return null;
      }
      if (size > max) {
        node.problem("must be at most " + Units.formatSize(max) + " (got " + node.got() + ")");
        return null;
      }
      return size;
    }

    void checkHeaderName(String name, ConfigNode value) {
      if (!HttpSyntax.isToken(name)) {
        value.problem("not a valid header name");
      }
    }

    /** A header value; CR and LF would let a value inject further headers. */
    String headerValue(ConfigNode node) {
      String v = node.string();
      if (!node.present()) {
        node.problem("expected a string");
        return null;
      }
      if (v != null && (v.indexOf('\r') >= 0 || v.indexOf('\n') >= 0)) {
        node.problem("must not contain line breaks");
        return null;
      }
      return v;
    }

    /** Records an address and names the earlier user of the same port, if any. */
    void bind(String host, int port, ConfigNode at) {
      if (port == 0) {
        return; // ephemeral: never conflicts
      }
      for (Bind b : binds) {
        boolean overlap = b.host().equals(host) || isWildcard(b.host()) || isWildcard(host);
        if (b.port() == port && overlap) {
          at.problem("port " + port + " is already used by " + b.path());
          return;
        }
      }
      binds.add(new Bind(host, port, at.path().isEmpty() ? "admin" : at.path()));
    }

    static boolean isWildcard(String host) {
      return host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
    }

    /**
     * Whether the admin host only accepts local connections. Decided from the text alone, without
     * DNS: a hostname other than {@code localhost} is treated as reachable from outside.
     */
    static boolean isLoopback(String host) {
      String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
      if (h.equalsIgnoreCase("localhost")) {
        return true;
      }
      if (h.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
        return h.startsWith("127.");
      }
      return h.equals("::1") || h.equals("0:0:0:0:0:0:0:1");
    }

    static <T> T or(T value, T fallback) {
      return value != null ? value : fallback;
    }

    static <T> List<T> orEmpty(List<T> list) {
      return list != null ? list : List.of();
    }
  }
}
