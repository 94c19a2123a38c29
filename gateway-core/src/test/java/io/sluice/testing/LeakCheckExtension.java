package io.sluice.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reported a leaked buffer while it ran. Registered for every class
 * by JUnit's extension auto-detection (see {@code junit-platform.properties}).
 *
 * <p>Leaks are only noticed when the garbage collector has cleared an unreleased buffer and the
 * detector next tracks a buffer, so this forces a few collections and allocations first.
 */
public final class LeakCheckExtension implements AfterAllCallback {
  @Override
  public void afterAll(ExtensionContext context) throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(20); // lets the reference handler enqueue cleared references; not a timing assertion
      for (int j = 0; j < 8; j++) {
        ByteBuf probe = PooledByteBufAllocator.DEFAULT.directBuffer(16);
        probe.release();
      }
    }
    if (!FailingLeakDetector.LEAKS.isEmpty()) {
      List<String> leaks = new ArrayList<>(FailingLeakDetector.LEAKS);
      FailingLeakDetector.LEAKS.clear();
      throw new AssertionError(
          leaks.size() + " Netty buffer leak(s) during " + context.getDisplayName() + ":\n"
              + String.join("\n", leaks));
    }
  }
}
