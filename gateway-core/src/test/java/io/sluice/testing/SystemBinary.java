package io.sluice.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * A system program a test needs (promtool, openssl). Missing on a developer's machine: the test
 * is skipped. Missing on CI ({@code CI=true}): the test fails, so a broken install step in
 * {@code .ci/run} cannot hide behind skipped tests.
 */
public final class SystemBinary {
  private SystemBinary() {}

  /** The program's path, or a skip (locally) / failure (CI) when it is not on the PATH. */
  public static Path require(String name) {
    String pathEnv = System.getenv().getOrDefault("PATH", "");
    for (String dir : pathEnv.split(File.pathSeparator)) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    if ("true".equals(System.getenv("CI"))) {
      fail(name + " is not installed: .ci/run must install it");
    }
    Assumptions.abort(name + " is not installed; skipped (it is required when CI=true)");
    return null;
  }
}
