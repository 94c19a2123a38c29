package io.sluice.plugin;

import io.sluice.config.RoutePlugin;
import io.sluice.usage.Usage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A route's plugins in the order they run: by {@link Phase}, then by priority (higher first), then
 * by name — never by the order of the YAML.
 *
 * <p>AUTHN: the first AUTHN plugin that proceeds authenticates the request and the other AUTHN
 * plugins are skipped ("either one suffices"). When all refuse, the most telling refusal is
 * returned: a rejected credential ({@code invalid_token}, {@code invalid_api_key}) wins over
 * {@code missing_credentials}.
 *
 * <p>Threading: a run starts on the request's event loop; when a plugin returns an incomplete
 * stage, the run continues on {@code loop} once it completes, so every plugin call and the final
 * decision happen on the event loop.
 *
 * <p>Failure: a plugin that throws, or whose stage fails, refuses the request with 500 rather
 * than letting it through.
 */
public final class PluginChain {
  private static final Logger log = LoggerFactory.getLogger(PluginChain.class);
  private static final PluginChain EMPTY = new PluginChain(List.of());
  private static final String MISSING_CREDENTIALS = "missing_credentials";

  /** One plugin in its place. */
  public record Entry(String name, Phase phase, int priority, boolean needsBody, Plugin plugin) {
    @Override
    public String toString() {
      return phase + ":" + name + "(" + priority + ")";
    }
  }

  private final List<Entry> entries;

