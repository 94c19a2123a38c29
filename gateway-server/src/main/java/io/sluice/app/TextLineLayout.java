package io.sluice.app;

import ch.qos.logback.classic.pattern.TargetLengthBasedClassNameAbbreviator;
import ch.qos.logback.classic.pattern.ThrowableProxyConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.LayoutBase;
import ch.qos.logback.core.util.CachingDateFormatter;
import io.sluice.observe.AccessLog;

/**
 * The text log line, exactly as the pattern
 * {@code %d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{24} - %msg%n} (plus the stack
 * trace of an attached exception) prints it — or, with {@code messageOnly}, {@code %msg%n}, the
 * access log's already formatted line.
 *
 * <p>Why not Logback's {@code PatternLayout}: its class initialiser links some sixty converter
 * method references, and the pattern is parsed and compiled at start; on one core that was ~0.1 s
 * of the gateway's start. {@code LoggingConfiguratorTest} checks that both print the same bytes.
 */
final class TextLineLayout extends LayoutBase<ILoggingEvent> {
  static final String DATE_PATTERN = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";

  private final boolean messageOnly;
  private final CachingDateFormatter date = new CachingDateFormatter(DATE_PATTERN);
  private final TargetLengthBasedClassNameAbbreviator abbreviator = new TargetLengthBasedClassNameAbbreviator(24);
  private final ThrowableProxyConverter throwable = new ThrowableProxyConverter();

  TextLineLayout(boolean messageOnly) {
    this.messageOnly = messageOnly;
  }

  @Override
  public void start() {
    throwable.setContext(getContext());
    throwable.start();
    super.start();
  }

  @Override
  public String doLayout(ILoggingEvent event) {
    StringBuilder line = new StringBuilder(messageOnly ? 640 : 128);
    appendTo(event, line);
    return line.toString();
  }

  /**
   * The line {@link #doLayout} returns, appended to {@code line} instead: the access log's writer
   * renders every line into one builder it keeps ({@link AccessLogAppender}), not a new one each.
   */
  void appendTo(ILoggingEvent event, StringBuilder line) {
    if (!messageOnly) {
      line.append(date.format(event.getTimeStamp())).append(' ');
      String level = event.getLevel().toString();
      line.append(level);
      for (int i = level.length(); i < 5; i++) {
        line.append(' ');
      }
      line.append(" [").append(event.getThreadName()).append("] ")
          .append(abbreviator.abbreviate(event.getLoggerName())).append(" - ");
    }
    Object[] args = event.getArgumentArray();
    if (args != null && args.length == 1 && args[0] instanceof AccessLog.Line access && "{}".equals(event.getMessage())) {
      access.appendTo(line); // the access log's line straight into this one: no formatted message in between
    } else {
      line.append(event.getFormattedMessage());
    }
    line.append(CoreConstants.LINE_SEPARATOR);
    if (event.getThrowableProxy() != null) {
      line.append(throwable.convert(event));
    }
  }
}
