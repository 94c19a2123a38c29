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
import io.sluice.config.LoggingConfig;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

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
 *   <li>the access log ({@code sluice.access}, not additive): through an {@link AccessLogAppender},
 *       so an event loop never waits for stdout nor wakes a thread — queue 8,192, never blocks,
 *       never discards by level, counts what a full queue drops, writes every 20 ms;
 *   <li>the root level from {@code --log-level} (the system property {@link #LEVEL_PROPERTY}),
 *       else INFO.
 * </ul>
 *
 * <p>Levels by logger ({@link #applyLevels}): the config's {@code logging.level}, applied at start
 * and on every reload. A logger the config stops naming gets back the level it had before the
 * config first set it, so removing {@code io.sluice.upstream: debug} undoes it without a restart.
 * {@code --log-level} wins over {@code logging.level.root}: the command line is the operator's
 * last word, as with every other option.
 *
 * <p>An operator's own Logback XML still wins: with {@code -Dlogback.configurationFile=…} (or a
 * {@code logback-test.xml} on the class path, as in tests) this steps aside and Logback reads
 * that file as usual.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LoggingConfigurator extends ContextAwareBase implements Configurator {
  /** What a text line looks like, as a Logback pattern (printed by {@link TextLineLayout}). */
  static final String TEXT_PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{24} - %msg%n";
  /** The system property {@link Main} sets from {@code --log-level}: the root logger's level. */
  static final String LEVEL_PROPERTY = "sluice.log.level";
  /** Where {@link #applyLevels} keeps, per Logback context, the levels it replaced. */
  private static final String ORIGINAL_LEVELS = "sluice.originalLevels";

  @Override
  public ExecutionStatus configure(LoggerContext context) {
    if (System.getProperty("logback.configurationFile") != null
        || LoggingConfigurator.class.getClassLoader().getResource("logback-test.xml") != null) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    configure(context, "JSON".equalsIgnoreCase(System.getProperty("sluice.log.format")));
    String level = System.getProperty(LEVEL_PROPERTY);
    if (level != null) {
      context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(level, Level.INFO));
    }
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

    AccessLogAppender access = new AccessLogAppender();
    access.setContext(context);
    access.setName("ACCESS");
    access.setEncoder(lines(context, true));
    access.start();
    Logger accessLogger = context.getLogger("sluice.access");
    accessLogger.setLevel(Level.INFO);
    accessLogger.setAdditive(false);
    accessLogger.addAppender(access);
  }

  /**
   * Sets the config's levels on the running Logback (nothing when SLF4J is bound to something
   * else); returns the levels now in force, by logger, for the log line that announces them.
   */
  static Map<String, String> applyLevels(LoggingConfig config) {
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (!(factory instanceof LoggerContext context)) {
      return Map.of();
    }
    return applyLevels(context, config, System.getProperty(LEVEL_PROPERTY));
  }

  /**
   * Sets {@code config}'s levels on {@code context}, and gives every logger that an earlier call
   * set but {@code config} no longer names its original level back.
   *
   * @param commandLineRoot the {@code --log-level} value, or null; it sets the root level, whatever
   *     the config says
   * @return the levels this config set, by logger ({@code root} as {@link LoggingConfig#ROOT})
   */
  static synchronized Map<String, String> applyLevels(LoggerContext context, LoggingConfig config,
      String commandLineRoot) {
    @SuppressWarnings("unchecked")
    Map<String, Level> originals = (Map<String, Level>) context.getObject(ORIGINAL_LEVELS);
    if (originals == null) {
      originals = new HashMap<>();
      context.putObject(ORIGINAL_LEVELS, originals);
    }
    Map<String, String> wanted = new LinkedHashMap<>();
    config.levels().forEach((name, level) -> {
      String logger = name.equals(LoggingConfig.ROOT) ? Logger.ROOT_LOGGER_NAME : name;
      if (!(logger.equals(Logger.ROOT_LOGGER_NAME) && commandLineRoot != null)) {
        wanted.put(logger, level);
      }
    });
    for (var it = originals.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Level> e = it.next();
      if (!wanted.containsKey(e.getKey())) {
        context.getLogger(e.getKey()).setLevel(e.getValue());
        it.remove();
      }
    }
    if (commandLineRoot != null) {
      // Again here, not only at start: an operator's own Logback XML has set the root since.
      context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(commandLineRoot, Level.INFO));
    }
    Map<String, String> applied = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : wanted.entrySet()) {
      Logger logger = context.getLogger(e.getKey());
      if (!originals.containsKey(e.getKey())) { // not putIfAbsent: an inherited level is a null value
        originals.put(e.getKey(), logger.getLevel());
      }
      logger.setLevel(Level.toLevel(e.getValue().toUpperCase(Locale.ROOT)));
      applied.put(e.getKey().equals(Logger.ROOT_LOGGER_NAME) ? LoggingConfig.ROOT : e.getKey(), e.getValue());
    }
    return applied;
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
