package io.sluice.app;

import io.sluice.config.ConfigException;
import io.sluice.config.ConfigLoader;
import io.sluice.config.GatewayConfig;
import io.sluice.demo.MockModelServer;
import io.sluice.server.ListenException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code gateway.jar} command line (CONTRACT §1).
 *
 * <p>Exit codes: 0 success, 2 invalid arguments or config, 1 any other failure — always with a
 * one-line reason on stderr.
 */
@Command(name = "sluice", mixinStandardHelpOptions = true, version = "Sluice 0.1.0",
    description = "An LLM streaming API gateway.")
public final class Main implements Callable<Integer> {
  static final int OK = 0;
  static final int FAILURE = 1;
  static final int INVALID = 2;

  @Option(names = "--config", paramLabel = "FILE", description = "The YAML config file.")
  Path config;

  @Option(names = "--check", description = "Validate the config, print every error, and exit.")
  boolean check;

  @Option(names = "--demo", description = "Start the gateway with an embedded mock model server.")
  boolean demo;

  @Option(names = "--mock-upstream", paramLabel = "PORT", description = "Run only the mock model server.")
  Integer mockUpstreamPort;

  @Option(names = "--log-format", paramLabel = "text|json", defaultValue = "text",
      description = "Log lines as text (default) or one JSON object per line.")
  String logFormat;

  public static void main(String[] args) {
    // Logback reads this once, at its first use: set it before anything logs.
    System.setProperty("sluice.log.format", logFormatOf(args));
    CommandLine cli = new CommandLine(new Main());
    cli.setParameterExceptionHandler((e, a) -> {
      System.err.println("sluice: " + e.getMessage() + " (see --help)");
      return INVALID;
    });
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      System.err.println("sluice: " + reason(e));
      return FAILURE;
    });
    int code = cli.execute(args);
    if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext logback) {
      logback.stop(); // flush every log line before the process ends
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

  @Override
  public Integer call() throws Exception {
    if (!logFormat.equals("text") && !logFormat.equals("json")) {
      System.err.println("sluice: --log-format must be text or json (got '" + logFormat + "')");
      return INVALID;
    }
    int modes = (config != null ? 1 : 0) + (demo ? 1 : 0) + (mockUpstreamPort != null ? 1 : 0);
    if (modes != 1) {
      System.err.println("sluice: give exactly one of --config FILE, --demo, --mock-upstream PORT (see --help)");
      return INVALID;
    }
    if (check && config == null) {
      System.err.println("sluice: --check needs --config FILE");
      return INVALID;
    }
    if (mockUpstreamPort != null) {
      return runMock(mockUpstreamPort);
    }
    if (demo) {
      return Demo.run();
    }
    GatewayConfig loaded;
    ConfigLoader loader = ConfigLoader.withSystemEnv();
    try {
      loaded = loader.load(config);
    } catch (ConfigException e) {
      System.err.println("sluice: " + config + " is not a valid config (" + e.errors().size() + " error"
          + (e.errors().size() == 1 ? "" : "s") + "):");
      e.errors().forEach(err -> System.err.println("  " + err));
      return INVALID;
    }
    if (check) {
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
    awaitStopSignal();
    Logger log = LoggerFactory.getLogger(Main.class);
    log.info("stop signal received");
    sluice.drain();
    sluice.close();
    log.info("stopped");
    return OK;
  }

  /** Bursts of file events (an editor's save, a ConfigMap swap) become one reload. */
  static final java.time.Duration RELOAD_DEBOUNCE = java.time.Duration.ofMillis(300);

  /**
   * Blocks until SIGTERM or SIGINT. The signals are handled here rather than by shutdown hooks
   * so the process can drain in order and exit 0 (the JVM's default for SIGTERM is 143).
   */
  static void awaitStopSignal() throws InterruptedException {
    CountDownLatch stop = new CountDownLatch(1);
    sun.misc.Signal.handle(new sun.misc.Signal("TERM"), s -> stop.countDown());
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> stop.countDown());
    stop.await();
  }

  private static int runMock(int port) throws InterruptedException {
    Logger log = LoggerFactory.getLogger(Main.class);
    MockModelServer mock = MockModelServer.start("0.0.0.0", port, MockModelServer.Options.DEFAULTS);
    log.info("mock model server on http://0.0.0.0:{} (POST /v1/chat/completions, GET /v1/models, GET /health)",
        mock.port());
    awaitStopSignal();
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
