package io.sluice.config;

import io.sluice.config.RouteConfig.Api;
import java.net.URI;

/**
 * What an upstream is ({@code upstreams[].provider}): a preset that knows the provider's base URL
 * (hosted ones), where its API key goes, the path its API takes, the health check that suits it,
 * and which API style it speaks.
 *
 * <p>Paths: clients call the gateway with OpenAI-style paths ({@code /v1/chat/completions}); a
 * preset whose base URL already carries the API's version ({@link #stripsV1}: Gemini's
 * {@code /v1beta/openai}) takes the path without its {@code /v1}; Azure puts the deployment (the
 * target's model) into the path and the API version into the query.
 */
public enum Provider {
  OPENAI("openai", "https://api.openai.com", Auth.BEARER, null, false),
  ANTHROPIC("anthropic", "https://api.anthropic.com", Auth.ANTHROPIC, null, false),
  AZURE_OPENAI("azure-openai", null, Auth.AZURE, null, false),
  GEMINI("gemini", "https://generativelanguage.googleapis.com/v1beta/openai", Auth.BEARER, null, true),
  MISTRAL("mistral", "https://api.mistral.ai", Auth.BEARER, null, false),
  GROQ("groq", "https://api.groq.com/openai", Auth.BEARER, null, false),
  DEEPSEEK("deepseek", "https://api.deepseek.com", Auth.BEARER, null, false),
  OPENROUTER("openrouter", "https://openrouter.ai/api", Auth.BEARER, null, false),
  VLLM("vllm", null, Auth.BEARER, "/health", false),
  OLLAMA("ollama", null, Auth.BEARER, "/", false),
  OPENAI_COMPATIBLE("openai-compatible", null, Auth.BEARER, null, false);

  /** The Anthropic API version the preset sends ({@code anthropic-version}). */
  public static final String ANTHROPIC_VERSION = "2023-06-01";
  /** Azure OpenAI's {@code api-version} when the upstream sets none: the current GA version. */
  public static final String AZURE_DEFAULT_API_VERSION = "2024-10-21";

  /** Where the API key goes. */
  public enum Auth {
    /** {@code Authorization: Bearer <key>}. */
    BEARER,
    /** {@code x-api-key: <key>} and {@code anthropic-version}. */
    ANTHROPIC,
    /** {@code api-key: <key>}. */
    AZURE
  }

  private final String yamlName;
  private final String baseUrl;
  private final Auth auth;
  private final String healthPath;
  private final boolean stripsV1;

  Provider(String yamlName, String baseUrl, Auth auth, String healthPath, boolean stripsV1) {
    this.yamlName = yamlName;
    this.baseUrl = baseUrl;
    this.auth = auth;
    this.healthPath = healthPath;
    this.stripsV1 = stripsV1;
  }

  public String yamlName() {
    return yamlName;
  }

  /** The hosted API's base URL, or null when the upstream must name its endpoints. */
  public String baseUrl() {
    return baseUrl;
  }

  /** The hosted API's one endpoint (only when {@link #baseUrl} is set). */
  public EndpointConfig defaultEndpoint() {
    URI uri = URI.create(baseUrl);
    return new EndpointConfig(baseUrl, "https", uri.getHost(), 443, uri.getRawPath() == null ? "" : uri.getRawPath(), 1);
  }

  public Auth auth() {
    return auth;
  }

  /** The active health probe's path when the upstream configures none, or null (hosted APIs: passive only). */
  public String healthPath() {
    return healthPath;
  }

  /** Whether the base URL carries the API version, so the client's {@code /v1} is dropped. */
  public boolean stripsV1() {
    return stripsV1;
  }

  /** The API style the provider speaks: Anthropic Messages, or OpenAI's (Chat Completions, Responses). */
  public Api api() {
    return this == ANTHROPIC ? Api.ANTHROPIC_MESSAGES : Api.OPENAI_CHAT;
  }

  /**
   * Whether a route speaking {@code routeApi} can be served by this provider without translating:
   * Anthropic speaks Anthropic Messages; the OpenAI-style presets speak OpenAI's APIs;
   * {@code openai-compatible} (no preset: any server at all) is taken to speak whatever its route
   * speaks, as before presets existed; passthrough routes are served by anyone.
   */
  public boolean speaks(Api routeApi) {
    if (this == OPENAI_COMPATIBLE || routeApi == null || routeApi == Api.PASSTHROUGH || routeApi == Api.MODELS) {
      return true;
    }
    return (routeApi == Api.ANTHROPIC_MESSAGES) == (this == ANTHROPIC);
  }

  /**
   * Whether a route speaking {@code routeApi} can be served by this provider: natively
   * ({@link #speaks}), or translated between OpenAI Chat Completions and Anthropic Messages (an
   * {@code openai-chat} route by {@code anthropic}; an {@code anthropic-messages} route by an
   * OpenAI-style preset). Responses API routes are served by OpenAI-style presets only.
   */
  public boolean serves(Api routeApi) {
    return speaks(routeApi) || routeApi == Api.OPENAI_CHAT || routeApi == Api.ANTHROPIC_MESSAGES;
  }
}
