package io.sluice.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigWatcherTest {
  private static final Path CONFIG = Path.of("gateway.yaml");

  @Test
  void theConfigAndWhatItRefersToConcernIt() {
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("gateway.yaml"))).isTrue();
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("..data"))).isTrue(); // Kubernetes ConfigMap swap
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("..2026_11_26_04_00_00.123"))).isTrue();
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("tls.pem"))).isTrue();
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("server.KEY"))).isTrue();
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("jwks.json"))).isTrue();
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("routes.yml"))).isTrue();
  }

  @Test
  void logsAndEditorLeftoversDoNot() {
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("sluice.log"))).isFalse();
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("access.log.1"))).isFalse();
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of(".gateway.yaml.swp"))).isFalse();
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("gateway.yaml~"))).isFalse();
    assertThat(ConfigWatcher.concerns(CONFIG, Path.of("nohup.out"))).isFalse();
  }

  /**
   * The loop this prevents: the gateway's stdout redirected into the config's folder; every reload
   * logs a line, the line was a change, the change a reload.
   */
  @Test
  void aLogWrittenNextToTheConfigDoesNotReloadIt(@TempDir Path folder) throws Exception {
    Path config = Files.writeString(folder.resolve("gateway.yaml"), "routes: []\n");
    Path log = folder.resolve("sluice.log");
    AtomicInteger reloads = new AtomicInteger();
    CountDownLatch configReloaded = new CountDownLatch(1);
    try (ConfigWatcher watcher = ConfigWatcher.start(config, Duration.ZERO, () -> {
      reloads.incrementAndGet();
      configReloaded.countDown();
    })) {
      assertThat(watcher).isNotNull();
      for (int i = 0; i < 20; i++) {
        Files.writeString(log, "line " + i + "\n", StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
      }
      // Replaced in one rename, as editors and Kubernetes do: one event for the config. (Written
      // in place it may give two — truncate, then write — and with no debounce two reloads.)
      Path edited = Files.writeString(folder.resolve("gateway.next"), "routes: [] # edited\n");
      Files.move(edited, config, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      assertThat(configReloaded.await(30, TimeUnit.SECONDS)).isTrue();
    }
    // The log's 20 writes came first; had they counted, at least one more reload would have run
    // (debounce zero: nothing merges them into the config's).
    assertThat(reloads.get()).isEqualTo(1);
  }
}
