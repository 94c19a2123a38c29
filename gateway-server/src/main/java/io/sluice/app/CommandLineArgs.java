package io.sluice.app;

import io.sluice.observe.BuildInfo;
import java.nio.file.Path;
import java.util.List;

/**
 * The parsed {@code gateway.jar} command line (README, "Running it"), with its help text.
 *
 * <p>{@code --cds-training} is the build's own step (the AppCDS class-list run, see
 * gateway-server/pom.xml): it is parsed like any option but left out of {@link #USAGE}, which
 * lists only what an operator uses.
 *
 * <p>Why not a CLI library: the gateway has a handful of options, and the parser sits on the start-up path.
 * picocli took ~0.2–0.3 s of a one-core start (reflection over annotations, 170 classes compiled
 * for Java 5 that AppCDS cannot archive); this class costs nothing measurable. Both
 * {@code --option value} and {@code --option=value} are accepted, as picocli did.
 *
 * @param config {@code --config FILE}, or null
 * @param mockUpstreamPort {@code --mock-upstream PORT}, or null
 * @param logFormat {@code text} (default) or {@code json}, not yet checked
 * @param logLevel {@code --log-level LEVEL} for the root logger, not yet checked; null = the default
 */
record CommandLineArgs(Path config, boolean check, boolean demo, Integer mockUpstreamPort, String logFormat,
    String logLevel, boolean cdsTraining, boolean help, boolean version) {

  /** What {@code --version} prints: the version the build stamped in, never a literal. */
  static String versionLine() {
    return "Sluice " + BuildInfo.version();
  }

  static final String USAGE = """
      Usage: sluice [-hV] [--check] [--demo] [--config=FILE] [--log-format=text|json]
                    [--log-level=LEVEL] [--mock-upstream=PORT]
      An LLM streaming API gateway.
            --check                Validate the config, print every error, and exit.
            --config=FILE          The YAML config file.
            --demo                 Start the gateway with an embedded mock model
                                     server.
        -h, --help                 Show this help message and exit.
            --log-format=text|json Log lines as text (default) or one JSON object per
                                     line.
            --log-level=LEVEL      The root logger's level: trace, debug, info
                                     (default), warn, error or off. Wins over the
                                     config's logging.level.root.
            --mock-upstream=PORT   Run only the mock model server.
        -V, --version              Print version information and exit.
      """;

  /** A command line that cannot be parsed; the message names the offending argument. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  /** Parses {@code args}; nothing is checked beyond each option's own form. */
  static CommandLineArgs parse(List<String> args) throws UsageException {
    Path config = null;
    boolean check = false;
    boolean demo = false;
    Integer mockPort = null;
    String logFormat = "text";
    String logLevel = null;
    boolean cdsTraining = false;
    boolean help = false;
    boolean version = false;
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String name = arg;
      String inline = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) {
        name = arg.substring(0, eq);
        inline = arg.substring(eq + 1);
      }
      switch (name) {
        case "--config", "--mock-upstream", "--log-format", "--log-level" -> {
          String value = inline;
          if (value == null) {
            if (i + 1 >= args.size()) {
              throw new UsageException("Missing required parameter for option '" + name + "' (" + label(name) + ")");
            }
            value = args.get(++i);
          }
          switch (name) {
            case "--config" -> config = Path.of(value);
            case "--log-format" -> logFormat = value;
            case "--log-level" -> logLevel = value;
            default -> mockPort = port(value);
          }
        }
        case "--check", "--demo", "--cds-training", "-h", "--help", "-V", "--version" -> {
          if (inline != null) {
            throw new UsageException("option '" + name + "' takes no value (got '" + arg + "')");
          }
          switch (name) {
            case "--check" -> check = true;
            case "--demo" -> demo = true;
            case "--cds-training" -> cdsTraining = true;
            case "-h", "--help" -> help = true;
            default -> version = true;
          }
        }
        default -> throw new UsageException(arg.startsWith("-")
            ? "Unknown option: '" + arg + "'"
            : "Unmatched argument at index " + i + ": '" + arg + "'");
      }
    }
    return new CommandLineArgs(config, check, demo, mockPort, logFormat, logLevel, cdsTraining, help, version);
  }

  private static String label(String option) {
    return switch (option) {
      case "--config" -> "FILE";
      case "--mock-upstream" -> "PORT";
      case "--log-level" -> "LEVEL";
      default -> "text|json";
    };
  }

  private static Integer port(String value) throws UsageException {
    try {
      return Integer.valueOf(value);
    } catch (NumberFormatException e) {
      throw new UsageException("Invalid value for option '--mock-upstream': '" + value + "' is not an int");
    }
  }
}
