package io.sluice.testing;

import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import io.sluice.usage.Usage;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Plugin {@code test-settle-gate} (tests only, listed in this module's test
 * {@code META-INF/services}): it settles usage like {@code ai-token-ratelimit} does with a store,
 * but its settling completes only when the test says so ({@link #nextSettle}), so a test can act
 * deterministically while the relay holds a response's end for it.
 */
public final class HeldSettlePlugin extends NoSettingsPlugin {
  public static final String NAME = "test-settle-gate";
  private static final BlockingQueue<Settle> PENDING = new LinkedBlockingQueue<>();

  /** One settling the relay waits for: the final usage it was told, and the stage to complete. */
  public record Settle(Usage usage, CompletableFuture<Void> done) {
    public void complete() {
      done.complete(null);
    }
  }

  /** The next settling asked for by a gateway (waits up to {@code timeout}). */
  public static Settle nextSettle(Duration timeout) throws InterruptedException {
    Settle s = PENDING.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (s == null) {
      throw new AssertionError("no usage settling was asked for within " + timeout);
    }
    return s;
  }

  public HeldSettlePlugin() {
    super(NAME, Phase.TRAFFIC);
  }

  @Override
  public Plugin create(Object settings, PluginServices services) {
    return new Plugin() {
      @Override
      public boolean settlesUsage() {
        return true;
      }

      @Override
      public CompletionStage<Void> onUsage(RequestContext request, Usage usage) {
        Settle s = new Settle(usage, new CompletableFuture<>());
        PENDING.add(s);
        return s.done();
      }
    };
  }
}
