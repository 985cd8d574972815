package dev.panagrad.blas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panagrad.Torch;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Gemm in this JVM, on whichever BLAS loads by default (OpenBLAS from Maven Central here). */
class GemmTest {

  @Test
  void agreesWithTheJavaKernel() {
    assertTrue(GemmChecks.checkAllAgainstJavaKernel() > 0);
  }

  @Test
  void tensorOpsAgreeWithADoubleLoop() {
    assertTrue(GemmChecks.checkTensorOps() > 0);
  }

  @Test
  void javaFloatSemanticsSurviveTheLibrary() {
    BlasLibrary.get();
    try (Arena arena = Arena.ofConfined()) {
      // run a native product with subnormal inputs, then check Java's own arithmetic
      MemorySegment a = arena.allocate(4 * 64 * 64, 64), c = arena.allocate(4 * 64 * 64, 64);
      for (int i = 0; i < 64 * 64; i++) a.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.MIN_NORMAL);
      Gemm.sgemm(false, false, 64, 64, 64, 0.5f, a, 0, 64, a, 0, 64, 0f, c, 0, 64);
    }
    GemmChecks.checkDenormals();
    assertTrue(GemmChecks.tinyF * GemmChecks.oneF != 0);
  }

  @Test
  void fourThreadsAtOnceEqualOneAtATime() throws Exception {
    int[][] shapes = {{7, 13, 5}, {33, 17, 29}, {128, 96, 80}, {300, 200, 150}};
    Random rnd = new Random(1);
    try (Arena arena = Arena.ofShared()) {
      List<MemorySegment[]> inputs = new ArrayList<>();
      List<float[]> serial = new ArrayList<>();
      for (int[] s : shapes) {
        MemorySegment a = GemmChecks.fill(arena, (long) s[0] * s[2], 4, rnd);
        MemorySegment b = GemmChecks.fill(arena, (long) s[2] * s[1], 4, rnd);
        inputs.add(new MemorySegment[] {a, b});
        MemorySegment c = arena.allocate(4L * s[0] * s[1], 64);
        Gemm.sgemm(false, true, s[0], s[1], s[2], 1f, a, 0, s[2], b, 0, s[2], 0f, c, 0, s[1]);
        serial.add(c.toArray(ValueLayout.JAVA_FLOAT));
      }
      ExecutorService pool = Executors.newFixedThreadPool(4);
      CyclicBarrier start = new CyclicBarrier(4);
      try {
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          fs.add(
              pool.submit(
                  () -> {
                    start.await();
                    try (Arena mine = Arena.ofConfined()) {
                      for (int rep = 0; rep < 10; rep++) {
                        for (int i = 0; i < shapes.length; i++) {
                          int[] s = shapes[i];
                          MemorySegment[] in = inputs.get(i);
                          MemorySegment c = mine.allocate(4L * s[0] * s[1], 64);
                          Gemm.sgemm(
                              false, true, s[0], s[1], s[2], 1f, in[0], 0, s[2], in[1], 0, s[2], 0f,
                              c, 0, s[1]);
                          assertArrayEquals(serial.get(i), c.toArray(ValueLayout.JAVA_FLOAT));
                        }
                      }
                    }
                    return null;
                  }));
        }
        for (Future<?> f : fs) f.get();
      } finally {
        pool.shutdownNow();
      }
    }
  }

  @Test
  void sameResultEveryTimeAtAFixedThreadCount() {
    try (Arena arena = Arena.ofConfined()) {
      Random rnd = new Random(3);
      MemorySegment a = GemmChecks.fill(arena, 257 * 193, 4, rnd);
      MemorySegment b = GemmChecks.fill(arena, 193 * 129, 4, rnd);
      MemorySegment c = arena.allocate(4 * 257 * 129, 64);
      Gemm.sgemm(false, false, 257, 129, 193, 1f, a, 0, 193, b, 0, 129, 0f, c, 0, 129);
      float[] first = c.toArray(ValueLayout.JAVA_FLOAT);
      for (int i = 0; i < 5; i++) {
        Gemm.sgemm(false, false, 257, 129, 193, 1f, a, 0, 193, b, 0, 129, 0f, c, 0, 129);
        assertArrayEquals(first, c.toArray(ValueLayout.JAVA_FLOAT));
      }
    }
  }

  // ------------------------------------------------------------------ argument checks

  /**
   * Asserts the call throws {@code type} with a message naming {@code what}, leaving C as it was.
   */
  private static void rejects(
      Class<? extends Throwable> type, String what, MemorySegment c, Executable call) {
    float[] before = c.toArray(ValueLayout.JAVA_FLOAT);
    Throwable t = assertThrows(type, call);
    assertTrue(
        t.getMessage().contains(what), "message should name " + what + ": " + t.getMessage());
    assertArrayEquals(before, c.toArray(ValueLayout.JAVA_FLOAT), "C was written");
  }

  @Test
  void misalignedAndHeapOperandsGiveTheAlignedResult() {
    // A operand one byte off float alignment, and a heap segment: neither may crash or differ
    // from the Java kernel on aligned native memory
    int m = 40, n = 20, k = 30;
    Random rnd = new Random(7);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment a = GemmChecks.fill(arena, m * k, 4, rnd);
      MemorySegment b = GemmChecks.fill(arena, k * n, 4, rnd);
      MemorySegment want = arena.allocate(4L * m * n, 64);
      Gemm.javaGemm(true, false, false, m, n, k, 1, a, 0, k, b, 0, n, 0, want, 0, n);
      float[] expected = want.toArray(ValueLayout.JAVA_FLOAT);

      MemorySegment odd = arena.allocate(4L * m * k + 1, 64).asSlice(1);
      MemorySegment.copy(a, 0, odd, 0, 4L * m * k);
      MemorySegment c = arena.allocate(4L * m * n, 64);
      Gemm.sgemm(false, false, m, n, k, 1f, odd, 0, k, b, 0, n, 0f, c, 0, n);
      assertArrayEquals(expected, c.toArray(ValueLayout.JAVA_FLOAT), 1e-5f);

      MemorySegment heapA = MemorySegment.ofArray(a.toArray(ValueLayout.JAVA_FLOAT));
      MemorySegment heapC = MemorySegment.ofArray(new float[m * n]);
      Gemm.sgemm(false, false, m, n, k, 1f, heapA, 0, k, b, 0, n, 0f, heapC, 0, n);
      assertArrayEquals(expected, heapC.toArray(ValueLayout.JAVA_FLOAT), 1e-5f);
    }
  }

  @Test
  void badSizesLeadingDimensionsAndOffsetsAreRejectedBeforeAnyCall() {
    try (Arena arena = Arena.ofConfined()) {
      Random rnd = new Random(5);
      // A 40 x 30, B 30 x 20, C 40 x 20: large enough that a valid call would go native
      MemorySegment a = GemmChecks.fill(arena, 40 * 30, 4, rnd);
      MemorySegment b = GemmChecks.fill(arena, 30 * 20, 4, rnd);
      MemorySegment c = GemmChecks.fill(arena, 40 * 20, 4, rnd);
      Class<IllegalArgumentException> arg = IllegalArgumentException.class;
      Class<IndexOutOfBoundsException> oob = IndexOutOfBoundsException.class;
      rejects(
          arg,
          "m must be >= 0",
          c,
          () -> Gemm.sgemm(false, false, -1, 20, 30, 1, a, 0, 30, b, 0, 20, 0, c, 0, 20));
      rejects(
          arg,
          "n must be >= 0",
          c,
          () -> Gemm.sgemm(false, false, 40, -2, 30, 1, a, 0, 30, b, 0, 20, 0, c, 0, 20));
      rejects(
          arg,
          "k must be >= 0",
          c,
          () -> Gemm.sgemm(false, false, 40, 20, -3, 1, a, 0, 30, b, 0, 20, 0, c, 0, 20));
      rejects(
          arg,
          "lda",
          c,
          () -> Gemm.sgemm(false, false, 40, 20, 30, 1, a, 0, 29, b, 0, 20, 0, c, 0, 20));
      rejects(
          arg,
          "lda",
          c,
          () -> Gemm.sgemm(true, false, 40, 20, 30, 1, a, 0, 39, b, 0, 20, 0, c, 0, 20));
      rejects(
          arg,
          "ldb",
          c,
          () -> Gemm.sgemm(false, false, 40, 20, 30, 1, a, 0, 30, b, 0, 19, 0, c, 0, 20));
      rejects(
          arg,
          "ldb",
          c,
          () -> Gemm.sgemm(false, true, 40, 20, 30, 1, a, 0, 30, b, 0, 29, 0, c, 0, 20));
      rejects(
          arg,
          "ldc",
          c,
          () -> Gemm.sgemm(false, false, 40, 20, 30, 1, a, 0, 30, b, 0, 20, 0, c, 0, 0));
      rejects(
          oob,
          "offA must be >= 0",
          c,
          () -> Gemm.sgemm(false, false, 40, 20, 30, 1, a, -1, 30, b, 0, 20, 0, c, 0, 20));
      rejects(
          oob,
          "offC",
          c,
          () -> Gemm.sgemm(false, false, 40, 20, 30, 1, a, 0, 30, b, 0, 20, 0, c, 801, 20));
      // one element too far: the offset, a larger leading dimension, a transpose that does not fit
      rejects(
          oob,
          "A (40 x 30",
          c,
          () -> Gemm.sgemm(false, false, 40, 20, 30, 1, a, 1, 30, b, 0, 20, 0, c, 0, 20));
      rejects(
          oob,
          "A (40 x 30",
          c,
          () -> Gemm.sgemm(false, false, 40, 20, 30, 1, a, 0, 31, b, 0, 20, 0, c, 0, 20));
      rejects(
          oob,
          "B (30 x 20",
          c,
          () -> Gemm.sgemm(false, false, 40, 20, 30, 1, a, 0, 30, b, 1, 20, 0, c, 0, 20));
      rejects(
          oob,
          "B (20 x 30",
          c,
          () -> Gemm.sgemm(false, true, 40, 20, 30, 1, a, 0, 30, b, 1, 30, 0, c, 0, 20));
      rejects(
          oob,
          "C (40 x 20",
          c,
          () -> Gemm.sgemm(false, false, 40, 20, 30, 1, a, 0, 30, b, 0, 20, 0, c, 0, 21));
      rejects(
          oob,
          "its segment holds 799",
          c,
          () ->
              Gemm.sgemm(
                  false,
                  false,
                  40,
                  20,
                  30,
                  1,
                  a,
                  0,
                  30,
                  b,
                  0,
                  20,
                  0,
                  c.asSlice(0, 4 * 799),
                  0,
                  20));
      rejects(
          oob,
          "is past the end of A",
          c,
          () ->
              Gemm.sgemm(
                  false, false, 40, 20, 30, 1, a, Long.MAX_VALUE - 5, 30, b, 0, 20, 0, c, 0, 20));
      // the same segment as input and output
      rejects(
          arg,
          "C overlaps A",
          a,
          () -> Gemm.sgemm(false, false, 20, 20, 30, 1, a, 0, 30, b, 0, 20, 0, a, 500, 20));
      rejects(
          arg,
          "read-only",
          c,
          () ->
              Gemm.sgemm(
                  false, false, 40, 20, 30, 1, a, 0, 30, b, 0, 20, 0, c.asReadOnly(), 0, 20));
      // float64 shares the checks, with 8-byte elements: the float32-sized A holds half as many
      rejects(
          oob,
          "600 (4800 bytes)",
          c,
          () -> Gemm.dgemm(false, false, 40, 20, 30, 1, a, 0, 30, b, 0, 20, 0, c, 0, 20));
    }
  }

  // ------------------------------------------------------------------ Torch

  @Test
  void configNamesTheBlasAndJava() {
    String config = Torch.config();
    assertTrue(config.contains("Java " + System.getProperty("java.version")), config);
    assertTrue(config.contains("BLAS"), config);
    assertTrue(config.contains("Threads: "), config);
    assertTrue(config.lines().count() >= 4, config);
  }

  @Test
  void numThreadsCanBeSet() {
    int before = Torch.getNumThreads();
    try {
      Torch.setNumThreads(1);
      assertEquals(1, Torch.getNumThreads());
      Torch.setNumThreads(2);
      assertEquals(2, Torch.getNumThreads());
      assertThrows(IllegalArgumentException.class, () -> Torch.setNumThreads(0));
    } finally {
      Torch.setNumThreads(before);
    }
  }

  // ------------------------------------------------------------------ concurrent products

  /** Which openblas_get_config() strings allow several threads to call at once. */
  @Test
  void onlyThreadedOpenBlasFromZeroThreeSevenOnTakesConcurrentCalls() {
    assertTrue(
        BlasLibrary.safeForConcurrentCalls(
            "OpenBLAS 0.3.30 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64"));
    assertTrue(
        BlasLibrary.safeForConcurrentCalls("OpenBLAS 0.3.7 NO_AFFINITY Haswell MAX_THREADS=8"));
    assertTrue(BlasLibrary.safeForConcurrentCalls("OpenBLAS 1.0.0 Zen MAX_THREADS=2"));
    // 0.3.0 to 0.3.6 raced; a single-threaded build, or no MAX_THREADS, says nothing of locking
    assertTrue(!BlasLibrary.safeForConcurrentCalls("OpenBLAS 0.3.6 Haswell MAX_THREADS=8"));
    assertTrue(!BlasLibrary.safeForConcurrentCalls("OpenBLAS 0.3.21 Haswell MAX_THREADS=1"));
    assertTrue(!BlasLibrary.safeForConcurrentCalls("OpenBLAS 0.3.21 Haswell"));
    assertTrue(!BlasLibrary.safeForConcurrentCalls("BLIS 1.0"));
    assertTrue(!BlasLibrary.safeForConcurrentCalls(null));
  }

  /**
   * Gemm.Ranged inside Gemm.concurrently: eight products at once over the pool, each equal to sgemm
   * at the same offsets; offsets outside the checked ranges, and runs outside concurrently, are
   * refused before any native call.
   */
  @Test
  void rangedProductsRunConcurrentlyAndCheckTheirOffsets() {
    org.junit.jupiter.api.Assumptions.assumeTrue(Gemm.concurrentProducts(1 << 20));
    int m = 24, n = 40, k = 33, count = 8;
    Random rnd = new Random(3);
    try (Arena arena = Arena.ofShared()) {
      MemorySegment a = arena.allocate(4L * m * k, 64);
      MemorySegment b = arena.allocate(4L * count * k * n, 64);
      MemorySegment c = arena.allocate(4L * count * m * n, 64);
      MemorySegment want = arena.allocate(4L * count * m * n, 64);
      for (long i = 0; i < a.byteSize() / 4; i++)
        a.setAtIndex(ValueLayout.JAVA_FLOAT, i, rnd.nextFloat() - 0.5f);
      for (long i = 0; i < b.byteSize() / 4; i++)
        b.setAtIndex(ValueLayout.JAVA_FLOAT, i, rnd.nextFloat() - 0.5f);
      long kn = (long) k * n, mn = (long) m * n;
      Gemm.Ranged r =
          new Gemm.Ranged()
              .set(
                  false,
                  false,
                  m,
                  n,
                  k,
                  1f,
                  a,
                  0,
                  0,
                  k,
                  b,
                  0,
                  (count - 1) * kn,
                  n,
                  0f,
                  c,
                  0,
                  (count - 1) * mn,
                  n);
      dev.panagrad.kernels.Parallel.Range each =
          (i0, i1) -> {
            for (long i = i0; i < i1; i++) r.run(0, i * kn, i * mn);
          };
      Gemm.concurrently(() -> dev.panagrad.kernels.Parallel.forItems(count, 1 << 20, each));
      for (int i = 0; i < count; i++) {
        Gemm.sgemm(false, false, m, n, k, 1f, a, 0, k, b, i * kn, n, 0f, want, i * mn, n);
      }
      for (long i = 0; i < count * mn; i++) {
        assertEquals(
            want.getAtIndex(ValueLayout.JAVA_FLOAT, i),
            c.getAtIndex(ValueLayout.JAVA_FLOAT, i),
            "element " + i);
      }
      assertThrows(
          IndexOutOfBoundsException.class, () -> Gemm.concurrently(() -> r.run(0, count * kn, 0)));
      assertThrows(IndexOutOfBoundsException.class, () -> Gemm.concurrently(() -> r.run(1, 0, 0)));
      assertThrows(IllegalStateException.class, () -> r.run(0, 0, 0));
      // a product not aimed yet refuses to run
      Gemm.Ranged unset = new Gemm.Ranged();
      assertThrows(IllegalStateException.class, () -> Gemm.concurrently(() -> unset.run(0, 0, 0)));
      // a range that runs past B's end is refused when the product is aimed
      assertThrows(
          IndexOutOfBoundsException.class,
          () -> r.set(false, false, m, n, k, 1f, a, 0, 0, k, b, 0, count * kn, n, 0f, c, 0, 0, n));
      // C's range reaching into B's is refused
      assertThrows(
          IllegalArgumentException.class,
          () -> r.set(false, false, m, n, k, 1f, a, 0, 0, k, b, 0, 0, n, 0f, b, kn - 1, 2 * kn, n));
      // a refused aim leaves the product as it was: its old ranges still run, and only them
      Gemm.concurrently(() -> r.run(0, (count - 1) * kn, (count - 1) * mn));
      assertThrows(
          IndexOutOfBoundsException.class, () -> Gemm.concurrently(() -> r.run(0, count * kn, 0)));
    }
  }

  /**
   * A product run as row blocks at once, one per pool thread (Prepared.runRows inside
   * concurrently), gives the whole product's bits exactly when {@code rowBlocksKeepBits} says so
   * (OpenBLAS 0.3.30 on an AVX-512 AMD EPYC picks kernels that do not always): W1's two products
   * and ragged shapes, every transpose; rows outside the product, and runs outside concurrently,
   * are refused.
   */
  @Test
  void rowBlocksKeepTheWholeProductsBitsExactlyWhenTheProbeSaysSo() {
    org.junit.jupiter.api.Assumptions.assumeTrue(Gemm.concurrentProducts(1 << 20));
    int[][] shapes = {{64, 100, 1000}, {1000, 100, 64}, {333, 77, 129}, {96, 48, 300}};
    Random rnd = new Random(5);
    try (Arena arena = Arena.ofShared()) {
      for (int[] s : shapes) {
        int m = s[0], n = s[1], k = s[2];
        for (int t = 0; t < 4; t++) {
          boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
          MemorySegment a = GemmChecks.fill(arena, (long) m * k, 4, rnd);
          MemorySegment b = GemmChecks.fill(arena, (long) k * n, 4, rnd);
          MemorySegment whole = arena.allocate(4L * m * n, 64);
          MemorySegment split = arena.allocate(4L * m * n, 64);
          int lda = ta ? m : k, ldb = tb ? k : n;
          Gemm.Prepared w =
              new Gemm.Prepared(true, ta, tb, m, n, k, 1, a, 0, lda, b, 0, ldb, 0, whole, 0, n);
          Gemm.Prepared p =
              new Gemm.Prepared(true, ta, tb, m, n, k, 1, a, 0, lda, b, 0, ldb, 0, split, 0, n);
          assertTrue(p.splitsByRows(), "splits: " + m + "x" + n + "x" + k);
          w.run();
          Gemm.concurrently(
              () ->
                  dev.panagrad.kernels.Parallel.forUnits(
                      m, 16, (r0, r1) -> p.runRows((int) r0, (int) r1)));
          String shape = m + "x" + n + "x" + k + " transA " + ta + " transB " + tb;
          // Whether the blocks keep the bits is the BLAS's kernel choice: the probe must say so.
          assertEquals(
              whole.mismatch(split) < 0, p.rowBlocksKeepBits(16), "the probe's verdict, " + shape);
          assertThrows(IllegalStateException.class, () -> p.runRows(0, 1));
          assertThrows(
              IndexOutOfBoundsException.class, () -> Gemm.concurrently(() -> p.runRows(0, m + 1)));
          assertThrows(
              IndexOutOfBoundsException.class, () -> Gemm.concurrently(() -> p.runRows(2, 1)));
        }
      }
    }
  }
}
