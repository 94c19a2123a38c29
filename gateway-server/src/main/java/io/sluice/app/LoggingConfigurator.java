package io.sluice.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.status.NopStatusListener;

/**
 * The gateway's Logback setup, in code: Logback finds it through {@code META-INF/services} before
 * it looks for any XML file.
 *
 * <p>Why not {@code logback.xml}: Joran (the XML parser, its model and its reflection-driven
 * actions) took ~0.2 s of a one-core start even with every class in the AppCDS archive; this
 * builds the same appenders directly, and prints text lines with {@link TextLineLayout} rather
 * than a {@code PatternLayout} (another ~0.1 s).
 *
 * <p>What it sets up (README, "Running it" and "Operations"):
 * <ul>
 *   <li>root at INFO to stdout, as text or as one JSON object per line — the system property
 *       {@code sluice.log.format} ({@code TEXT} or {@code JSON}) that {@link Main} sets from
 *       {@code --log-format} before anything logs; {@code io.netty} at WARN;
 *   <li>the access log ({@code sluice.access}, not additive): lines the gateway already formatted,
 *       through a {@link CountingAsyncAppender} so an event loop never waits for stdout — queue
 *       8,192, never blocks, never discards by level, counts what a full queue drops.
 * </ul>
 *
 * <p>An operator's own Logback XML still wins: with {@code -Dlogback.configurationFile=…} (or a
 * {@code logback-test.xml} on the class path, as in tests) this steps aside and Logback reads
 * that file as usual.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LoggingConfigurator extends ContextAwareBase implements Configurator {
  /** What a text line looks like, as a Logback pattern (printed by {@link TextLineLayout}). */
  static final String TEXT_PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{24} - %msg%n";
  static final int ACCESS_QUEUE = 8192;

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (System.getProperty("logback.configurationFile") != null
        || LoggingConfigurator.class.getClassLoader().getResource("logback-test.xml") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    configure(context, "JSON".equalsIgnoreCase(System.getProperty("sluice.log.format")));
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** Sets the gateway's appenders up on {@code context}: root as text or JSON lines, the access log. */
  static void configure(LoggerContext context, boolean json) {
    // As <statusListener class="NopStatusListener"/> did: Logback's own start-up notes stay quiet.
    context.getStatusManager().add(new NopStatusListener());
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(console(context, json ? "JSON" : "TEXT", json ? jsonEncoder(context) : lines(context, false)));
    context.getLogger("io.netty").setLevel(Level.WARN);

    CountingAsyncAppender access = new CountingAsyncAppender();
    access.setContext(context);
    access.setName("ACCESS");
    access.setQueueSize(ACCESS_QUEUE);
    access.setDiscardingThreshold(0);
    access.setNeverBlock(true);
    access.addAppender(console(context, "ACCESS_OUT", lines(context, true)));
    access.start();
    Logger accessLogger = context.getLogger("sluice.access");
    accessLogger.setLevel(Level.INFO);
    accessLogger.setAdditive(false);
    accessLogger.addAppender(access);
  }

  private static ConsoleAppender<ILoggingEvent> console(LoggerContext context, String name,
      Encoder<ILoggingEvent> encoder) {
    ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
    appender.setContext(context);
    appender.setName(name);
    appender.setEncoder(encoder);
    appender.start();
    return appender;
  }

  /** Text lines ({@link TextLineLayout}): {@link #TEXT_PATTERN}, or only the message. */
  static Encoder<ILoggingEvent> lines(LoggerContext context, boolean messageOnly) {
    TextLineLayout layout = new TextLineLayout(messageOnly);
    layout.setContext(context);
    layout.start();
    LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
    encoder.setContext(context);
    encoder.setLayout(layout);
    encoder.start();
    return encoder;
  }

  /** Flat JSON per line: timestamp, level, thread, logger and the formatted message. */
  static Encoder<ILoggingEvent> jsonEncoder(LoggerContext context) {
    JsonEncoder encoder = new JsonEncoder();
    encoder.setContext(context);
    encoder.setWithSequenceNumber(false);
    encoder.setWithNanoseconds(false);
    encoder.setWithContext(false);
    encoder.setWithMessage(false);
    encoder.setWithArguments(false);
    encoder.setWithFormattedMessage(true);
    encoder.start();
    return encoder;
  }
}