  private PluginChain(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  public static PluginChain empty() {
    return EMPTY;
  }

  /**
   * Builds and orders a route's plugins.
   *
   * @param configured the route's plugins as its config holds them; each must come from a
   *     {@link PluginRegistry} (see {@link ConfiguredPlugin#of})
   */
  public static PluginChain of(List<? extends RoutePlugin> configured, PluginServices services) {
    List<Entry> entries = new ArrayList<>();
    for (RoutePlugin routePlugin : configured) {
      ConfiguredPlugin c = ConfiguredPlugin.of(routePlugin);
      PluginFactory<?> f = c.factory();
      entries.add(new Entry(f.name(), f.phase(), f.priority(), f.needsBody(), c.create(services)));
    }
    entries.sort(Comparator.comparing(Entry::phase)
        .thenComparing(Comparator.comparingInt(Entry::priority).reversed())
        .thenComparing(Entry::name));
    return new PluginChain(entries);
  }

  public List<Entry> entries() {
    return entries;
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  public int size() {
    return entries.size();
  }

  /** The index of the first plugin that needs the request body ({@link #size()} when none does). */
  public int firstNeedingBody() {
    for (int i = 0; i < entries.size(); i++) {
      if (entries.get(i).needsBody()) {
        return i;
      }
    }
    return entries.size();
  }

  /** Whether a plugin of the chain answers CORS preflights ({@link Plugin#answersPreflights}). */
  public boolean answersPreflights() {
    for (Entry e : entries) {
      if (e.plugin().answersPreflights()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Runs the request hooks of {@code entries[from, to)}.
   *
   * @param reached told {@code i + 1} before plugin {@code i}'s request hook is called, so the
   *     caller knows whose response hooks to run
   * @return the decision: {@link Decision.Proceed} when every plugin let the request through
   */
  public CompletionStage<Decision> runRequest(RequestContext request, int from, int to, Executor loop,
      IntConsumer reached) {
    CompletableFuture<Decision> result = new CompletableFuture<>();
    new Run(request, to, loop, result, reached).step(from);
    return result;
  }

  /** Response hooks, in reverse order, for the plugins whose request hook ran. */
  public void runResponseHeaders(RequestContext request, int reached, int status, Plugin.ResponseHeaders headers) {
    for (int i = Math.min(reached, entries.size()) - 1; i >= 0; i--) {
      try {
        entries.get(i).plugin().onResponseHeaders(request, status, headers);
      } catch (RuntimeException e) {
        log.warn("plugin {} failed in onResponseHeaders", entries.get(i).name(), e);
      }
    }
  }

  /** Whether any plugin watches streams as they run ({@link Plugin#watchesStreams}). */
  public boolean watchesStreams() {
    for (Entry e : entries) {
      if (e.plugin().watchesStreams()) {
        return true;
      }
    }
    return false;
  }

  /** Stream hooks of the plugins whose request hook ran; the first rejection ends the stream. */
  public Decision.Reject runStreamUsage(RequestContext request, int reached, Usage soFar) {
    for (int i = 0; i < Math.min(reached, entries.size()); i++) {
      Plugin plugin = entries.get(i).plugin();
      if (!plugin.watchesStreams()) {
        continue;
      }
      try {
        Decision.Reject stop = plugin.onStreamUsage(request, soFar);
        if (stop != null) {
          return stop;
        }
      } catch (RuntimeException e) {
        log.warn("plugin {} failed in onStreamUsage", entries.get(i).name(), e);
      }
    }
    return null;
  }

  /** Whether any plugin settles the final usage before the response ends ({@link Plugin#settlesUsage}). */
  public boolean settlesUsage() {
    for (Entry e : entries) {
      if (e.plugin().settlesUsage()) {
        return true;
      }
    }
    return false;
  }

  /**
   * Usage hooks ({@link Plugin#onUsage}), in reverse order, for the plugins whose request hook
   * ran; the stage completes (never exceptionally) when all of theirs did. A plugin that throws
   * or whose stage fails is logged and does not hold the others up.
   */
  public CompletionStage<Void> runUsage(RequestContext request, int reached, Usage usage) {
    CompletableFuture<?>[] stages = null;
    int n = 0;
    for (int i = Math.min(reached, entries.size()) - 1; i >= 0; i--) {
      Entry e = entries.get(i);
      if (!e.plugin().settlesUsage()) {
        continue;
      }
      CompletableFuture<Void> stage;
      try {
        stage = e.plugin().onUsage(request, usage).toCompletableFuture();
      } catch (RuntimeException ex) {
        stage = CompletableFuture.failedFuture(ex);
      }
      if (stage.isDone() && !stage.isCompletedExceptionally()) {
        continue; // settled in memory: nothing to wait for
      }
      CompletableFuture<Void> logged = stage.handle((v, err) -> {
        if (err != null) {
          log.warn("plugin {} failed in onUsage on route {}: {}", e.name(), request.route(), err.toString());
        }
        return null;
      });
      if (stages == null) {
        stages = new CompletableFuture<?>[entries.size()];
      }
      stages[n++] = logged;
    }
    if (n == 0) {
      return CompletableFuture.completedFuture(null);
    }
    return n == 1 ? stages[0].thenApply(v -> null) : CompletableFuture.allOf(Arrays.copyOf(stages, n));
  }

  /** Completion hooks, in reverse order, for the plugins whose request hook ran. */
  public void runComplete(RequestContext request, int reached, ExchangeSummary summary) {
    for (int i = Math.min(reached, entries.size()) - 1; i >= 0; i--) {
      try {
        entries.get(i).plugin().onComplete(request, summary);
      } catch (RuntimeException e) {
        log.warn("plugin {} failed in onComplete", entries.get(i).name(), e);
      }
    }
  }

  /** One run over a range of the chain. */
  private final class Run {
    private final RequestContext request;
    private final int to;
    private final Executor loop;
    private final CompletableFuture<Decision> result;
    private final IntConsumer reached;
    private boolean authenticated;
    private Decision.Reject authnRefusal;

    Run(RequestContext request, int to, Executor loop, CompletableFuture<Decision> result, IntConsumer reached) {
      this.request = request;
      this.to = to;
      this.loop = loop;
      this.result = result;
      this.reached = reached;
      this.authenticated = request.consumer() != null;
    }

    void step(int i) {
      while (i < to) {
        Entry e = entries.get(i);
        if (e.phase() != Phase.AUTHN && authnRefusal != null && !authenticated) {
          result.complete(authnRefusal);
          return;
        }
        if (e.phase() == Phase.AUTHN && authenticated) {
          i++;
          continue;
        }
        CompletableFuture<Decision> stage;
        reached.accept(i + 1);
        try {
          stage = e.plugin().onRequest(request).toCompletableFuture();
        } catch (RuntimeException ex) {
          stage = CompletableFuture.failedFuture(ex);
        }
        if (!stage.isDone()) {
          int next = i + 1;
          stage.whenCompleteAsync((d, err) -> {
            if (handle(e, d, err)) {
              step(next);
            }
          }, loop);
          return;
        }
        Decision d;
        Throwable err = null;
        try {
          d = stage.join();
        } catch (RuntimeException ex) {
          d = null;
          err = ex;
        }
        if (!handle(e, d, err)) {
          return;
        }
        i++;
      }
      if (authnRefusal != null && !authenticated) {
        result.complete(authnRefusal);
      } else {
        result.complete(Decision.PROCEED);
      }
    }

    /** @return true to go on with the next plugin */
    private boolean handle(Entry e, Decision d, Throwable err) {
      if (err != null || d == null) {
        log.error("plugin {} failed on route {}", e.name(), request.route(), err);
        result.complete(new Decision.Reject(500, "server_error", "plugin_failed",
            "plugin " + e.name() + " failed", Map.of()));
        return false;
      }
      if (e.phase() == Phase.AUTHN) {
        if (d instanceof Decision.Proceed) {
          authenticated = true;
          return true;
        }
        if (d instanceof Decision.Reject r) {
          if (authnRefusal == null
              || (MISSING_CREDENTIALS.equals(authnRefusal.code()) && !MISSING_CREDENTIALS.equals(r.code()))) {
            authnRefusal = r;
          }
          return true;
        }
      }
      if (d instanceof Decision.Proceed) {
        return true;
      }
      result.complete(d);
      return false;
    }
  }
}
