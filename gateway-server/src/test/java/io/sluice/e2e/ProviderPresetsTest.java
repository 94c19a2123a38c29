package io.sluice.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.testing.FakeUpstream;
import io.sluice.testing.GatewayExtension;
import io.sluice.testing.RawHttp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Provider presets and model aliases over real sockets: the key where the provider wants it (and
 * the client's credentials not forwarded), the provider's paths, the alias's model in the body,
 * {@code GET /v1/models} from the aliases, unknown models refused, keys never shown.
 */
class ProviderPresetsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ANSWER = "{\"id\":\"x\",\"object\":\"chat.completion\",\"model\":\"served\",\"choices\":[],"
      + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}";

  @RegisterExtension
  final GatewayExtension<FakeUpstream> gateway = GatewayExtension.withUpstream("""
      upstreams:
        - { name: openai, provider: openai, api-key: "sk-openai-secret", endpoints: [ { url: "${upstream}" } ] }
        - { name: claude, provider: anthropic, api-key: "sk-ant-secret", endpoints: [ { url: "${upstream}" } ] }
        - { name: azure, provider: azure-openai, api-key: "az-secret", endpoints: [ { url: "${upstream}" } ] }
        - { name: gemini, provider: gemini, api-key: "g-secret", endpoints: [ { url: "${upstream}/v1beta/openai" } ] }
      models:
        - { name: smart, targets: [ { upstream: openai, model: gpt-4.1 } ] }
        - { name: deployed, targets: [ { upstream: azure, model: prod-deployment } ] }
        - { name: flash, targets: [ { upstream: gemini, model: gemini-2.5-flash } ] }
      routes:
        - name: chat
          match: { path: /v1/chat/completions }
          api: openai-chat
          models: [smart, deployed, flash]
        - name: messages
          match: { path: /v1/messages }
          api: anthropic-messages
          upstream: claude
        - name: models
          match: { path: /v1/models, methods: [GET] }
          api: models
      """);

  private FakeUpstream.Call chat(RawHttp client, String model) throws Exception {
    client.post("/v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        "Authorization: Bearer the-clients-own-key");
    return gateway.upstream().next();
  }

  @Test
  void openAiGetsItsBearerKeyAndTheTargetModel() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      FakeUpstream.Call call = chat(client, "smart");
      assertThat(call.uri).isEqualTo("/v1/chat/completions");
      assertThat(call.headers.get("authorization")).isEqualTo("Bearer sk-openai-secret");
      assertThat(call.body).isEqualTo("{\"model\":\"gpt-4.1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
      call.respond(200, "application/json", ANSWER);
      RawHttp.Head head = client.readHead();
      assertThat(head.header("x-sluice-upstream")).isEqualTo("openai");
      assertThat(head.header("x-sluice-model")).isEqualTo("gpt-4.1");
      assertThat(client.readToEnd()).isEqualTo(ANSWER);
    }
  }

  @Test
  void azureGetsTheDeploymentPathApiVersionAndItsKeyHeader() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      FakeUpstream.Call call = chat(client, "deployed");
      assertThat(call.uri).isEqualTo("/openai/deployments/prod-deployment/chat/completions?api-version=2024-10-21");
      assertThat(call.headers.get("api-key")).isEqualTo("az-secret");
      assertThat(call.headers.contains("authorization")).isFalse();
      call.respond(200, "application/json", ANSWER);
      assertThat(client.readHead().status()).isEqualTo(200);
    }
  }

  @Test
  void geminiTakesThePathWithoutV1UnderItsBaseUrl() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      FakeUpstream.Call call = chat(client, "flash");
      assertThat(call.uri).isEqualTo("/v1beta/openai/chat/completions");
      assertThat(call.headers.get("authorization")).isEqualTo("Bearer g-secret");
      call.respond(200, "application/json", ANSWER);
      assertThat(client.readHead().status()).isEqualTo(200);
    }
  }

  @Test
  void anthropicGetsXApiKeyAndVersionNotTheClientsBearer() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/messages", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":8,\"messages\":[]}",
          "Authorization: Bearer the-clients-own-key");
      FakeUpstream.Call call = gateway.upstream().next();
      assertThat(call.headers.get("x-api-key")).isEqualTo("sk-ant-secret");
      assertThat(call.headers.get("anthropic-version")).isEqualTo("2023-06-01");
      assertThat(call.headers.contains("authorization")).isFalse();
      call.respond(200, "application/json", "{\"type\":\"message\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}");
      RawHttp.Head head = client.readHead();
      assertThat(head.header("x-sluice-upstream")).isEqualTo("claude");
      assertThat(head.header("x-sluice-model")).isEqualTo("claude-sonnet-4-5");
    }
  }

  @Test
  void modelsAreListedFromTheAliasesWithoutAnUpstream() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.send("GET /v1/models HTTP/1.1\r\nHost: t\r\n\r\n");
      assertThat(client.readHead().status()).isEqualTo(200);
      JsonNode list = JSON.readTree(client.readToEnd());
      assertThat(list.get("object").asText()).isEqualTo("list");
      assertThat(list.get("data").findValuesAsText("id")).containsExactly("smart", "deployed", "flash");
      assertThat(list.get("data").get(0).get("object").asText()).isEqualTo("model");
    }
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void aModelTheRouteDoesNotServeIs404ModelNotFound() throws Exception {
    try (RawHttp client = RawHttp.connect(gateway.port())) {
      client.post("/v1/chat/completions", "{\"model\":\"gpt-5-nope\",\"messages\":[]}");
      assertThat(client.readHead().status()).isEqualTo(404);
      JsonNode error = JSON.readTree(client.readToEnd()).get("error");
      assertThat(error.get("code").asText()).isEqualTo("model_not_found");
      assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
      assertThat(error.get("message").asText()).contains("gpt-5-nope").contains("smart");
    }
    assertThat(gateway.upstream().poll()).isNull();
  }

  @Test
  void apiKeysAreRedactedInTheAdminConfig() throws Exception {
    String config = gateway.admin("/admin/config").body();
    assertThat(config).doesNotContain("secret").contains("<redacted>");
  }
}
