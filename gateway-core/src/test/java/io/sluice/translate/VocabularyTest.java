package io.sluice.translate;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every row of the stop-reason and error-type tables in {@code gateway-core/docs/translation.md}. */
class VocabularyTest {

  @ParameterizedTest
  @CsvSource({
    "end_turn, stop", "stop_sequence, stop", "pause_turn, stop",
    "max_tokens, length", "model_context_window_exceeded, length",
    "tool_use, tool_calls", "refusal, content_filter"})
  void anthropicStopReasonsBecomeFinishReasons(String stopReason, String finishReason) {
    assertThat(Vocabulary.finishReason(stopReason)).isEqualTo(finishReason);
  }

  @ParameterizedTest
  @CsvSource({
    "stop, end_turn", "length, max_tokens", "tool_calls, tool_use", "function_call, tool_use",
    "content_filter, refusal"})
  void finishReasonsBecomeAnthropicStopReasons(String finishReason, String stopReason) {
    assertThat(Vocabulary.stopReason(finishReason)).isEqualTo(stopReason);
  }

  @ParameterizedTest
  @CsvSource({
    "invalid_request_error, invalid_request_error", "request_too_large, invalid_request_error",
    "authentication_error, authentication_error", "permission_error, permission_error",
    "not_found_error, not_found_error", "rate_limit_error, rate_limit_error",
    "api_error, server_error", "overloaded_error, server_error", "timeout_error, server_error"})
  void anthropicErrorTypesBecomeOpenAiTypes(String anthropic, String openAi) {
    assertThat(Vocabulary.openAiErrorType(anthropic)).isEqualTo(openAi);
  }

  @ParameterizedTest
  @CsvSource(nullValues = "-", value = {
    "invalid_request_error, -, 401, authentication_error",
    "-, -, 403, permission_error",
    "-, -, 404, not_found_error",
    "-, -, 413, request_too_large",
    "requests, rate_limit_exceeded, 429, rate_limit_error",
    "server_error, -, 503, overloaded_error",
    "-, -, 504, timeout_error",
    "invalid_request_error, -, 400, invalid_request_error",
    "requests, rate_limit_exceeded, 0, rate_limit_error",
    "-, context_length_exceeded, 400, invalid_request_error",
    "server_error, -, 0, api_error",
    "-, -, 422, invalid_request_error",
    "-, -, 500, api_error"})
  void openAiErrorsBecomeAnthropicTypes(String type, String code, int status, String anthropic) {
    assertThat(Vocabulary.anthropicErrorType(type, code, status)).isEqualTo(anthropic);
  }
}
