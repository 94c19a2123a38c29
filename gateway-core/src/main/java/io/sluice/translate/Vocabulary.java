package io.sluice.translate;

import java.util.Map;

/**
 * The words the two APIs use for the same thing — stop reasons and error types — as tables, one
 * home for both directions (documented in {@code gateway-core/docs/translation.md}).
 */
final class Vocabulary {
  private Vocabulary() {}

  /** Anthropic {@code stop_reason} → OpenAI {@code finish_reason}. */
  private static final Map<String, String> FINISH_REASON = Map.of(
      "end_turn", "stop",
      "stop_sequence", "stop",
      "pause_turn", "stop",
      "max_tokens", "length",
      "model_context_window_exceeded", "length",
      "tool_use", "tool_calls",
      "refusal", "content_filter");

  /** OpenAI {@code finish_reason} → Anthropic {@code stop_reason}. */
  private static final Map<String, String> STOP_REASON = Map.of(
      "stop", "end_turn",
      "length", "max_tokens",
      "tool_calls", "tool_use",
      "function_call", "tool_use",
      "content_filter", "refusal");

  /** Anthropic error type → OpenAI error type (the Anthropic type becomes the OpenAI {@code code}). */
  private static final Map<String, String> OPENAI_ERROR_TYPE = Map.of(
      "invalid_request_error", "invalid_request_error",
      "request_too_large", "invalid_request_error",
      "authentication_error", "authentication_error",
      "permission_error", "permission_error",
      "not_found_error", "not_found_error",
      "rate_limit_error", "rate_limit_error",
      "api_error", "server_error",
      "overloaded_error", "server_error",
      "timeout_error", "server_error");

  /** OpenAI error type → Anthropic error type (where the type says more than the status). */
  private static final Map<String, String> ANTHROPIC_ERROR_TYPE = Map.of(
      "invalid_request_error", "invalid_request_error",
      "authentication_error", "authentication_error",
      "permission_error", "permission_error",
      "not_found_error", "not_found_error",
      "rate_limit_error", "rate_limit_error",
      "insufficient_quota", "rate_limit_error",
      "server_error", "api_error",
      "upstream_error", "api_error");

  /** OpenAI error code → Anthropic error type (an in-stream error's type may say only "requests"). */
  private static final Map<String, String> ANTHROPIC_TYPE_BY_CODE = Map.of(
      "rate_limit_exceeded", "rate_limit_error",
      "insufficient_quota", "rate_limit_error",
      "context_length_exceeded", "invalid_request_error",
      "invalid_api_key", "authentication_error",
      "model_not_found", "not_found_error");

  static String finishReason(String stopReason) {
    return stopReason == null ? null : FINISH_REASON.getOrDefault(stopReason, "stop");
  }

  static String stopReason(String finishReason) {
    return finishReason == null ? null : STOP_REASON.getOrDefault(finishReason, "end_turn");
  }

  static String openAiErrorType(String anthropicType) {
    return anthropicType == null ? "server_error" : OPENAI_ERROR_TYPE.getOrDefault(anthropicType, "server_error");
  }

  /**
   * The Anthropic error type for an OpenAI-style error. A status that names the kind of failure
   * decides (OpenAI answers a bad key with 401 but type {@code invalid_request_error}); otherwise
   * the type, then the code, then the status class. An in-stream error has status 0.
   */
  static String anthropicErrorType(String openAiType, String code, int status) {
    String byStatus = switch (status) {
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 413 -> "request_too_large";
      case 429 -> "rate_limit_error";
      case 503, 529 -> "overloaded_error";
      case 504 -> "timeout_error";
      default -> null;
    };
    if (byStatus != null) {
      return byStatus;
    }
    String byType = openAiType == null ? null : ANTHROPIC_ERROR_TYPE.get(openAiType);
    if (byType != null) {
      return byType;
    }
    String byCode = code == null ? null : ANTHROPIC_TYPE_BY_CODE.get(code);
    if (byCode != null) {
      return byCode;
    }
    return status == 400 || status == 422 ? "invalid_request_error" : "api_error";
  }

}
