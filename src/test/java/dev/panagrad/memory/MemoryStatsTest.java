package dev.panagrad.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The live counts kept per thread (Note [Counts per thread] in {@link MemoryStats}). */
class MemoryStatsTest {
  private static final long FLOATS = 1000; // 4,000 bytes a tensor

  /** Runs {@code body} on a new thread and waits for the thread to end. */
  private static void onThreadThatEnds(Runnable body) throws InterruptedException {
    Thread t = new Thread(body);
    t.start();
    t.join();
  }

  @Test
  void storagesOfAThreadThatEndedAreStillCounted() throws InterruptedException {
    long before = MemoryStats.liveBytes();
    long countBefore = MemoryStats.liveCount();
    AtomicLong insideScope = new AtomicLong();
    List<Tensor> kept = new ArrayList<>();
    onThreadThatEnds(
        () -> {
          try (Scope s = Scope.open()) {
            Tensor a = Tensor.empty(DType.FLOAT32, FLOATS);
            Tensor.empty(DType.FLOAT32, FLOATS);
            insideScope.set(MemoryStats.liveBytes() - before);
            kept.add(s.keep(a)); // out of the outermost scope: the garbage collector's now
          }
        });
    assertEquals(2 * 4 * FLOATS, insideScope.get(), "two tensors live inside the scope");
    assertEquals(
        before + 4 * FLOATS, MemoryStats.liveBytes(), "the kept tensor outlives its thread");
    assertEquals(countBefore + 1, MemoryStats.liveCount());
    kept.clear(); // the Cleaner releases it; LiveBytesExtension checks the count comes back
  }

  @Test
  void scopesOnManyThreadsLeaveNoSharesBehind() throws InterruptedException {
    long before = MemoryStats.liveBytes();
    int sharesBefore = MemoryStats.shareCount();
    for (int i = 0; i < 50; i++) {
      onThreadThatEnds(
          () -> {
            for (int step = 0; step < 20; step++) {
              try (Scope s = Scope.open()) {
                Tensor.empty(DType.FLOAT32, FLOATS);
              }
            }
          });
    }
    for (int step = 0; step < 1000; step++) {
      try (Scope s = Scope.open()) {
        Tensor.empty(DType.FLOAT32, FLOATS);
      }
    }
    assertEquals(before, MemoryStats.liveBytes());
    assertTrue(
        MemoryStats.shareCount() <= sharesBefore + 1,
        "shares of ended threads are folded: " + MemoryStats.shareCount() + " vs " + sharesBefore);
  }
}
