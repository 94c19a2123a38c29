package io.sluice.plugin;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** What a plugin decides about a request: go on, or answer it now. */
public sealed interface Decision {
  /** Go on with the next plugin (and finally the upstream). */
  record Proceed() implements Decision {}

  /**
   * Answer now with an OpenAI-style error ({@code {"error": {message, type, code}}}); the
   * upstream is never contacted.
   *
   * @param headers extra response headers (e.g. {@code WWW-Authenticate}, {@code Retry-After})
   */
  record Reject(int status, String type, String code, String message, Map<String, String> headers)
      implements Decision {
    public Reject {
      headers = Map.copyOf(headers);
    }
  }

  /**
   * Answer now with a complete response of the plugin's own (a CORS preflight answer), not an
   * error.
   */
  record Respond(int status, Map<String, String> headers) implements Decision {
    public Respond {
      headers = Map.copyOf(headers);
    }
  }

  Proceed PROCEED = new Proceed();
  CompletionStage<Decision> PROCEED_NOW = CompletableFuture.completedFuture(PROCEED);

  static CompletionStage<Decision> proceed() {
    return PROCEED_NOW;
  }

  static CompletionStage<Decision> reject(int status, String type, String code, String message) {
    return CompletableFuture.completedFuture(new Reject(status, type, code, message, Map.of()));
  }

  static CompletionStage<Decision> reject(int status, String type, String code, String message,
      Map<String, String> headers) {
    return CompletableFuture.completedFuture(new Reject(status, type, code, message, headers));
  }
}
