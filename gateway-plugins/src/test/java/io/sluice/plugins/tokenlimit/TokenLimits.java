package io.sluice.plugins.tokenlimit;

import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.plugin.ConfiguredPlugin;
import io.sluice.plugin.PluginRegistry;
import io.sluice.plugin.PluginServices;
import io.sluice.plugins.quota.PluginCalls;
import io.sluice.testing.FakeRequest;
import java.util.List;

/** Helpers for the plugin's tests: config from YAML (running a request: {@link PluginCalls}). */
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

  /** A chat request whose estimate is exactly {@code maxTokens} plus a one-token prompt ("hi!"). */
  static FakeRequest chat(long maxTokens) {
    return PluginCalls.chat("m", maxTokens);
  }
}
