package io.sluice.app;

import java.nio.file.Path;
import java.util.List;

/**
 * The parsed {@code gateway.jar} command line (README, "Running it"), with its help text.
 *
 * <p>Why not a CLI library: the gateway has six options, and the parser sits on the start-up path.
 * picocli took ~0.2–0.3 s of a one-core start (reflection over annotations, 170 classes compiled
 * for Java 5 that AppCDS cannot archive); this class costs nothing measurable. Both
 * {@code --option value} and {@code --option=value} are accepted, as picocli did.
 *
 * @param config {@code --config FILE}, or null
 * @param mockUpstreamPort {@code --mock-upstream PORT}, or null
 * @param logFormat {@code text} (default) or {@code json}, not yet checked
 */
record CommandLineArgs(Path config, boolean check, boolean demo, Integer mockUpstreamPort, String logFormat,
    boolean cdsTraining, boolean help, boolean version) {

  static final String VERSION = "Sluice 0.1.0";

  static final String USAGE = """
      Usage: sluice [-hV] [--check] [--demo] [--config=FILE] [--log-format=text|json]
                    [--mock-upstream=PORT] [--cds-training]
      An LLM streaming API gateway.
            --check                Validate the config, print every error, and exit.
            --config=FILE          The YAML config file.
            --demo                 Start the gateway with an embedded mock model
                                     server.
            --cds-training         Start a gateway and a mock model server on
                                     loopback, send a few requests through it, and
                                     exit: the class-list run of the build's AppCDS
                                     archive (see README, "Start-up time").
        -h, --help                 Show this help message and exit.
            --log-format=text|json Log lines as text (default) or one JSON object per
                                     line.
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
        case "--config", "--mock-upstream", "--log-format" -> {
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
    return new CommandLineArgs(config, check, demo, mockPort, logFormat, cdsTraining, help, version);
  }

  private static String label(String option) {
    return switch (option) {
      case "--config" -> "FILE";
      case "--mock-upstream" -> "PORT";
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
