package io.sluice.relay;

import io.sluice.usage.Usage;
import java.util.concurrent.CompletionStage;

/**
 * Told the exchange's final usage before the response's last bytes go out (the route's plugins'
 * usage hooks: a token or budget reservation reconciled); the relay holds the tail of the
 * response until the returned stage completes ({@link EndGate}).
 */
@FunctionalInterface
public interface UsageHook {
  /** Completes (never exceptionally) once the usage is settled; bounded by the stores' timeouts. */
  CompletionStage<Void> usageFinal(Usage usage);
}
