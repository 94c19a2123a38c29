package io.sluice.app;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.internal.PlatformDependent;
import io.sluice.observe.AccessLog;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The access log's appender: an event loop hands its line over and goes on — it never waits, and
 * never wakes another thread; a writer thread takes what has gathered every
 * {@link #PERIOD_MILLIS} ms and writes it to stdout in as few system calls as it can.
 *
 * <p>Why not Logback's {@code AsyncAppender} (which this replaces): its blocking queue signals its
 * worker on every line, and its console appender writes and flushes each line on its own. Under
 * load that was a thread wake-up, a context switch and a {@code write} per request — on a one-core
 * container, on the event loop's own core (~2.7 futex calls per request in a burst's system-call
 * count). Here the queue is a lock-free multi-producer queue (Netty's), the writer polls on a
 * timer, and lines are gathered into writes of at most {@link #WRITE_MAX} bytes.
 *
 * <p>Line integrity: a write of at most {@code PIPE_BUF} (4,096) bytes to a pipe is atomic, so
 * the gathered lines never interleave with the root logger's lines (or another process's) when
 * stdout is a pipe, as a container runtime's is. A single line longer than that is written alone,
 * as before.
 *
 * <p>Drop policy (unchanged): a full queue ({@link #QUEUE} lines) drops the line being logged —
 * the newest — and counts it in {@code sluice_access_log_dropped_total}; the event loop never
 * waits. Formatting: an {@link AccessLog.Line} is an immutable snapshot, formatted by the encoder
 * on the writer thread; any other message is formatted before it is queued (its arguments could
 * change). Stopping the appender (and a JVM shutdown) writes what is still queued.
 *
 * <p>Rendering: with the gateway's own encoder (a {@link TextLineLayout} in Logback's
 * {@link LayoutWrappingEncoder}, an ASCII-compatible charset) the writer renders each line into one
 * builder it keeps and copies its characters straight into the gathered bytes — no builder, string
 * and byte array per line (~2 KB per request, the writer's whole garbage). A line with a non-ASCII
 * character, one of {@link #WRITE_MAX} bytes or more, and any other encoder go through
 * {@link Encoder#encode}, as before: the bytes are the same either way.
 *
 * <p>Latency: a line reaches stdout at most {@link #PERIOD_MILLIS} ms after its exchange ended.
 */
public final class AccessLogAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {
  /** Lines the queue holds; beyond, the newest is dropped and counted. */
  static final int QUEUE = 8192;
  /** How often the writer takes what gathered. */
  static final long PERIOD_MILLIS = 20;
  /** The largest gathered write: {@code PIPE_BUF}, the size up to which a write to a pipe is atomic. */
  static final int WRITE_MAX = 4096;
  /** The rendering builder's size: a typical access line (~450 characters) fits. */
  private static final int RENDERED_SIZE = 640;
  private static final AtomicLong DROPPED = new AtomicLong();

  private final Queue<ILoggingEvent> queue = PlatformDependent.newFixedMpscQueue(QUEUE);
  private final byte[] gathered = new byte[WRITE_MAX];
  private Encoder<ILoggingEvent> encoder;
  private TextLineLayout layout; // the encoder's, when lines are rendered straight into gathered
  // The writer's own (drain runs on one thread at a time): reused for every line, emptied first.
  private StringBuilder rendered = new StringBuilder(RENDERED_SIZE);
  private final char[] chars = new char[WRITE_MAX];
  private OutputStream out = new FileOutputStream(FileDescriptor.out);
  private boolean ownThread = true;
  private volatile boolean running;
  private Thread writer;
  private Thread shutdownHook;
  private boolean reportedWriteError;

  public void setEncoder(Encoder<ILoggingEvent> encoder) {
    this.encoder = encoder;
  }

  /** For tests: write to {@code out}, and let the test call {@link #drain} instead of a thread. */
  void writeToWithoutThread(OutputStream out) {
    this.out = out;
    this.ownThread = false;
  }

  @Override
  public void start() {
    if (encoder == null) {
      addError("no encoder for appender " + name);
      return;
    }
    layout = directLayout(encoder);
    running = true;
    if (ownThread) {
      writer = new Thread(this::writeLoop, "sluice-access-log");
      writer.setDaemon(true);
      writer.start();
      shutdownHook = new Thread(this::stop, "sluice-access-log-flush");
      Runtime.getRuntime().addShutdownHook(shutdownHook);
    }
    super.start();
  }

  @Override
  public void stop() {
    if (!isStarted()) {
      return;
    }
    super.stop();
    running = false;
    if (writer != null && writer != Thread.currentThread()) {
      LockSupport.unpark(writer);
      try {
        writer.join(TimeUnit.SECONDS.toMillis(2));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (shutdownHook != null && Thread.currentThread() != shutdownHook) {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException e) {
        // the JVM is shutting down already: the hook runs (or ran) this
      }
    }
    if (!ownThread) {
      drain();
    }
  }

  @Override
  protected void append(ILoggingEvent event) {
    Object[] args = event.getArgumentArray();
    if (args != null && args.length == 1 && args[0] instanceof AccessLog.Line) {
      // What Logback's prepareForDeferredProcessing keeps, minus the message: it formats itself later.
      event.getThreadName();
      event.getMDCPropertyMap();
    } else {
      event.prepareForDeferredProcessing();
    }
    if (!queue.offer(event)) {
      DROPPED.incrementAndGet(); // full: the newest line is dropped, the event loop goes on
    }
  }

  private void writeLoop() {
    while (running) {
      drain();
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS));
    }
    drain(); // what was queued before the stop
  }

  /**
   * The layout whose lines the writer may render itself: the encoder's {@link TextLineLayout},
   * when the encoder turns its text into bytes with a charset that writes ASCII as ASCII. Null
   * for any other encoder (every line then goes through {@link Encoder#encode}).
   */
  static TextLineLayout directLayout(Encoder<ILoggingEvent> encoder) {
    if (encoder instanceof LayoutWrappingEncoder<ILoggingEvent> wrapping
        && wrapping.getLayout() instanceof TextLineLayout text) {
      // LayoutWrappingEncoder without a charset uses the platform's default.
      Charset charset = wrapping.getCharset() != null ? wrapping.getCharset() : Charset.defaultCharset();
      if (charset.equals(StandardCharsets.UTF_8) || charset.equals(StandardCharsets.US_ASCII)
          || charset.equals(StandardCharsets.ISO_8859_1)) {
        return text;
      }
    }
    return null;
  }

  /** Writes every queued line: gathered into writes of at most {@link #WRITE_MAX} bytes, whole lines each. */
  void drain() {
    int length = 0;
    ILoggingEvent event;
    while ((event = queue.poll()) != null) {
      int ascii = layout == null ? -1 : renderAscii(event);
      if (ascii >= 0) {
        if (length + ascii > WRITE_MAX) {
          write(gathered, length);
          length = 0;
        }
        for (int i = 0; i < ascii; i++) {
          gathered[length + i] = (byte) chars[i]; // ASCII: one byte per char, as any of the charsets above
        }
        length += ascii;
        continue;
      }
      byte[] line = encoder.encode(event);
      if (length + line.length > WRITE_MAX) {
        write(gathered, length);
        length = 0;
      }
      if (line.length >= WRITE_MAX) {
        write(line, line.length);
      } else {
        System.arraycopy(line, 0, gathered, length, line.length);
        length += line.length;
      }
    }
    write(gathered, length);
  }

  /**
   * Renders {@code event}'s line into {@link #chars}; its length, or -1 when it is not all ASCII
   * or not shorter than {@link #WRITE_MAX} (the caller then encodes it the ordinary way).
   */
  private int renderAscii(ILoggingEvent event) {
    StringBuilder line = rendered;
    line.setLength(0); // nothing of the previous line is left
    layout.appendTo(event, line);
    int n = line.length();
    if (line.capacity() > 2 * WRITE_MAX) {
      rendered = new StringBuilder(RENDERED_SIZE); // one very long line does not keep its room for good
    }
    if (n >= WRITE_MAX) {
      return -1;
    }
    line.getChars(0, n, chars, 0);
    for (int i = 0; i < n; i++) {
      if (chars[i] >= 0x80) {
        return -1;
      }
    }
    return n;
  }

  private void write(byte[] bytes, int length) {
    if (length == 0) {
      return;
    }
    try {
      out.write(bytes, 0, length);
    } catch (IOException e) {
      if (!reportedWriteError) {
        reportedWriteError = true; // once: a closed stdout would otherwise report every batch
        addError("access log: writing to stdout failed", e);
      }
    }
  }

  /** Publishes the drop count. */
  static void register(MeterRegistry registry) {
    FunctionCounter.builder("sluice.access.log.dropped", DROPPED, AtomicLong::get)
        .description("Access-log lines dropped because the asynchronous queue was full")
        .register(registry);
  }

  /** Lines dropped so far (all appenders of the process). */
  static long dropped() {
    return DROPPED.get();
  }
}
