package io.sluice.app;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Logback's {@link AsyncAppender}, configured (in logback.xml) never to block an event loop and
 * never to discard by level, that counts the lines it had to drop because its queue was full:
 * {@code sluice_access_log_dropped_total}. Logback itself drops them silently.
 */
public final class CountingAsyncAppender extends AsyncAppender {
  private static final AtomicLong DROPPED = new AtomicLong();

  @Override
  protected void append(ILoggingEvent event) {
    if (isStarted() && getRemainingCapacity() == 0) {
      DROPPED.incrementAndGet(); // the queue is full: with neverBlock the event is dropped
    }
    super.append(event);
  }

  /** Publishes the drop count. */
  static void register(MeterRegistry registry) {
    FunctionCounter.builder("sluice.access.log.dropped", DROPPED, AtomicLong::get)
        .description("Access-log lines dropped because the asynchronous queue was full")
        .register(registry);
  }
}
