package io.sluice.telemetry;

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
   * {@code gen_ai.provider.name}, from the API the route speaks: the conventions' {@code openai}
   * for OpenAI's APIs (also what an OpenAI-compatible server speaks), {@code anthropic} for
   * Anthropic Messages. Once upstreams name their {@code provider} preset, that is the better
   * source, and this is the one place to switch over.
   */
  static String provider(Api api) {
    return api == Api.ANTHROPIC_MESSAGES ? "anthropic" : "openai";
  }
}
