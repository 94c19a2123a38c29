package io.sluice.app;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads when the config changes. The folder, not the file, is watched: Kubernetes updates a
 * ConfigMap by swapping a symlink next to the file ({@code ..data}), and editors replace files by
 * renaming. Only the entries that can be config count (see {@link #concerns}): a log file written
 * next to the config (the gateway's own stdout redirected there, say) must not reload it on every
 * line — each reload logs a line, which would be a reload loop. Bursts of events are debounced
 * into one reload.
 *
 * <p>Threading: one daemon thread waits on the {@link WatchService}; reloads run on a second
 * daemon thread, never on an event loop.
 */
final class ConfigWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ConfigWatcher.class);

  private final WatchService watchService;
  private final ScheduledExecutorService reloads;
  private final Thread thread;
  private ScheduledFuture<?> pending;

  /** What a config folder holds besides the config: PEM certificates and keys, JWKS and key files. */
  private static final Set<String> CONFIG_EXTENSIONS =
      Set.of("yaml", "yml", "json", "pem", "crt", "cer", "key", "jwk", "jwks");

  private final Path configName;

  private ConfigWatcher(WatchService watchService, Path configFile, Duration debounce, Runnable reload) {
    this.watchService = watchService;
    this.configName = configFile.getFileName();
    Path folder = configFile.toAbsolutePath().getParent();
    this.reloads = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sluice-reload");
      t.setDaemon(true);
      return t;
    });
    this.thread = new Thread(() -> watch(debounce, reload), "sluice-config-watch");
    thread.setDaemon(true);
    thread.start();
    log.info("watching {} for config changes", folder);
  }

  static ConfigWatcher start(Path configFile, Duration debounce, Runnable reload) {
    Path folder = configFile.toAbsolutePath().getParent();
    try {
      WatchService ws = FileSystems.getDefault().newWatchService();
      folder.register(ws, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
          StandardWatchEventKinds.ENTRY_DELETE);
      return new ConfigWatcher(ws, configFile, debounce, reload);
    } catch (IOException e) {
      log.warn("cannot watch {} for config changes ({}); SIGHUP and POST /admin/reload still work",
          folder, e.toString());
      return null;
    }
  }

  private void watch(Duration debounce, Runnable reload) {
    try {
      while (true) {
        WatchKey key = watchService.take();
        boolean relevant = false;
        for (WatchEvent<?> event : key.pollEvents()) {
          // OVERFLOW (events lost) has no name: reload to be safe.
          relevant |= !(event.context() instanceof Path changed) || concerns(configName, changed);
        }
        key.reset();
        if (!relevant) {
          continue;
        }
        synchronized (this) {
          if (pending != null) {
            pending.cancel(false);
          }
          pending = reloads.schedule(reload, debounce.toMillis(), TimeUnit.MILLISECONDS);
        }
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // closed
    }
  }

  /**
   * Whether a change to {@code changed} (a name in the config's folder) may change the config:
   * the file itself, Kubernetes' {@code ..data} symlink swap, or a file of a kind a config refers
   * to (certificates, keys, other YAML). Logs, temporary and swap files do not count.
   */
  static boolean concerns(Path configName, Path changed) {
    String name = changed.getFileName().toString();
    if (changed.getFileName().equals(configName.getFileName()) || name.startsWith("..")) {
      return true;
    }
    int dot = name.lastIndexOf('.');
    return dot > 0 && CONFIG_EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
  }

  @Override
  public void close() {
    try {
      watchService.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    thread.interrupt();
    reloads.shutdownNow();
  }
}
