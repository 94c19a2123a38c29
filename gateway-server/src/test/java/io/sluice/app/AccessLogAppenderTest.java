package io.sluice.app;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.EncoderBase;
import io.sluice.exchange.Exchange;
import io.sluice.observe.AccessLog;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The access log's appender: the logging thread only queues (access lines are formatted by the
 * writer, other messages before queueing), what gathered is written in whole-line writes of at
 * most PIPE_BUF bytes, a full queue drops and counts the newest line, and a stop writes the rest.
 */
class AccessLogAppenderTest {
  /** Records each write (a system call on stdout), and which thread formatted each line. */
  static final class Writes extends OutputStream {
    final List<String> writes = new ArrayList<>();
    final ByteArrayOutputStream all = new ByteArrayOutputStream();

    @Override
    public void write(int b) {
      throw new AssertionError("bytes are written in blocks");
    }

    @Override
    public void write(byte[] b, int off, int len) {
      writes.add(new String(b, off, len, StandardCharsets.UTF_8));
      all.write(b, off, len);
    }
  }

  /** The message and a line end, as the access encoder writes it; notes the formatting thread. */
  static final class LineEncoder extends EncoderBase<ILoggingEvent> {
    final List<String> threads = new CopyOnWriteArrayList<>();

    @Override
    public byte[] headerBytes() {
      return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
      threads.add(Thread.currentThread().getName());
      return (event.getFormattedMessage() + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] footerBytes() {
      return null;
    }
  }

  private final LoggerContext context = new LoggerContext();
  private final Logger logger = context.getLogger("sluice.access");
  private final Writes out = new Writes();
  private final LineEncoder encoder = new LineEncoder();
  private final AccessLogAppender appender = new AccessLogAppender();

  @BeforeEach
  void setUp() {
    context.setMDCAdapter(new LogbackMDCAdapter()); // as SLF4J's binding sets it on the real context
    encoder.setContext(context);
    encoder.start();
    appender.setContext(context);
    appender.setName("ACCESS");
    appender.setEncoder(encoder);
    appender.writeToWithoutThread(out);
    appender.start();
  }

  @AfterEach
  void tearDown() {
    appender.stop();
  }

  private LoggingEvent event(String format, Object... args) {
    return new LoggingEvent("x", logger, Level.INFO, format, null, args.length == 0 ? null : args);
  }

  private static String formattedYet(LoggingEvent event) throws ReflectiveOperationException {
    Field f = LoggingEvent.class.getDeclaredField("formattedMessage");
    f.setAccessible(true);
    return (String) f.get(event);
  }

  @Test
  void accessLinesAreFormattedByTheWriter_otherMessagesBeforeQueueing() throws Exception {
    Exchange exchange = new Exchange("req-1", "10.0.0.7", "POST", "/v1/chat/completions", 0);
    exchange.routeName("chat");
    exchange.status(200);
    AccessLog.Line line = new AccessLog(false).line(exchange, 2_000_000L, Instant.parse("2026-12-07T00:00:00Z"));
    StringBuilder mutable = new StringBuilder("before");
    LoggingEvent plain = event("value {}", mutable);
    LoggingEvent access = event("{}", line);
    appender.doAppend(plain);
    appender.doAppend(access);
    mutable.setLength(0);
    mutable.append("after");

    assertThat(formattedYet(plain)).as("formatted before queueing: its argument may change").isEqualTo("value before");
    assertThat(formattedYet(access)).as("not formatted on the logging thread").isNull();
    assertThat(access.getThreadName()).isEqualTo(Thread.currentThread().getName());
    assertThat(out.writes).as("nothing is written by the logging thread").isEmpty();

    Thread writer = new Thread(appender::drain, "writer");
    writer.start();
    writer.join();
    assertThat(out.all.toString(StandardCharsets.UTF_8)).isEqualTo("value before\n" + line + "\n");
    assertThat(line.toString()).startsWith("ts=2026-12-07T00:00:00Z request_id=req-1 route=chat");
    assertThat(encoder.threads).containsOnly("writer");
  }

  /**
   * The access encoder's layout appends an access line straight into its own (no formatted
   * message in between), with exactly the bytes the line's own rendering gives — text and JSON,
   * with a value that needs quoting.
   */
  @Test
  void theLayoutAppendsAnAccessLineAsItRendersItself() throws Exception {
    Exchange exchange = new Exchange("req-2", "10.0.0.7", "POST", "/v1/chat completions", 0);
    exchange.routeName("chat \"q\"");
    exchange.status(200);
    TextLineLayout layout = new TextLineLayout(true);
    layout.setContext(context);
    layout.start();
    for (boolean json : new boolean[] {false, true}) {
      AccessLog.Line line = new AccessLog(json).line(exchange, 2_000_000L, Instant.parse("2026-12-07T00:00:00Z"));
      LoggingEvent event = event("{}", line);
      assertThat(layout.doLayout(event)).isEqualTo(line + System.lineSeparator());
      assertThat(formattedYet(event)).as("no formatted message made").isNull();
    }
    assertThat(new AccessLog(false).format(exchange, 2_000_000L, Instant.parse("2026-12-07T00:00:00Z")))
        .contains(" route=\"chat \\\"q\\\"\" ").contains(" path=\"/v1/chat completions\" ");
  }

