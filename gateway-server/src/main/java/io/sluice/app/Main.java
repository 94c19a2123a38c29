package io.sluice.app;

import ch.qos.logback.classic.LoggerContext;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.config.LoggingConfig;
import io.sluice.demo.MockModelServer;
import io.sluice.plugin.PluginRegistry;
import io.sluice.server.ListenException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code gateway.jar} command line (README, "Running it"); the options are parsed by
 * {@link CommandLineArgs}.
 *
 * <p>Exit codes: 0 success, 2 invalid arguments or config, 1 any other failure — always with a
 * one-line reason on stderr.
 */
public final class Main {
  static final int OK = 0;
  static final int FAILURE = 1;
  static final int INVALID = 2;

  /** Set once a mode that logs (serve, demo, mock, training) begins. */
  private static volatile boolean loggingStarted;

  private Main() {}

  public static void main(String[] args) {
    // Logback reads these once, at its first use: set them before anything logs.
    System.setProperty("sluice.log.format", logFormatOf(args));
    String level = logLevelOf(args);
    if (level != null) {
      System.setProperty(LoggingConfigurator.LEVEL_PROPERTY, level);
    }
    // Netty 4.2 emits JFR events for its allocators; checking whether they are enabled starts
    // JFR's metadata repository on the first request (~0.25 s of a one-core start). Off unless an
    // operator asks for them with -Dio.netty.jfr.enabled=true; set before any Netty class loads.
    if (System.getProperty("io.netty.jfr.enabled") == null) {
      System.setProperty("io.netty.jfr.enabled", "false");
    }
    int code;
    try {
      code = run(CommandLineArgs.parse(List.of(args)));
    } catch (CommandLineArgs.UsageException e) {
      System.err.println("sluice: " + e.getMessage() + " (see --help)");
      code = INVALID;
    } catch (Exception e) {
      System.err.println("sluice: " + reason(e));
      code = FAILURE;
    }
    // Flush every log line before the process ends; --help, --version and --check never started
    // Logback, and asking for it here would only start it (~0.2 s) to stop it again.
    if (loggingStarted && LoggerFactory.getILoggerFactory() instanceof LoggerContext logback) {
      logback.stop();
    }
    System.exit(code);
  }

  private static String logFormatOf(String[] args) {
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--log-format") && i + 1 < args.length) {
        return args[i + 1].equalsIgnoreCase("json") ? "JSON" : "TEXT";
      }
      if (args[i].equalsIgnoreCase("--log-format=json")) {
        return "JSON";
      }
    }
    return "TEXT";
  }

  /** The {@code --log-level} value when it names a level; a bad one is reported by {@link #run}. */
  private static String logLevelOf(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String value = args[i].equals("--log-level") && i + 1 < args.length ? args[i + 1]
          : args[i].startsWith("--log-level=") ? args[i].substring("--log-level=".length()) : null;
      if (value != null && LoggingConfig.LEVELS.contains(value.toLowerCase(Locale.ROOT))) {
        return value.toLowerCase(Locale.ROOT);
      }
    }
    return null;
  }

  static int run(CommandLineArgs args) throws Exception {
    if (args.help()) {
      System.out.print(CommandLineArgs.USAGE);
      return OK;
    }
    if (args.version()) {
      System.out.println(CommandLineArgs.versionLine());
      return OK;
    }
    String logFormat = args.logFormat();
    if (!logFormat.equals("text") && !logFormat.equals("json")) {
      System.err.println("sluice: --log-format must be text or json (got '" + logFormat + "')");
      return INVALID;
    }
    String logLevel = args.logLevel();
    if (logLevel != null && !LoggingConfig.LEVELS.contains(logLevel.toLowerCase(Locale.ROOT))) {
      System.err.println("sluice: --log-level must be one of " + String.join(", ", LoggingConfig.LEVELS)
          + " (got '" + logLevel + "')");
      return INVALID;
    }
    Path config = args.config();
    int modes = (config != null ? 1 : 0) + (args.demo() ? 1 : 0) + (args.mockUpstreamPort() != null ? 1 : 0)
        + (args.cdsTraining() ? 1 : 0);
    if (modes != 1) {
      System.err.println("sluice: give exactly one of --config FILE, --demo, --mock-upstream PORT, --cds-training"
          + " (see --help)");
      return INVALID;
    }
    if (args.check() && config == null) {
      System.err.println("sluice: --check needs --config FILE");
      return INVALID;
    }
    loggingStarted = !args.check();
    if (args.mockUpstreamPort() != null) {
      return runMock(args.mockUpstreamPort());
    }
    if (args.demo()) {
      return Demo.run();
    }
    if (args.cdsTraining()) {
      return CdsTraining.run();
    }
    GatewayConfig loaded;
    ConfigLoader loader = new ConfigLoader(System::getenv, PluginRegistry.load());
    try {
      loaded = loader.load(config);
    } catch (ConfigException e) {
      System.err.println("sluice: " + config + " is not a valid config (" + e.errors().size() + " error"
          + (e.errors().size() == 1 ? "" : "s") + "):");
      e.errors().forEach(err -> System.err.println("  " + err));
      return INVALID;
    }
    if (args.check()) {
      System.out.println(config + ": OK");
      return OK;
    }
    return serve(loaded, config, loader);
  }

  /**
   * Runs the gateway until SIGTERM or SIGINT, then drains and exits 0. SIGHUP and changes in the
   * config file's folder reload the config.
   *
   * @param configFile null when the config did not come from a file (the demo)
   */
  static int serve(GatewayConfig config, Path configFile, ConfigLoader loader) throws Exception {
    CountDownLatch stop = stopSignal();
    Sluice sluice;
    try {
      sluice = Sluice.start(config, configFile, loader);
    } catch (ListenException e) {
      System.err.println("sluice: " + e.getMessage());
      return FAILURE;
    }
    if (configFile != null) {
      sluice.watchConfig(RELOAD_DEBOUNCE);
      sun.misc.Signal.handle(new sun.misc.Signal("HUP"), s -> sluice.reload());
    }
    stop.await();
    Logger log = LoggerFactory.getLogger(Main.class);
    log.info("stop signal received");
    sluice.drain();
    sluice.close();
    log.info("stopped");
    return OK;
  }

  /** Bursts of file events (an editor's save, a ConfigMap swap) become one reload. */
  static final Duration RELOAD_DEBOUNCE = Duration.ofMillis(300);

  /**
   * From now on SIGTERM and SIGINT count the returned latch down. The signals are handled here
   * rather than by shutdown hooks so the process can drain in order and exit 0 (the JVM's default
   * for SIGTERM is 143). Installed before the server starts: a stop sent as soon as it is ready —
   * an orchestrator's, a test's — found no handler yet on a loaded machine and ended the process
   * with 143 instead of a drain; one sent during the start now drains right after it.
   */
  static CountDownLatch stopSignal() {
    CountDownLatch stop = new CountDownLatch(1);
    sun.misc.Signal.handle(new sun.misc.Signal("TERM"), s -> stop.countDown());
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> stop.countDown());
    return stop;
  }

  private static int runMock(int port) throws InterruptedException {
    Logger log = LoggerFactory.getLogger(Main.class);
    CountDownLatch stop = stopSignal();
    MockModelServer mock = MockModelServer.start("0.0.0.0", port, MockModelServer.Options.DEFAULTS);
    log.info("mock model server on http://0.0.0.0:{} (POST /v1/chat/completions, GET /v1/models, GET /health)",
        mock.port());
    stop.await();
    mock.close();
    return OK;
  }

  static String reason(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    return message == null ? root.getClass().getSimpleName() : message;
  }
}
