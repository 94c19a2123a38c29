package io.sluice.config;

import static io.sluice.config.ConfigNode.or;

import io.sluice.config.UpstreamConfig.Balancer;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The config's {@code upstreams}: provider presets, endpoints, health checks, TLS, headers and
 * API keys. The names (and providers) of the upstreams read are what the models and routes that
 * follow refer to ({@link #ref}).
 */
final class UpstreamBlocks {
  private static final String URL_FORM = "an http:// or https:// URL such as http://127.0.0.1:9000";
  private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9._-]+");

  /** Every named upstream, valid or not, in the order written, with its provider. */
  private final Map<String, Provider> providers = new LinkedHashMap<>();

  List<UpstreamConfig> upstreams(ConfigNode node) {
    List<UpstreamConfig> out = new ArrayList<>();
    Map<String, String> names = new HashMap<>();
    for (MapReader m : node.mapItems()) {
      String name = m.get("name").required().unique(names, "upstream name");
      Provider provider = or(m.get("provider").choice(Provider.values(), Provider::yamlName),
          Provider.OPENAI_COMPATIBLE);
      if (name != null) {
        providers.put(name, provider);
      }
      ConfigNode endpointsNode = m.get("endpoints");
      List<EndpointConfig> endpoints = provider.baseUrl() != null && !endpointsNode.present()
          ? List.of(provider.defaultEndpoint()) : endpoints(endpointsNode);
      Secret apiKey = apiKey(m.get("api-key"));
      String apiVersion = m.get("api-version").nonEmptyString();
      if (apiVersion != null && provider != Provider.AZURE_OPENAI) {
        m.get("api-version").problem("only for provider azure-openai");
      }
      Balancer balancer = m.get("balancer").choice(Balancer.values(), Balancer::yamlName);
      Duration connect = m.get("connect-timeout").positiveDuration();
      Duration firstByte = m.get("first-byte-timeout").positiveDuration();
      Duration streamIdle = m.get("stream-idle-timeout").positiveDuration();
      Integer maxConns = m.get("max-connections-per-endpoint").integer(1, Integer.MAX_VALUE, null);
      Integer retries = m.get("retries").integer(0, 10, null);
      HealthCheckConfig health = healthCheck(m.get("health-check"), provider.healthPath());
      Duration dns = m.get("dns-refresh").positiveDuration();
      Map<String, Secret> headers = headers(m.get("headers"));
      UpstreamTlsConfig tls = tls(m.get("tls"));
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

  /** Resolves an {@code upstream:} reference, reporting an unknown name; null when unknown. */
  String ref(ConfigNode node) {
    String name = node.nonEmptyString();
    if (name == null) {
      return null;
    }
    if (!providers.containsKey(name)) {
      node.problem(
          node.got()
              + " is not defined ("
              + (providers.isEmpty()
                  ? "no upstreams are defined"
                  : "expected one of: " + String.join(", ", providers.keySet()))
              + ")");
      return null;
    }
    return name;
  }

  /** The provider of a named upstream (OpenAI-compatible for a name not defined). */
  Provider provider(String upstream) {
    return providers.getOrDefault(upstream, Provider.OPENAI_COMPATIBLE);
  }

  private static List<EndpointConfig> endpoints(ConfigNode node) {
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
  private static EndpointConfig endpoint(ConfigNode node, int weight) {
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
  private static HealthCheckConfig healthCheck(ConfigNode node, String presetPath) {
    HealthCheckConfig d = HealthCheckConfig.PASSIVE_ONLY;
    MapReader m = node.map();
    if (m == null) {
      return node.present() ? null : presetPath == null ? d
          : new HealthCheckConfig(presetPath, d.interval(), d.timeout(), d.unhealthyAfter(), d.healthyAfter());
    }
    String path = or(m.get("path").absolutePath(), presetPath);
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

  /** {@code upstreams[].tls}; a relative {@code ca} resolves against the config file's folder. */
  private static UpstreamTlsConfig tls(ConfigNode node) {
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

  /** {@code upstreams[].api-key}: a secret like the headers; a line break would inject headers. */
  private static Secret apiKey(ConfigNode node) {
    if (!node.present()) {
      return null;
    }
    String v = HeaderBlocks.value(node);
    if (v != null && v.isEmpty()) {
      node.problem("must not be empty (remove the key for none)");
      return null;
    }
    return v == null ? null : new Secret(v);
  }

  /** {@code upstreams[].headers}: sent on every request to the upstream; secrets, like the API key. */
  private static Map<String, Secret> headers(ConfigNode node) {
    Map<String, Secret> out = new LinkedHashMap<>();
    Map<String, ConfigNode> entries = node.entries();
    if (entries == null) {
      return out;
    }
    entries.forEach(
        (name, value) -> {
          HeaderBlocks.checkName(name, value);
          String v = HeaderBlocks.value(value);
          if (v != null && v.isEmpty()) {
            value.problem("must not be empty");
          } else if (v != null) {
            out.put(name, new Secret(v));
          }
        });
    return out;
  }
}
