package io.sluice.telemetry;

import io.sluice.config.Provider;
import io.sluice.config.RouteConfig.Api;

/**
 * The GenAI semantic conventions' names for an exchange: its operation and its provider, in one
 * place so that metrics and spans agree.
 */
public final class GenAiNames {
  private GenAiNames() {}

  /** The GenAI facts of a request on a route of this {@code api}; null for passthrough (not a model call). */
  public static GenAiRequest request(Api api, String requestModel) {
    if (api == Api.PASSTHROUGH) {
      return null;
    }
    return new GenAiRequest(operation(api), provider(api), requestModel);
  }

  /**
   * {@code gen_ai.operation.name}: every model API Sluice understands generates a chat answer
   * (the conventions file OpenAI's Responses API and Anthropic's Messages under {@code chat} too).
   */
  static String operation(Api api) {
    return "chat";
  }

  /**
   * The same request as served by an upstream of this {@code provider} preset: the provider name
   * becomes the preset's (the conventions' well-known values where there is one), except for
   * {@code openai-compatible}, which says nothing about who runs the model — it keeps the name
   * taken from the API.
   */
  public static GenAiRequest served(GenAiRequest request, Provider provider) {
    if (request == null || provider == Provider.OPENAI_COMPATIBLE) {
      return request;
    }
    String name = switch (provider) {
      case AZURE_OPENAI -> "azure.ai.openai";
      case GEMINI -> "gcp.gemini";
      case MISTRAL -> "mistral_ai";
      default -> provider.yamlName();
    };
    return new GenAiRequest(request.operation(), name, request.requestModel());
  }

  /**
   * {@code gen_ai.provider.name} before an upstream is chosen, from the API the route speaks: the
   * conventions' {@code openai} for OpenAI's APIs (also what an OpenAI-compatible server speaks),
   * {@code anthropic} for Anthropic Messages; {@link #served} names the preset once known.
   */
  static String provider(Api api) {
    return api == Api.ANTHROPIC_MESSAGES ? "anthropic" : "openai";
  }
}
