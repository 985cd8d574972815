package dev.panagrad.kernels;

import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The intra-op pool: every element once, fixed chunks, errors reach the caller. */
class ParallelTest {
  @Test
  void everyIndexIsVisitedExactlyOnce() {
    int n = (int) Parallel.MIN_ELEMENTS * 3 + 17;
    AtomicIntegerArray seen = new AtomicIntegerArray(n);
    Parallel.forRange(
        n,
        (lo, hi) -> {
          for (long i = lo; i < hi; i++) seen.incrementAndGet((int) i);
        });
    for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "index " + i);
  }

  /** forUnits splits even short work, and every chunk but the last is a multiple of the unit. */
  @Test
  void forUnitsSplitsOnUnits() {
    int before = Parallel.threads();
    try {
      Parallel.setThreads(2);
      long n = 1000, unit = 16;
      AtomicIntegerArray seen = new AtomicIntegerArray((int) n);
      java.util.List<long[]> chunks =
          java.util.Collections.synchronizedList(new java.util.ArrayList<>());
      Parallel.forUnits(
          n,
          unit,
          (lo, hi) -> {
            chunks.add(new long[] {lo, hi});
            for (long i = lo; i < hi; i++) seen.incrementAndGet((int) i);
          });
      for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "index " + i);
      assertEquals(2, chunks.size(), "one chunk per thread");
      for (long[] c : chunks) {
        assertTrue(c[0] % unit == 0, "chunk starts on a unit: " + c[0]);
        if (c[1] != n) assertEquals(512, c[1], "63 units, 32 to the first thread");
      }
      assertThrows(IllegalArgumentException.class, () -> Parallel.forUnits(n, 0, (lo, hi) -> {}));
    } finally {
      Parallel.setThreads(before);
    }
  }

  @Test
  void exceptionsInAChunkReachTheCaller() {
    long n = Parallel.MIN_ELEMENTS * 4;
    assertThrows(
        ArithmeticException.class,
        () ->
            Parallel.forRange(
                n,
                (lo, hi) -> {
                  if (hi == n) throw new ArithmeticException("last chunk");
                }));
  }

  @Test
  void resultsDoNotDependOnTheThreadCount() {
    int before = Parallel.threads();
    try {
      Torch.manualSeed(1);
      Tensor a = Torch.randn(300_001), b = Torch.randn(300_001);
      Parallel.setThreads(1);
      float[] one = a.mul(b).add(a).relu().toFloatArray();
      Parallel.setThreads(2);
      float[] two = a.mul(b).add(a).relu().toFloatArray();
      float[] again = a.mul(b).add(a).relu().toFloatArray();
      assertArrayEquals(one, two);
      assertArrayEquals(two, again);
    } finally {
      Parallel.setThreads(before);
    }
  }
}