  /**
   * With the gateway's own encoder the writer renders lines into one builder it reuses and copies
   * them into its writes: the bytes are exactly what the encoder gives, line by line — a long line
   * leaves nothing behind in the next, and a non-ASCII or over-long line takes the encoder's path.
   */
  @Test
  void theWriterRendersLinesItselfWithExactlyTheEncodersBytes() {
    Encoder<ILoggingEvent> real = LoggingConfigurator.lines(context, true);
    assertThat(AccessLogAppender.directLayout(real)).as("rendered by the writer").isNotNull();
    assertThat(AccessLogAppender.directLayout(encoder)).as("another encoder: encoded").isNull();
    Writes writes = new Writes();
    AccessLogAppender direct = new AccessLogAppender();
    direct.setContext(context);
    direct.setName("DIRECT");
    direct.setEncoder(real);
    direct.writeToWithoutThread(writes);
    direct.start();
    Instant now = Instant.parse("2026-12-07T13:01:02.123456Z");
    Exchange longOne = new Exchange("req-long", "10.0.0.7", "POST", "/v1/" + "p".repeat(900), 0);
    longOne.routeName("chat");
    longOne.status(200);
    longOne.tokens(12_345L, 678L, false);
    Exchange shortOne = new Exchange("r", "10.0.0.8", "GET", "/v1/models", 0);
    Exchange quoted = new Exchange("req-q", "10.0.0.9", "POST", "/v1/chat completions", 0);
    quoted.routeName("chat \"q\"");
    List<LoggingEvent> events = List.of(
        event("{}", new AccessLog(false).line(longOne, 5_000_000L, now)),
        event("{}", new AccessLog(false).line(shortOne, 1_000_000L, now)),
        event("{}", new AccessLog(true).line(quoted, 1_000_000L, now.plusMillis(1500))),
        event("{}", new AccessLog(false).line(quoted, 1_000_000L, now)),
        event("caf\u00e9 {}", "cr\u00e8me"),
        event("short after a non-ASCII line"),
        event("y".repeat(AccessLogAppender.WRITE_MAX + 10)),
        event("{}", new AccessLog(false).line(shortOne, 1_000_000L, Instant.parse("2026-12-07T13:01:03Z"))));
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    for (LoggingEvent e : events) {
      direct.doAppend(e);
    }
    for (LoggingEvent e : events) {
      expected.writeBytes(real.encode(e));
    }
    direct.drain();
    direct.stop();
    assertThat(writes.all.toByteArray()).isEqualTo(expected.toByteArray());
    assertThat(writes.all.toString(StandardCharsets.UTF_8))
        .contains("ts=2026-12-07T13:01:02.123456Z request_id=req-long route=chat")
        .contains(" tokens_in=12345 tokens_out=678 ")
        .contains("\nts=2026-12-07T13:01:03Z request_id=r route=none ");
    for (String w : writes.writes) {
      assertThat(w).endsWith(System.lineSeparator());
      if (w.length() > AccessLogAppender.WRITE_MAX) {
        assertThat(w).as("only the over-long line is written alone").startsWith("yyyy");
      }
    }
  }

  @Test
  void linesAreGatheredIntoWholeLineWritesOfAtMostPipeBuf() {
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      String msg = "ts=2026-12-07T00:00:00Z request_id=req-" + i + " route=chat status=200 duration_ms=12";
      appender.doAppend(event(msg));
      expected.append(msg).append('\n');
    }
    appender.drain();
    assertThat(out.all.toString(StandardCharsets.UTF_8)).isEqualTo(expected.toString());
    int bytes = expected.length();
    assertThat(out.writes).hasSizeLessThanOrEqualTo(bytes / (AccessLogAppender.WRITE_MAX - 100) + 1);
    for (String w : out.writes) {
      assertThat(w.length()).isLessThanOrEqualTo(AccessLogAppender.WRITE_MAX);
      assertThat(w).endsWith("\n"); // whole lines: a pipe never interleaves another writer inside one
    }
  }

  @Test
  void aLineLongerThanPipeBufIsWrittenAlone() {
    String longLine = "x".repeat(AccessLogAppender.WRITE_MAX + 10);
    appender.doAppend(event("short one"));
    appender.doAppend(event(longLine));
    appender.doAppend(event("short two"));
    appender.drain();
    assertThat(out.writes).containsExactly("short one\n", longLine + "\n", "short two\n");
  }

  @Test
  void aFullQueueDropsAndCountsTheNewestLine() {
    long before = AccessLogAppender.dropped();
    for (int i = 0; i < AccessLogAppender.QUEUE + 5; i++) {
      appender.doAppend(event("line " + i));
    }
    assertThat(AccessLogAppender.dropped() - before).isEqualTo(5);
    appender.drain();
    String written = out.all.toString(StandardCharsets.UTF_8);
    assertThat(written).startsWith("line 0\n").endsWith("line " + (AccessLogAppender.QUEUE - 1) + "\n");
  }

  @Test
  void stoppingWritesWhatIsQueued() {
    appender.doAppend(event("last words"));
    appender.stop();
    assertThat(out.all.toString(StandardCharsets.UTF_8)).isEqualTo("last words\n");
    appender.doAppend(event("after the stop"));
    appender.drain();
    assertThat(out.all.toString(StandardCharsets.UTF_8)).isEqualTo("last words\n");
  }
}
