package io.sluice.config;

import static io.sluice.config.ConfigNode.or;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
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
 * <p>The larger sections are read by blocks of their own ({@link ListenerBlocks},
 * {@link UpstreamBlocks}, {@link ModelBlocks}, {@link RouteBlocks}, {@link PluginBlocks},
 * {@link PricingBlock}, {@link TelemetryBlock}), in an order that lets each check its references
 * to the ones before; this class reads the text, calls them, reads the small top-level sections
 * and builds the {@link GatewayConfig}.
 *
 * <p>Instances are immutable and thread-safe; one may serve every reload.
 */
public final class ConfigLoader {
  private static final YAMLMapper MAPPER =
      YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

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

  /**
   * One pass over one tree; holds the problems and the blocks, each created once so that what one
   * reads (upstream names, model aliases, consumers, global plugins) is what the later ones check.
   */
  private static final class Walk {
    final Problems problems = new Problems();
    final Substitutor substitutor;
    final ListenerBlocks listenerBlocks = new ListenerBlocks();
    final UpstreamBlocks upstreamBlocks = new UpstreamBlocks();
    final ModelBlocks modelBlocks = new ModelBlocks(upstreamBlocks);
    final Set<String> consumerNames = new LinkedHashSet<>();
    final PluginBlocks pluginBlocks;
    final RouteBlocks routeBlocks;

    Walk(Substitutor substitutor, PluginCatalog plugins) {
      this.substitutor = substitutor;
      this.pluginBlocks = new PluginBlocks(plugins, consumerNames);
      this.routeBlocks = new RouteBlocks(upstreamBlocks, modelBlocks, pluginBlocks);
    }

    GatewayConfig gateway(JsonNode tree) {
      MapReader top = new ConfigNode(tree, "", problems, substitutor).map();
      if (top == null) {
        return null;
      }
      List<ListenerConfig> listeners = listenerBlocks.listeners(top.get("listeners"));
      AdminConfig admin = listenerBlocks.admin(top.get("admin"));
      LimitsConfig limits = limits(top.get("limits"));
      ShutdownConfig shutdown = shutdown(top.get("shutdown"));
      Integer ioThreads = or(top.get("io-threads").integer(0, Integer.MAX_VALUE, null), 0);
      List<UpstreamConfig> upstreams = upstreamBlocks.upstreams(top.get("upstreams"));
      List<ModelConfig> models = modelBlocks.models(top.get("models"));
      List<ConsumerConfig> consumers = consumers(top.get("consumers"));
      pluginBlocks.global(top.get("plugins"));
      List<RouteConfig> routes = routeBlocks.routes(top.get("routes"));
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

    // ---------------------------------------------------------------- limits, shutdown

    LimitsConfig limits(ConfigNode node) {
      LimitsConfig d = LimitsConfig.DEFAULTS;
      MapReader m = node.map();
      if (m == null) {
        return node.present() ? null : d;
      }
      Long body = m.get("max-request-body").positiveSize(Long.MAX_VALUE);
      Long header = m.get("max-header-size").positiveSize(Integer.MAX_VALUE);
      Long uri = m.get("max-uri-length").positiveSize(Integer.MAX_VALUE);
      Duration headerTimeout = m.get("request-header-timeout").positiveDuration();
      Integer conns = m.get("max-connections").integer(1, Integer.MAX_VALUE, null);
      Integer perIp = m.get("max-connections-per-ip").integer(0, Integer.MAX_VALUE, null);
      Duration idle = m.get("idle-timeout").positiveDuration();
      Duration bodyTimeout = m.get("request-body-timeout").positiveDuration();
      Long sessionMemory = m.get("max-session-memory").positiveSize(Long.MAX_VALUE);
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

    // ---------------------------------------------------------------- consumers

    List<ConsumerConfig> consumers(ConfigNode node) {
      List<ConsumerConfig> out = new ArrayList<>();
      Map<String, String> names = new HashMap<>();
      Map<String, String> keys = new HashMap<>();
      Map<String, String> claims = new HashMap<>();
      for (MapReader m : node.mapItems()) {
        String name = m.get("name").required().unique(names, "consumer name");
        List<Secret> apiKeys = new ArrayList<>();
        for (ConfigNode keyNode : m.get("api-keys").stringItems()) {
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
  }
}
