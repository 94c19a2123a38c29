package io.sluice.relay;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs a task on an event loop when woken from any thread, at most once per burst of wake-ups:
 * a producer appending events as fast as it can schedules one pull on the reader's loop, not one
 * per event.
 */
final class LoopWakeup {
  private final Executor loop;
  private final Runnable task;
  private final AtomicBoolean scheduled = new AtomicBoolean();

  LoopWakeup(Executor loop, Runnable task) {
    this.loop = loop;
    this.task = task;
  }

  /** Any thread: the task runs on the loop soon (once, however often this is called meanwhile). */
  void wake() {
    if (scheduled.compareAndSet(false, true)) {
      loop.execute(() -> {
        scheduled.set(false);
        task.run();
      });
    }
  }
}
