package io.sluice.testing;

import io.sluice.plugin.Decision;
import io.sluice.plugin.ExchangeSummary;
import io.sluice.plugin.Phase;
import io.sluice.plugin.Plugin;
import io.sluice.plugin.PluginServices;
import io.sluice.plugin.RequestContext;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Plugin {@code test-header-probe} (tests only, listed in this module's test
 * {@code META-INF/services}): in each hook it reads the request's {@code X-Probe} header and
 * {@code probe} cookie and records {@code hook:header:cookie} ({@code null} for a missing one), so
 * a test can check what {@code RequestContext} shows a plugin at each stage of an exchange.
 */
public final class HeaderProbePlugin extends NoSettingsPlugin {
  public static final String NAME = "test-header-probe";
  private static final BlockingQueue<String> SEEN = new LinkedBlockingQueue<>();

  /** The next hook's record (waits up to {@code timeout}). */
  public static String next(Duration timeout) throws InterruptedException {
    String s = SEEN.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (s == null) {
      throw new AssertionError("no plugin hook ran within " + timeout);
    }
    return s;
  }

  /** Forgets what earlier tests left. */
  public static void clear() {
    SEEN.clear();
  }

  public HeaderProbePlugin() {
    super(NAME, Phase.ACCESS);
  }

  @Override
  public Plugin create(Object settings, PluginServices services) {
    return new Plugin() {
      @Override
      public CompletionStage<Decision> onRequest(RequestContext request) {
        record("request", request);
        return Decision.proceed();
      }

      @Override
      public void onResponseHeaders(RequestContext request, int status, ResponseHeaders headers) {
        record("response-headers", request);
      }

      @Override
      public void onComplete(RequestContext request, ExchangeSummary summary) {
        record("complete", request);
      }
    };
  }

  private static void record(String hook, RequestContext request) {
    SEEN.add(hook + ":" + request.header("X-Probe") + ":" + request.cookie("probe"));
  }
}
