package io.sluice.plugin;

import io.sluice.usage.Usage;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One configured plugin on one route. The hooks form an onion around the upstream call:
 *
 * <pre>
 *   request ─► ACCESS plugins ─► AUTHN plugins ─► TRAFFIC plugins ─► upstream
 *                                                                      │
 *   client  ◄─ onResponseHeaders / onUsage / onComplete in reverse order  ◄──────┘
 * </pre>
 *
 * <p>Every hook has a no-op default. A request hook returns a stage: completed at once for a
 * decision made in memory, or completed later when the plugin waited for I/O (Redis, a JWKS
 * fetch) — the event loop is never blocked. Instances are shared by all requests of their route
 * and all event loops, so they must be thread-safe.
 */
public interface Plugin {
  /** Decides about a request, in phase order. */
  default CompletionStage<Decision> onRequest(RequestContext request) {
    return Decision.proceed();
  }

  /**
   * The response's headers are about to be sent (also for rejections and gateway errors);
   * called in reverse order.
   */
  default void onResponseHeaders(RequestContext request, int status, ResponseHeaders headers) {}

  /**
   * Whether {@link #onStreamUsage} is to be called: only plugins that watch streams as they run
   * cost anything per event.
   */
  default boolean watchesStreams() {
    return false;
  }

  /**
   * Whether this plugin answers CORS preflights: an {@code OPTIONS} with {@code Origin} and
   * {@code Access-Control-Request-Method} is then matched to the route of the method it announces
   * (before method matching), so that this plugin can answer it there.
   */
  default boolean answersPreflights() {
    return false;
  }

  /**
   * A streamed response carried generated content; {@code soFar} is the usage up to here
   * (output estimated until the upstream reports it). Called on the event loop for every content
   * event, so it must decide from memory, at once (start any I/O asynchronously and act on its
   * result at a later event). Return a rejection to end the stream now with {@code event: error}
   * carrying it (as {@code ai-token-ratelimit} does with {@code enforce: mid-stream}), else null.
   */
  default Decision.Reject onStreamUsage(RequestContext request, Usage soFar) {
    return null;
  }

  /**
   * Whether {@link #onUsage} is to be called: only plugins that settle an account with the final
   * usage (a reservation to reconcile) make the relay hold the response's last bytes for them.
   */
  default boolean settlesUsage() {
    return false;
  }

  /**
   * The exchange's usage is final (the upstream's usage chunk or terminal event arrived, or its
   * whole JSON body), and the response's last bytes — for a stream the terminal event
   * ({@code data: [DONE]}, {@code message_stop}, {@code response.completed}) and what follows,
   * for a JSON body its last chunk — are held until the returned stage completes. So a client
   * that sends its next request the moment it read the end is judged on what this one really
   * used, never on its reservation. Called on the event loop, in reverse order, at most once, only
   * when {@link #settlesUsage} and only for a model's answer that reached its end; the stage must
   * be bounded (a store's command timeout) and must not fail the response (a failed stage is
   * logged and the tail written). {@link #onComplete} still follows; a plugin that settled here
   * must not settle again there.
   */
  default CompletionStage<Void> onUsage(RequestContext request, Usage usage) {
    return CompletableFuture.completedFuture(null);
  }

  /** The exchange ended; called in reverse order, exactly once per request that reached the plugin. */
  default void onComplete(RequestContext request, ExchangeSummary summary) {}

  /** Response headers a plugin may add or remove. */
  interface ResponseHeaders {
    String get(String name);

    void set(String name, String value);

    void remove(String name);
  }
}
