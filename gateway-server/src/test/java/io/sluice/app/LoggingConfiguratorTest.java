package io.sluice.app;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.ConsoleAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.config.LoggingConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The appenders {@code logback.xml} used to declare, built in code, and the config's levels by
 * logger (on a context of the test's own).
 */
class LoggingConfiguratorTest {
  private final LoggerContext context = new LoggerContext();

  LoggingConfiguratorTest() {
    context.setMDCAdapter(new LogbackMDCAdapter());
  }

  @AfterEach
  void stop() {
    context.stop();
  }

  @Test
  void textLinesForPeople() {
    LoggingConfigurator.configure(context, false);
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    assertThat(root.getLevel()).isEqualTo(Level.INFO);
    ConsoleAppender<ILoggingEvent> text = (ConsoleAppender<ILoggingEvent>) root.getAppender("TEXT");
    assertThat(text.isStarted()).isTrue();
    assertThat(root.getAppender("JSON")).isNull();

    PatternLayoutEncoder reference = new PatternLayoutEncoder();
    reference.setContext(context);
    reference.setPattern(LoggingConfigurator.TEXT_PATTERN);
    reference.start();
    Logger logger = context.getLogger("io.sluice.upstream.HealthChecker");
    LoggingEvent plain = new LoggingEvent(getClass().getName(), logger, Level.WARN, "endpoint {} is down", null,
        new Object[] {"http://10.0.0.1:9000"});
    plain.setThreadName("sluice-io-3-1");
    LoggingEvent failed = new LoggingEvent(getClass().getName(), context.getLogger("x"), Level.ERROR, "boom",
        new IllegalStateException("bad", new IOException("cause")), null);
    for (LoggingEvent event : new LoggingEvent[] {plain, failed}) {
      assertThat(new String(text.getEncoder().encode(event), StandardCharsets.UTF_8))
          .as("the same bytes as Logback's PatternLayout with %s", LoggingConfigurator.TEXT_PATTERN)
          .isEqualTo(new String(reference.encode(event), StandardCharsets.UTF_8));
    }
    assertThat(new String(text.getEncoder().encode(plain), StandardCharsets.UTF_8))
        .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) WARN  \\[sluice-io-3-1\\] "
            + "i\\.s\\.u\\.HealthChecker - endpoint http://10\\.0\\.0\\.1:9000 is down\\R");
    assertThat(context.getLogger("io.netty").getLevel()).isEqualTo(Level.WARN);
  }

  @Test
  void oneJsonObjectPerLineForLogShippers() throws Exception {
    LoggingConfigurator.configure(context, true);
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    ConsoleAppender<ILoggingEvent> json = (ConsoleAppender<ILoggingEvent>) root.getAppender("JSON");
    assertThat(json.getEncoder()).isInstanceOf(JsonEncoder.class);
    assertThat(root.getAppender("TEXT")).isNull();

    LoggingEvent event = new LoggingEvent(getClass().getName(), root, Level.INFO, "ready on {}", null,
        new Object[] {8080});
    String line = new String(json.getEncoder().encode(event), StandardCharsets.UTF_8);
    assertThat(line).endsWith("\n").hasLineCount(1);
    JsonNode node = new ObjectMapper().readTree(line);
    assertThat(node.path("formattedMessage").asText()).isEqualTo("ready on 8080");
    assertThat(node.path("level").asText()).isEqualTo("INFO");
    assertThat(node.has("message")).as("only the formatted message").isFalse();
  }

  @Test
  void accessLogGoesThroughTheAccessLogAppenderOnly() {
    LoggingConfigurator.configure(context, false);
    Logger access = context.getLogger("sluice.access");
    assertThat(access.isAdditive()).as("access lines are not repeated by the root appender").isFalse();
    assertThat(access.getLevel()).isEqualTo(Level.INFO);
    AccessLogAppender appender = (AccessLogAppender) access.getAppender("ACCESS");
    assertThat(appender.isStarted()).isTrue();
    appender.stop();
  }

  private static LoggingConfig levels(String... pairs) {
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      out.put(pairs[i], pairs[i + 1]);
    }
    return new LoggingConfig(out);
  }

  @Test
  void configLevelsApplyAndAReloadThatDropsThemRestoresTheEarlierLevels() {
    LoggingConfigurator.configure(context, false);
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    Logger upstream = context.getLogger("io.sluice.upstream");
    Logger netty = context.getLogger("io.netty");

    Map<String, String> applied = LoggingConfigurator.applyLevels(context,
        levels("root", "warn", "io.sluice.upstream", "debug", "io.netty", "error"), null);
    assertThat(applied).containsExactly(Map.entry("root", "warn"), Map.entry("io.sluice.upstream", "debug"),
        Map.entry("io.netty", "error"));
    assertThat(root.getLevel()).isEqualTo(Level.WARN);
    assertThat(upstream.getLevel()).isEqualTo(Level.DEBUG);
    assertThat(context.getLogger("io.sluice.upstream.HealthChecker").isDebugEnabled())
        .as("a package's level reaches its classes").isTrue();
    assertThat(netty.getLevel()).isEqualTo(Level.ERROR);

    // A reload changes one, keeps one, drops one: the dropped ones get their start-up level back.
    LoggingConfigurator.applyLevels(context, levels("io.sluice.upstream", "trace"), null);
    assertThat(upstream.getLevel()).isEqualTo(Level.TRACE);
    assertThat(root.getLevel()).isEqualTo(Level.INFO);
    assertThat(netty.getLevel()).as("the built-in WARN, not inherited INFO").isEqualTo(Level.WARN);

    LoggingConfigurator.applyLevels(context, LoggingConfig.DEFAULTS, null);
    assertThat(upstream.getLevel()).as("inherits again, as before any config").isNull();
    assertThat(context.getLogger("io.sluice.upstream.HealthChecker").isDebugEnabled()).isFalse();
  }

  @Test
  void theCommandLineLevelWinsOverTheConfigsRoot() {
    LoggingConfigurator.configure(context, false);
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN); // as an operator's own Logback XML may have left it

    Map<String, String> applied = LoggingConfigurator.applyLevels(context,
        levels("root", "error", "io.sluice.relay", "warn"), "debug");
    assertThat(applied).containsExactly(Map.entry("io.sluice.relay", "warn"));
    assertThat(root.getLevel()).isEqualTo(Level.DEBUG);
    assertThat(context.getLogger("io.sluice.relay").getLevel()).isEqualTo(Level.WARN);
  }

  @Test
  void offSilencesALogger() {
    LoggingConfigurator.configure(context, false);
    LoggingConfigurator.applyLevels(context, levels("sluice.access", "off"), null);
    assertThat(context.getLogger("sluice.access").isInfoEnabled()).isFalse();
    LoggingConfigurator.applyLevels(context, LoggingConfig.DEFAULTS, null);
    assertThat(context.getLogger("sluice.access").getLevel()).isEqualTo(Level.INFO);
  }
}
