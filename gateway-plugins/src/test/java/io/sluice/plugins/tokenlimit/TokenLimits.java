package io.sluice.plugins.tokenlimit;

import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.plugin.ConfiguredPlugin;
import io.sluice.plugin.Decision;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginRegistry;
import io.sluice.plugin.PluginServices;
import io.sluice.testing.FakeRequest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Helpers for the plugin's tests: config from YAML, running a request through the hooks. */
final class TokenLimits {
  private TokenLimits() {}

  static final String BASE = "listeners: [ { name: public, port: 8080 } ]\n"
      + "upstreams: [ { name: chat-pool, endpoints: [ { url: 'http://127.0.0.1:9000' } ] } ]\n";

  static GatewayConfig parse(String pluginYaml) throws ConfigException {
    String yaml = BASE + "routes:\n  - name: chat\n    match: { path-prefix: /v1 }\n    upstream: chat-pool\n"
        + "    plugins:\n      ai-token-ratelimit: " + pluginYaml + "\n";
    return new ConfigLoader(k -> null, PluginRegistry.of(List.of(new TokenRateLimitFactory()))).parse(yaml, null);
  }

  static TokenRateLimitPlugin plugin(String pluginYaml, PluginServices services) throws ConfigException {
    return (TokenRateLimitPlugin)
        ConfiguredPlugin.of(parse(pluginYaml).routes().get(0).plugins().get(0)).create(services);
  }

  /** What the client got: the decision and the response headers the plugin set. */
  record Answer(Decision decision, Map<String, String> headers) {
    boolean admitted() {
      return decision instanceof Decision.Proceed;
    }

    int status() {
      return decision instanceof Decision.Reject r ? r.status() : 200;
    }

    String header(String name) {
      if (decision instanceof Decision.Reject r && r.headers().containsKey(name)) {
        return r.headers().get(name);
      }
      return headers.get(name);
    }
  }

  /** Runs the request hook (waiting for Redis when needed) and the response-headers hook. */
  static Answer send(Plugin plugin, FakeRequest request) throws Exception {
    Decision d = plugin.onRequest(request).toCompletableFuture().get(5, TimeUnit.SECONDS);
    Map<String, String> headers = new LinkedHashMap<>();
    plugin.onResponseHeaders(request, d instanceof Decision.Reject r ? r.status() : 200, new Plugin.ResponseHeaders() {
      @Override
      public String get(String name) {
        return headers.get(name);
      }

      @Override
      public void set(String name, String value) {
        headers.put(name, value);
      }

      @Override
      public void remove(String name) {
        headers.remove(name);
      }
    });
    return new Answer(d, headers);
  }

  /** A chat request whose estimate is exactly {@code maxTokens} plus a one-token prompt ("hi!"). */
  static FakeRequest chat(long maxTokens) {
    return new FakeRequest().body("{\"model\":\"m\",\"max_tokens\":" + maxTokens
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi!\"}]}");
  }
}
