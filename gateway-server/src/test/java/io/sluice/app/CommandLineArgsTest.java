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
    CommandLineArgs spaced = parse("--config config/gateway.yaml --check --log-format json");
    CommandLineArgs joined = parse("--config=config/gateway.yaml --check --log-format=json");
    for (CommandLineArgs args : List.of(spaced, joined)) {
      assertThat(args.config()).isEqualTo(Path.of("config/gateway.yaml"));
      assertThat(args.check()).isTrue();
      assertThat(args.logFormat()).isEqualTo("json");
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
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiterString = "=>", textBlock = """
      --frobnicate => Unknown option: '--frobnicate'
      --config => Missing required parameter for option '--config' (FILE)
      --demo --mock-upstream => Missing required parameter for option '--mock-upstream' (PORT)
      --log-format => Missing required parameter for option '--log-format' (text|json)
      --mock-upstream abc => Invalid value for option '--mock-upstream': 'abc' is not an int
      --check=yes => option '--check' takes no value (got '--check=yes')
      --config a.yaml stray => Unmatched argument at index 2: 'stray'
      """)
  void refusesWhatItCannotParseNamingTheArgument(String line, String message) {
    assertThatThrownBy(() -> parse(line)).isInstanceOf(CommandLineArgs.UsageException.class).hasMessage(message);
  }

  @Test
  void helpListsEveryOption() {
    assertThat(CommandLineArgs.USAGE).contains("--config=FILE", "--check", "--demo", "--mock-upstream=PORT",
        "--log-format=text|json", "--cds-training", "--help", "--version");
  }
}
