package io.sluice.app;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.observe.AccessLog;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Logback's {@link AsyncAppender}, configured (in logback.xml) never to block an event loop and
 * never to discard by level, that counts the lines it had to drop because its queue was full:
 * {@code sluice_access_log_dropped_total}. Logback itself drops them silently.
 *
 * <p>Drop policy: a full queue (8,192 lines) drops the line being logged — the newest — and counts
 * it; the event loop never waits. Formatting: an {@link AccessLog.Line} is an immutable snapshot,
 * so it is formatted on this appender's worker thread when written, not on the event loop that
 * logged it (Logback formats every message before queueing it, for arguments that could change).
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

  @Override
  protected void preprocess(ILoggingEvent event) {
    Object[] args = event.getArgumentArray();
    if (args != null && args.length == 1 && args[0] instanceof AccessLog.Line) {
      // What Logback's prepareForDeferredProcessing keeps, minus the message: it formats itself later.
      event.getThreadName();
      event.getMDCPropertyMap();
      return;
    }
    super.preprocess(event);
  }

  /** Publishes the drop count. */
  static void register(MeterRegistry registry) {
    FunctionCounter.builder("sluice.access.log.dropped", DROPPED, AtomicLong::get)
        .description("Access-log lines dropped because the asynchronous queue was full")
        .register(registry);
  }
}
