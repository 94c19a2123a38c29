package io.sluice.plugins.quota;

import io.sluice.plugin.Decision;
import io.sluice.plugin.Plugin;
import io.sluice.testing.FakeRequest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Helpers for the tests of the quota plugins: running a request through the hooks and reading what the client got. */
public final class PluginCalls {
  private PluginCalls() {}

  /** What the client got: the decision and the response headers the plugin set. */
  public record Answer(Decision decision, Map<String, String> headers) {
    public boolean admitted() {
      return decision instanceof Decision.Proceed;
    }

    public int status() {
      return decision instanceof Decision.Reject r ? r.status() : 200;
    }

    /** A header of the refusal, else one the response-headers hook set. */
    public String header(String name) {
      if (decision instanceof Decision.Reject r && r.headers().containsKey(name)) {
        return r.headers().get(name);
      }
      return headers.get(name);
    }
  }

  /** Runs the request hook (waiting for Redis when needed) and the response-headers hook. */
  public static Answer send(Plugin plugin, FakeRequest request) throws Exception {
    Decision d = plugin.onRequest(request).toCompletableFuture().get(5, TimeUnit.SECONDS);
    Map<String, String> headers = new LinkedHashMap<>();
    plugin.onResponseHeaders(request, d instanceof Decision.Reject r ? r.status() : 200, new Plugin.ResponseHeaders() {
      @Override
      public String get(String name) {
        return headers.get(name);
      }

      @Override
      public void set(String name, String value) {
        headers.put(name, value);
      }

      @Override
      public void remove(String name) {
        headers.remove(name);
      }
    });
    return new Answer(d, headers);
  }

  /** A chat request for {@code model} whose estimate is a one-token prompt ("hi!") plus {@code maxTokens}. */
  public static FakeRequest chat(String model, long maxTokens) {
    return new FakeRequest().body("{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi!\"}]}");
  }
}
