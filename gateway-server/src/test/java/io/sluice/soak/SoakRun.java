package io.sluice.soak;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The soak as a JUnit entry point, so {@code bench/soak} can start it on the test classpath with
 * Maven offline ({@code -Dtest=SoakRun}). Named so that surefire's default includes never pick
 * it up: {@code mvn verify} does not run it.
 */
class SoakRun {
  @Test
  void soak() throws Exception {
    Soak.Result result = new Soak(Soak.optionsFromSystemProperties()).run();
    assertThat(result.ok()).as(result.report()).isTrue();
  }
}
