package io.sluice.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The command line (README, "Running it"), both {@code --opt value} and {@code --opt=value}. */
class CommandLineArgsTest {
  private static CommandLineArgs parse(String line) throws Exception {
    return CommandLineArgs.parse(line.isEmpty() ? List.of() : List.of(line.split(" ")));
  }

  @Test
  void readsEveryOptionInBothForms() throws Exception {
    CommandLineArgs spaced = parse("--config config/gateway.yaml --check --log-format json --log-level debug");
    CommandLineArgs joined = parse("--config=config/gateway.yaml --check --log-format=json --log-level=debug");
    for (CommandLineArgs args : List.of(spaced, joined)) {
      assertThat(args.config()).isEqualTo(Path.of("config/gateway.yaml"));
      assertThat(args.check()).isTrue();
      assertThat(args.logFormat()).isEqualTo("json");
      assertThat(args.logLevel()).isEqualTo("debug");
      assertThat(args.demo() || args.cdsTraining() || args.help() || args.version()).isFalse();
      assertThat(args.mockUpstreamPort()).isNull();
    }
    assertThat(parse("--mock-upstream 9000").mockUpstreamPort()).isEqualTo(9000);
    assertThat(parse("--mock-upstream=9000").mockUpstreamPort()).isEqualTo(9000);
    assertThat(parse("--demo").demo()).isTrue();
    assertThat(parse("--cds-training").cdsTraining()).isTrue();
    assertThat(parse("-h").help()).isTrue();
    assertThat(parse("--help").help()).isTrue();
    assertThat(parse("-V").version()).isTrue();
    assertThat(parse("--version").version()).isTrue();
    assertThat(parse("").logFormat()).as("default").isEqualTo("text");
    assertThat(parse("").logLevel()).as("default: the configured levels").isNull();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiterString = "=>", textBlock = """
      --frobnicate => Unknown option: '--frobnicate'
      --config => Missing required parameter for option '--config' (FILE)
      --demo --mock-upstream => Missing required parameter for option '--mock-upstream' (PORT)
      --log-format => Missing required parameter for option '--log-format' (text|json)
      --log-level => Missing required parameter for option '--log-level' (LEVEL)
      --mock-upstream abc => Invalid value for option '--mock-upstream': 'abc' is not an int
      --check=yes => option '--check' takes no value (got '--check=yes')
      --config a.yaml stray => Unmatched argument at index 2: 'stray'
      """)
  void refusesWhatItCannotParseNamingTheArgument(String line, String message) {
    assertThatThrownBy(() -> parse(line)).isInstanceOf(CommandLineArgs.UsageException.class).hasMessage(message);
  }

  @Test
  void helpListsEveryOptionForOperatorsAndNoneOfTheBuilds() {
    assertThat(CommandLineArgs.USAGE).contains("--config=FILE", "--check", "--demo", "--mock-upstream=PORT",
        "--log-format=text|json", "--log-level=LEVEL", "--help", "--version");
    assertThat(CommandLineArgs.USAGE).as("the AppCDS class-list run is the build's, not a user's")
        .doesNotContain("--cds-training", "cds");
  }

  @Test
  void versionIsTheProjectVersionTheBuildStampedIn() {
    // Surefire passes ${project.version} (gateway-server/pom.xml): the same value Maven filtered
    // into build.properties, so a hard-coded string here or in the code cannot pass.
    String projectVersion = System.getProperty("sluice.project.version");
    assertThat(projectVersion).as("set by the build").isNotBlank().doesNotContain("${");
    assertThat(CommandLineArgs.versionLine()).isEqualTo("Sluice " + projectVersion);
  }
}
