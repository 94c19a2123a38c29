package io.sluice.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.sluice.config.HealthCheckConfig;
import io.sluice.config.Provider;
import io.sluice.config.Secret;
import io.sluice.config.UpstreamConfig;
import io.sluice.config.UpstreamConfig.Balancer;
import io.sluice.config.UpstreamTlsConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProviderRequestsTest {
  private static UpstreamConfig upstream(Provider provider, String key, String apiVersion) {
    return new UpstreamConfig("u", List.of(provider.baseUrl() != null ? provider.defaultEndpoint()
        : new io.sluice.config.EndpointConfig("http://h:1", "http", "h", 1, "", 1)), Balancer.ROUND_ROBIN,
        Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1), 1, 0, HealthCheckConfig.PASSIVE_ONLY,
        Duration.ofSeconds(1), Map.of(), UpstreamTlsConfig.DEFAULT, provider, key == null ? null : new Secret(key),
        apiVersion);
  }

  private static HttpHeaders clientHeaders() {
    return new DefaultHttpHeaders().set("authorization", "Bearer client-key").set("x-api-key", "client")
        .set("api-key", "client").set("content-type", "application/json");
  }

  @Test
  void bearerPresetsReplaceTheClientsCredentials() {
    for (Provider p : List.of(Provider.OPENAI, Provider.GEMINI, Provider.MISTRAL, Provider.GROQ, Provider.DEEPSEEK,
        Provider.OPENROUTER, Provider.VLLM, Provider.OLLAMA, Provider.OPENAI_COMPATIBLE)) {
      HttpHeaders h = clientHeaders();
      ProviderRequests.authorize(upstream(p, "sk-provider", null), h);
      assertThat(h.get("authorization")).as(p.yamlName()).isEqualTo("Bearer sk-provider");
      assertThat(h.contains("x-api-key")).as(p.yamlName()).isFalse();
      assertThat(h.contains("api-key")).as(p.yamlName()).isFalse();
      assertThat(h.get("content-type")).isEqualTo("application/json");
    }
  }

  @Test
  void anthropicGetsItsKeyHeaderAndVersion() {
    HttpHeaders h = clientHeaders();
    ProviderRequests.authorize(upstream(Provider.ANTHROPIC, "sk-ant", null), h);
    assertThat(h.get("x-api-key")).isEqualTo("sk-ant");
    assertThat(h.get("anthropic-version")).isEqualTo("2023-06-01");
    assertThat(h.contains("authorization")).isFalse();
  }

  @Test
  void anthropicKeepsTheClientsVersionAndBetaHeaders() {
    HttpHeaders h = clientHeaders().set("anthropic-version", "2024-01-01").set("anthropic-beta", "x");
    ProviderRequests.authorize(upstream(Provider.ANTHROPIC, "sk-ant", null), h);
    assertThat(h.get("anthropic-version")).isEqualTo("2024-01-01");
    assertThat(h.get("anthropic-beta")).isEqualTo("x");
  }

  @Test
  void azureGetsItsKeyHeaderAndTheDeploymentPath() {
    UpstreamConfig azure = upstream(Provider.AZURE_OPENAI, "az-key", "2024-10-21");
    HttpHeaders h = clientHeaders();
    ProviderRequests.authorize(azure, h);
    assertThat(h.get("api-key")).isEqualTo("az-key");
    assertThat(h.contains("authorization")).isFalse();
    assertThat(ProviderRequests.path(azure, "/v1/chat/completions", "gpt 41/prod"))
        .isEqualTo("/openai/deployments/gpt%2041%2Fprod/chat/completions?api-version=2024-10-21");
    assertThat(ProviderRequests.path(azure, "/v1/embeddings?x=1", "emb"))
        .isEqualTo("/openai/deployments/emb/embeddings?api-version=2024-10-21&x=1");
  }

  @Test
  void withoutAKeyTheClientsCredentialsPass() {
    HttpHeaders h = clientHeaders();
    ProviderRequests.authorize(upstream(Provider.VLLM, null, null), h);
    assertThat(h.get("authorization")).isEqualTo("Bearer client-key");
  }

  @Test
  void geminiDropsTheV1ItsBaseUrlAlreadyCarries() {
    UpstreamConfig gemini = upstream(Provider.GEMINI, "k", null);
    assertThat(gemini.endpoints().get(0).basePath()).isEqualTo("/v1beta/openai");
    assertThat(ProviderRequests.path(gemini, "/v1/chat/completions", "gemini-2.5-flash")).isEqualTo("/chat/completions");
    assertThat(ProviderRequests.path(upstream(Provider.OPENAI, "k", null), "/v1/chat/completions?a=b", "m"))
        .isEqualTo("/v1/chat/completions?a=b");
  }

  @Test
  void hostedPresetsKnowTheirBaseUrls() {
    assertThat(Provider.OPENAI.defaultEndpoint().host()).isEqualTo("api.openai.com");
    assertThat(Provider.GROQ.defaultEndpoint().basePath()).isEqualTo("/openai");
    assertThat(Provider.OPENROUTER.defaultEndpoint().basePath()).isEqualTo("/api");
    assertThat(Provider.ANTHROPIC.defaultEndpoint().port()).isEqualTo(443);
    assertThat(Provider.VLLM.baseUrl()).isNull();
    assertThat(Provider.VLLM.healthPath()).isEqualTo("/health");
  }
}
