package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code upstreams[].provider}, {@code models[]} and the routes that serve aliases. */
class ModelsConfigTest {
  private final ConfigLoader loader = new ConfigLoader(Map.of("KEY", "sk-from-env")::get, PluginCatalog.NONE);

  private static final String UPSTREAMS = """
      listeners: [ { name: public, port: 8080 } ]
      upstreams:
        - { name: openai, provider: openai, api-key: "${KEY}" }
        - { name: claude, provider: anthropic, api-key: inline-key }
        - { name: azure, provider: azure-openai, endpoints: [ { url: "https://r.openai.azure.com" } ], api-key: k }
        - { name: local, provider: vllm, endpoints: [ { url: "http://127.0.0.1:8000" } ] }
        - { name: any, endpoints: [ { url: "http://127.0.0.1:9000" } ] }
      """;

  private List<String> errors(String yaml) {
    return catchThrowableOfType(ConfigException.class, () -> loader.parse(yaml, null)).errors();
  }

  @Test
  void presetsFillInBaseUrlsKeysVersionsAndProbes() throws Exception {
    GatewayConfig c = loader.parse(UPSTREAMS, null);
    assertThat(c.upstream("openai").endpoints()).containsExactly(Provider.OPENAI.defaultEndpoint());
    assertThat(c.upstream("openai").apiKey().reveal()).isEqualTo("sk-from-env");
    assertThat(c.upstream("openai").healthCheck().activeProbes()).isFalse();
    assertThat(c.upstream("claude").provider()).isEqualTo(Provider.ANTHROPIC);
    assertThat(c.upstream("azure").apiVersion()).isEqualTo("2024-10-21");
    assertThat(c.upstream("local").healthCheck().path()).isEqualTo("/health");
    assertThat(c.upstream("any").provider()).isEqualTo(Provider.OPENAI_COMPATIBLE);
    assertThat(c.upstream("any").apiKey()).isNull();
    assertThat(c.redacted().toString()).doesNotContain("inline-key").doesNotContain("sk-from-env");
  }

  @Test
  void aliasesAndTheirRoutes() throws Exception {
    GatewayConfig c = loader.parse(UPSTREAMS + """
        models:
          - name: smart
            targets:
              - { upstream: openai, model: gpt-4.1, priority: 1, weight: 3 }
              - { upstream: azure, model: dep, priority: 1 }
              - { upstream: local, model: qwen }
        routes:
          - name: chat
            match: { path: /v1/chat/completions }
            api: openai-chat
            models: [smart]
            failover: { max-attempts: 2, first-event-timeout: 5s, cooldown: 0s }
          - name: models
            match: { path: /v1/models }
            api: models
        """, null);
    assertThat(c.models()).singleElement().satisfies(m -> assertThat(m.targets()).containsExactly(
        new ModelConfig.Target("openai", "gpt-4.1", 1, 3), new ModelConfig.Target("azure", "dep", 1, 1),
        new ModelConfig.Target("local", "qwen", 1, 1)));
    RouteConfig chat = c.routes().get(0);
    assertThat(chat.upstream()).isNull();
    assertThat(chat.models()).containsExactly("smart");
    assertThat(chat.failover()).isEqualTo(new FailoverConfig(2, Duration.ofSeconds(5), Duration.ZERO));
    assertThat(c.routes().get(1).api()).isEqualTo(RouteConfig.Api.MODELS);
    assertThat(c.routes().get(1).failover()).isEqualTo(FailoverConfig.DEFAULTS);
  }

  @Test
  void mistakesAreNamedWithTheirPaths() {
    assertThat(errors(UPSTREAMS.replace("- { name: any,", "- { name: any, api-version: v1,") + """
        models:
          - { name: smart, targets: [ { upstream: nope, model: m } ] }
          - { name: empty, targets: [] }
          - { name: claude-only, targets: [ { upstream: claude, model: claude-sonnet-4-5 } ] }
        routes:
          - { name: a, match: { path: /a }, models: [smart, missing] }
          - { name: b, match: { path: /b } }
          - { name: c, match: { path: /c }, api: openai-responses, upstream: claude }
          - { name: d, match: { path: /d }, api: openai-responses, models: [claude-only] }
          - { name: e, match: { path: /e }, api: anthropic-messages, upstream: openai }
          - { name: f, match: { path: /f }, api: models, failover: { max-attempts: 0 } }
        """)).containsExactlyInAnyOrder(
        "upstreams[4].api-version: only for provider azure-openai",
        "models[0].targets[0].upstream: 'nope' is not defined (expected one of: openai, claude, azure, local, any)",
        "models[1].targets: must not be empty",
        "routes[0].models[1]: 'missing' is not defined (expected one of: smart, empty, claude-only)",
        "routes[1].upstream: required",
        "routes[2].upstream: upstream 'claude' (provider anthropic) does not speak openai-responses, nor can it be translated",
        "routes[3].models: model 'claude-only' has a target of provider anthropic, which does not speak openai-responses, nor can it be translated",
        "routes[5].failover.max-attempts: expected an integer 1..10 (got 0)");
  }

  @Test
  void selfHostedPresetsNeedEndpoints() {
    assertThat(errors("""
        listeners: [ { name: public, port: 8080 } ]
        upstreams: [ { name: local, provider: ollama } ]
        """)).containsExactly("upstreams[0].endpoints: required");
  }
}
