package dev.panagrad.testing;

import dev.panagrad.autograd.Tape;
import dev.panagrad.memory.MemoryStats;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Registered for every test class (service file + autodetection): fails a test after which native
 * live bytes are above their value before it. Tensors made outside scopes are freed by the garbage
 * collector, so it collects (a few times, briefly) before it judges.
 */
public final class LiveBytesExtension implements BeforeEachCallback, AfterEachCallback {
  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(LiveBytesExtension.class);

  @Override
  public void beforeEach(ExtensionContext context) {
    settle(Long.MIN_VALUE);
    context.getStore(NS).put("baseline", MemoryStats.liveBytes());
  }

  @Override
  public void afterEach(ExtensionContext context) {
    long baseline = context.getStore(NS).get("baseline", Long.class);
    long live = settle(baseline);
    if (live > baseline) {
      throw new AssertionError(
          "native memory leak: "
              + (live - baseline)
              + " live bytes more than before the test ("
              + MemoryStats.summary()
              + ")");
    }
  }

  /** Collects until live bytes reach {@code target} or stop falling; returns them. */
  static long settle(long target) {
    long live = MemoryStats.liveBytes();
    for (int i = 0; i < 50 && live > target; i++) {
      System.gc();
      try {
        Thread.sleep(i < 5 ? 2 : 20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      Tape.current().releaseCollected(); // graph rows of collected tensors free what they saved
      long now = MemoryStats.liveBytes();
      if (target == Long.MIN_VALUE && now == live && i > 2) break;
      live = now;
    }
    return live;
  }
}
