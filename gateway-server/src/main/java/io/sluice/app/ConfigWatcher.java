package io.sluice.app;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads when anything in the config file's folder changes. The folder, not the file, is
 * watched: Kubernetes updates a ConfigMap by swapping a symlink next to the file, and editors
 * replace files by renaming. Bursts of events are debounced into one reload.
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

  private ConfigWatcher(WatchService watchService, Path folder, Duration debounce, Runnable reload) {
    this.watchService = watchService;
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
      return new ConfigWatcher(ws, folder, debounce, reload);
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
        key.pollEvents();
        key.reset();
        synchronized (this) {
          if (pending != null) {
            pending.cancel(false);
          }
          pending = reloads.schedule(reload, debounce.toMillis(), TimeUnit.MILLISECONDS);
        }
      }
    } catch (InterruptedException | java.nio.file.ClosedWatchServiceException e) {
      // closed
    }
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
