package io.sluice.app;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.AppenderBase;
import io.sluice.exchange.Exchange;
import io.sluice.observe.AccessLog;
import java.lang.reflect.Field;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The access log's appender formats access lines on its worker thread, and everything else before queueing. */
class CountingAsyncAppenderTest {
  /** Holds the worker on the first event until released; records what it wrote and on which thread. */
  static final class GatedAppender extends AppenderBase<ILoggingEvent> {
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch wrote = new CountDownLatch(3);
    final List<String> lines = new CopyOnWriteArrayList<>();
    final List<String> threads = new CopyOnWriteArrayList<>();

    @Override
    protected void append(ILoggingEvent event) {
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      threads.add(Thread.currentThread().getName());
      lines.add(event.getFormattedMessage());
      wrote.countDown();
    }
  }

  private static String formattedYet(LoggingEvent event) throws ReflectiveOperationException {
    Field f = LoggingEvent.class.getDeclaredField("formattedMessage");
    f.setAccessible(true);
    return (String) f.get(event);
  }

  @Test
  void accessLinesFormattedOnTheWorker_otherMessagesBeforeQueueing() throws Exception {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(new LogbackMDCAdapter()); // as SLF4J's binding sets it on the real context
    Logger logger = context.getLogger("sluice.access");
    GatedAppender out = new GatedAppender();
    out.setContext(context);
    out.start();
    CountingAsyncAppender async = new CountingAsyncAppender();
    async.setContext(context);
    async.setNeverBlock(true);
    async.setDiscardingThreshold(0);
    async.addAppender(out);
    async.start();
    try {
      Exchange exchange = new Exchange("req-1", "10.0.0.7", "POST", "/v1/chat/completions", 0);
      exchange.routeName("chat");
      exchange.status(200);
      AccessLog.Line line = new AccessLog(false).line(exchange, 2_000_000L, Instant.parse("2026-12-07T00:00:00Z"));

      LoggingEvent first = new LoggingEvent("x", logger, Level.INFO, "first", null, null);
      async.doAppend(first); // the worker takes it and waits at the gate
      StringBuilder mutable = new StringBuilder("before");
      LoggingEvent plain = new LoggingEvent("x", logger, Level.INFO, "value {}", null, new Object[] {mutable});
      LoggingEvent access = new LoggingEvent("x", logger, Level.INFO, "{}", null, new Object[] {line});
      async.doAppend(plain);
      async.doAppend(access);
      mutable.setLength(0);
      mutable.append("after");

      assertThat(formattedYet(plain)).as("formatted before queueing: its argument may change").isEqualTo("value before");
      assertThat(formattedYet(access)).as("not formatted on the logging thread").isNull();
      assertThat(access.getThreadName()).isEqualTo(Thread.currentThread().getName());

      out.release.countDown();
      assertThat(out.wrote.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(out.lines.get(1)).isEqualTo("value before");
      assertThat(out.lines.get(2)).isEqualTo(line.toString()).startsWith("ts=2026-12-07T00:00:00Z request_id=req-1 route=chat");
      assertThat(out.threads).doesNotContain(Thread.currentThread().getName());
    } finally {
      out.release.countDown();
      async.stop();
    }
  }
}
