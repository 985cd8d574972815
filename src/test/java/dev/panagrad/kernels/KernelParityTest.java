package dev.panagrad.kernels;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The Vector API kernels against the scalar ones (the oracle), at every vector width, over awkward
 * sizes and boundary values. Runs where the Vector API module is loaded.
 */
class KernelParityTest {
  static final int[] SIZES = {0, 1, 7, 15, 16, 17, 31, 33, 63, 65, 127, 129, 1023, 1025, 4097};
  static final int[] BITS = {128, 256, 512};
  static final float[] SPECIAL = {
    Float.NaN,
    Float.POSITIVE_INFINITY,
    Float.NEGATIVE_INFINITY,
    -0f,
    0f,
    Float.MIN_VALUE,
    -Float.MIN_VALUE,
    1e-40f
  };
  static final Kernels SCALAR = new ScalarKernels();

  static boolean vectorModule() {
    return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  }

  /** The Vector API kernels at this JVM's width (-Dpanagrad.vectorBitSize). */
  static Kernels vector() throws Exception {
    return (Kernels)
        Class.forName("dev.panagrad.kernels.vector.VectorKernels")
            .getDeclaredConstructor()
            .newInstance();
  }

  // The kernels read shared-arena memory here, the kind the library's pool hands out (tests of
  // other classes in this JVM run the same compiled kernels afterwards). C2 compiles a Vector API
  // loop for the kinds of segment it has seen; after a confined arena's segments, the adam and
  // rmsprop loops (four segments or more) boxed their vectors on the pool's memory for good, and
  // the replay tests counted megabytes a step.

  /** Random values with the special ones sprinkled in, at element offset 3 (unaligned). */
  static MemorySegment floats(Arena arena, int n, long seed, boolean positive) {
    MemorySegment s = arena.allocate((n + 3L) * 4, 64);
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) {
      float v = (float) (r.nextDouble() * 8 - 4);
      if (positive) v = Math.abs(v) + 0.01f;
      if (i % 13 == 5) v = SPECIAL[(i / 13) % SPECIAL.length];
      s.setAtIndex(ValueLayout.JAVA_FLOAT, i + 3, v);
    }
    return s;
  }

  static MemorySegment doubles(Arena arena, int n, long seed) {
    MemorySegment s = arena.allocate((n + 3L) * 8, 64);
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) {
      double v = r.nextDouble() * 8 - 4;
      if (i % 13 == 5) v = SPECIAL[(i / 13) % SPECIAL.length];
      s.setAtIndex(ValueLayout.JAVA_DOUBLE, i + 3, v);
    }
    return s;
  }

  /** Bit-identical (any NaN matches any NaN): every kernel must equal the scalar one exactly. */
  static boolean same(float want, float got) {
    if (Float.isNaN(want)) return Float.isNaN(got);
    return Float.floatToIntBits(want) == Float.floatToIntBits(got);
  }

  @TestFactory
  Stream<DynamicTest> floatOpsMatchTheScalarKernels() throws Exception {
    assumeTrue(vectorModule(), "the Vector API module is not loaded in this run");
    List<DynamicTest> tests = new ArrayList<>();
    Kernels v = vector();
    String bits = v.name();
    {
      for (int n : SIZES) {
        for (BinaryOp op : BinaryOp.values()) {
          for (int[] strides : new int[][] {{1, 1}, {1, 0}, {0, 1}}) {
            tests.add(
                DynamicTest.dynamicTest(
                    bits + " " + op + " n=" + n + " strides=" + strides[0] + "," + strides[1],
                    () -> {
                      try (Arena arena = Arena.ofShared()) {
                        MemorySegment a = floats(arena, n, 1, false),
                            b = floats(arena, n, 2, false);
                        MemorySegment want = arena.allocate(n * 4L + 4),
                            got = arena.allocate(n * 4L + 4);
                        SCALAR.binaryF(op, a, 3, strides[0], b, 3, strides[1], want, 0, n, 0.5f);
                        v.binaryF(op, a, 3, strides[0], b, 3, strides[1], got, 0, n, 0.5f);
                        for (int i = 0; i < n; i++) {
                          float w = want.getAtIndex(ValueLayout.JAVA_FLOAT, i),
                              g = got.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                          assertTrue(same(w, g), "index " + i + ": scalar " + w + ", vector " + g);
                        }
                      }
                    }));
          }
        }
        for (UnaryOp op : UnaryOp.values()) {
          tests.add(
              DynamicTest.dynamicTest(
                  bits + " " + op + " n=" + n,
                  () -> {
                    try (Arena arena = Arena.ofShared()) {
                      boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT;
                      MemorySegment a = floats(arena, n, 3, positive);
                      MemorySegment want = arena.allocate(n * 4L + 4),
                          got = arena.allocate(n * 4L + 4);
                      SCALAR.unaryF(op, a, 3, want, 0, n, -0.5f, 0.75f);
                      v.unaryF(op, a, 3, got, 0, n, -0.5f, 0.75f);
                      for (int i = 0; i < n; i++) {
                        float w = want.getAtIndex(ValueLayout.JAVA_FLOAT, i),
                            g = got.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                        assertTrue(
                            same(w, g), op + " index " + i + ": scalar " + w + ", vector " + g);
                      }
                    }
                  }));
        }
        for (boolean momentum : new boolean[] {false, true}) {
          for (boolean nesterov : new boolean[] {false, true}) {
            for (float wd : new float[] {0f, 1e-2f}) {
              if (nesterov && !momentum) continue;
              tests.add(
                  DynamicTest.dynamicTest(
                      bits
                          + " sgd n="
                          + n
                          + " momentum="
                          + momentum
                          + " nesterov="
                          + nesterov
                          + " wd="
                          + wd,
                      () -> sgdMatches(v, n, momentum, nesterov, wd)));
            }
          }
        }
        for (boolean ams : new boolean[] {false, true}) {
          for (float l2 : new float[] {0f, 1e-2f}) {
            for (float scale : new float[] {1f, 0.999f}) {
              tests.add(
                  DynamicTest.dynamicTest(
                      bits + " adam n=" + n + " amsgrad=" + ams + " l2=" + l2 + " scale=" + scale,
                      () -> adamMatches(v, n, ams, l2, scale)));
            }
          }
        }
        for (boolean centered : new boolean[] {false, true}) {
          for (boolean momentum : new boolean[] {false, true}) {
            for (float wd : new float[] {0f, 1e-2f}) {
              tests.add(
                  DynamicTest.dynamicTest(
                      bits
                          + " rmsprop n="
                          + n
                          + " centered="
                          + centered
                          + " momentum="
                          + momentum
                          + " wd="
                          + wd,
                      () -> rmspropMatches(v, n, centered, momentum, wd)));
            }
          }
        }
        for (boolean log : new boolean[] {false, true}) {
          tests.add(
              DynamicTest.dynamicTest(
                  bits + (log ? " log_softmax" : " softmax") + " rows n=" + n,
                  () -> softmaxMatches(v, n, log)));
        }
        tests.add(
            DynamicTest.dynamicTest(
                bits + " log_softmax backward rows n=" + n, () -> logSoftmaxBackwardMatches(v, n)));
        tests.add(
            DynamicTest.dynamicTest(bits + " nll_loss pick n=" + n, () -> nllPickMatches(v, n)));
        tests.add(
            DynamicTest.dynamicTest(
                bits + " sumFixedOrder n=" + n, () -> sumFixedOrderMatches(v, n)));
        tests.add(
            DynamicTest.dynamicTest(
                bits + " sumF/sumD n=" + n,
                () -> {
                  try (Arena arena = Arena.ofShared()) {
                    SplittableRandom r = new SplittableRandom(n);
                    MemorySegment a = arena.allocate((n + 3L) * 4),
                        d = arena.allocate((n + 3L) * 8);
                    for (int i = 0; i < n; i++) {
                      double x = r.nextDouble() - 0.5;
                      a.setAtIndex(ValueLayout.JAVA_FLOAT, i + 3, (float) x);
                      d.setAtIndex(ValueLayout.JAVA_DOUBLE, i + 3, x);
                    }
                    assertEquals(SCALAR.sumF(a, 3, n), v.sumF(a, 3, n), 1e-5 * Math.max(1, n));
                    assertEquals(SCALAR.sumD(d, 3, n), v.sumD(d, 3, n), 1e-12 * Math.max(1, n));
                    // the same call twice gives the same bits: the order is fixed
                    assertEquals(v.sumF(a, 3, n), v.sumF(a, 3, n));
                  }
                }));
      }
    }
    return tests.stream();
  }

  /**
   * The fused SGD update writes the parameter and the momentum buffer; both must equal the scalar
   * kernel's bit for bit, in float32 and float64, from the same starting values.
   */
  static void sgdMatches(Kernels v, int n, boolean momentum, boolean nesterov, float wd) {
    try (Arena arena = Arena.ofShared()) {
      MemorySegment g = floats(arena, n, 6, false), g64 = doubles(arena, n, 7);
      MemorySegment[] w = {floats(arena, n, 8, false), floats(arena, n, 8, false)};
      MemorySegment[] b = {floats(arena, n, 9, false), floats(arena, n, 9, false)};
      MemorySegment[] w64 = {doubles(arena, n, 10), doubles(arena, n, 10)};
      MemorySegment[] b64 = {doubles(arena, n, 11), doubles(arena, n, 11)};
      Kernels[] ks = {SCALAR, v};
      for (int k = 0; k < 2; k++) {
        MemorySegment buf = momentum ? b[k] : null, buf64 = momentum ? b64[k] : null;
        ks[k].sgdF(w[k], 3, g, 3, buf, 3, n, -0.1f, 0.9f, 0.75f, wd, nesterov);
        ks[k].sgdD(w64[k], 3, g64, 3, buf64, 3, n, -0.1, 0.9, 0.75, wd, nesterov);
      }
      for (int i = 0; i < n; i++) {
        for (MemorySegment[] pair : new MemorySegment[][] {w, b}) {
          float want = pair[0].getAtIndex(ValueLayout.JAVA_FLOAT, i + 3),
              got = pair[1].getAtIndex(ValueLayout.JAVA_FLOAT, i + 3);
          assertTrue(same(want, got), "sgdF index " + i + ": scalar " + want + ", vector " + got);
        }
      }
      assertEquals(-1L, w64[0].mismatch(w64[1]), "sgdD parameters");
      assertEquals(-1L, b64[0].mismatch(b64[1]), "sgdD momentum buffers");
    }
  }

  /** Both kernels from the same starting copies; every written array must match bit for bit. */
  static void assertSameFloats(MemorySegment[] pair, int n, String what) {
    for (int i = 0; i < n; i++) {
      float want = pair[0].getAtIndex(ValueLayout.JAVA_FLOAT, i + 3),
          got = pair[1].getAtIndex(ValueLayout.JAVA_FLOAT, i + 3);
      assertTrue(same(want, got), what + " index " + i + ": scalar " + want + ", vector " + got);
    }
  }

  static void assertSameDoubles(MemorySegment[] pair, int n, String what) {
    for (int i = 0; i < n; i++) {
      double want = pair[0].getAtIndex(ValueLayout.JAVA_DOUBLE, i + 3),
          got = pair[1].getAtIndex(ValueLayout.JAVA_DOUBLE, i + 3);
      assertTrue(sameD(want, got), what + " index " + i + ": scalar " + want + ", vector " + got);
    }
  }

  static boolean sameD(double want, double got) {
    if (Double.isNaN(want)) return Double.isNaN(got);
    return Double.doubleToLongBits(want) == Double.doubleToLongBits(got);
  }

  /** Two equal copies of float values (second moments positive, as they are in Adam). */
  static MemorySegment[] floatPair(Arena arena, int n, long seed, boolean positive) {
    return new MemorySegment[] {floats(arena, n, seed, positive), floats(arena, n, seed, positive)};
  }

  static MemorySegment[] doublePair(Arena arena, int n, long seed, boolean positive) {
    MemorySegment[] pair = {doubles(arena, n, seed), doubles(arena, n, seed)};
    if (positive) {
      for (MemorySegment s : pair) {
        for (int i = 0; i < n; i++) {
          double x = s.getAtIndex(ValueLayout.JAVA_DOUBLE, i + 3);
          s.setAtIndex(ValueLayout.JAVA_DOUBLE, i + 3, Math.abs(x) + 0.01);
        }
      }
    }
    return pair;
  }

  /**
   * Adam's update writes the parameter, both moments and, with amsgrad, their maximum: all equal
   * the scalar kernel's bits, in float32 and float64. Step sizes as at step 3 of lr 1e-2.
   */
  static void adamMatches(Kernels v, int n, boolean ams, float l2, float scale) {
    double b1 = 0.9, b2 = 0.999, step = -1e-2 / (1 - Math.pow(b1, 3));
    double bc = Math.sqrt(1 - Math.pow(b2, 3));
    try (Arena arena = Arena.ofShared()) {
      MemorySegment g = floats(arena, n, 12, false), g64 = doubles(arena, n, 13);
      MemorySegment[] w = floatPair(arena, n, 14, false), m = floatPair(arena, n, 15, false);
      MemorySegment[] sq = floatPair(arena, n, 16, true), mx = floatPair(arena, n, 17, true);
      MemorySegment[] w64 = doublePair(arena, n, 18, false), m64 = doublePair(arena, n, 19, false);
      MemorySegment[] sq64 = doublePair(arena, n, 20, true), mx64 = doublePair(arena, n, 21, true);
      Kernels[] ks = {SCALAR, v};
      for (int k = 0; k < 2; k++) {
        ks[k].adamF(
            w[k],
            3,
            g,
            3,
            m[k],
            3,
            sq[k],
            3,
            ams ? mx[k] : null,
            3,
            n,
            (float) b1,
            (float) (1 - b1),
            (float) b2,
            (float) (1 - b2),
            1e-8f,
            l2,
            scale,
            (float) bc,
            (float) step);
        ks[k].adamD(
            w64[k],
            3,
            g64,
            3,
            m64[k],
            3,
            sq64[k],
            3,
            ams ? mx64[k] : null,
            3,
            n,
            b1,
            1 - b1,
            b2,
            1 - b2,
            1e-8,
            l2,
            scale,
            bc,
            step);
      }
      assertSameFloats(w, n, "adamF parameters");
      assertSameFloats(m, n, "adamF exp_avg");
      assertSameFloats(sq, n, "adamF exp_avg_sq");
      assertSameFloats(mx, n, "adamF max_exp_avg_sq");
      assertSameDoubles(w64, n, "adamD parameters");
      assertSameDoubles(m64, n, "adamD exp_avg");
      assertSameDoubles(sq64, n, "adamD exp_avg_sq");
      assertSameDoubles(mx64, n, "adamD max_exp_avg_sq");
    }
  }

  /** RMSprop's update: parameter, square average, gradient average and momentum buffer. */
  static void rmspropMatches(Kernels v, int n, boolean centered, boolean momentum, float wd) {
    try (Arena arena = Arena.ofShared()) {
      MemorySegment g = floats(arena, n, 22, false), g64 = doubles(arena, n, 23);
      MemorySegment[] w = floatPair(arena, n, 24, false), sq = floatPair(arena, n, 25, true);
      MemorySegment[] ga = floatPair(arena, n, 26, false), b = floatPair(arena, n, 27, false);
      MemorySegment[] w64 = doublePair(arena, n, 28, false), sq64 = doublePair(arena, n, 29, true);
      MemorySegment[] ga64 = doublePair(arena, n, 30, false), b64 = doublePair(arena, n, 31, false);
      Kernels[] ks = {SCALAR, v};
      for (int k = 0; k < 2; k++) {
        ks[k].rmspropF(
            w[k],
            3,
            g,
            3,
            sq[k],
            3,
            centered ? ga[k] : null,
            3,
            momentum ? b[k] : null,
            3,
            n,
            0.99f,
            (float) (1 - 0.99),
            1e-8f,
            wd,
            0.9f,
            -1e-2f);
        ks[k].rmspropD(
            w64[k],
            3,
            g64,
            3,
            sq64[k],
            3,
            centered ? ga64[k] : null,
            3,
            momentum ? b64[k] : null,
            3,
            n,
            0.99,
            1 - 0.99,
            1e-8,
            wd,
            0.9,
            -1e-2);
      }
      assertSameFloats(w, n, "rmspropF parameters");
      assertSameFloats(sq, n, "rmspropF square_avg");
      assertSameFloats(ga, n, "rmspropF grad_avg");
      assertSameFloats(b, n, "rmspropF momentum_buffer");
      assertSameDoubles(w64, n, "rmspropD parameters");
      assertSameDoubles(sq64, n, "rmspropD square_avg");
      assertSameDoubles(ga64, n, "rmspropD grad_avg");
      assertSameDoubles(b64, n, "rmspropD momentum_buffer");
    }
  }

  /**
   * Rows of n values: row 0 plain, row 1 spread over +-80 (exponentials far apart), then one row
   * per special value, placed at a different column each time; a NaN or +inf makes its row NaN,
   * -inf gives 0 (log: -inf) in its column.
   */
  static double[] softmaxRows(int n, int rows) {
    double[] a = new double[rows * n];
    SplittableRandom r = new SplittableRandom(n);
    for (int row = 0; row < rows; row++) {
      for (int j = 0; j < n; j++) a[row * n + j] = (r.nextDouble() * 8 - 4) * (row == 1 ? 20 : 1);
      if (row >= 2 && n > 0) a[row * n + (row * 5) % n] = SPECIAL[row - 2];
    }
    return a;
  }

  /** softmaxRowsF/D: every row's outputs equal the scalar kernel's bit for bit. */
  static void softmaxMatches(Kernels v, int n, boolean log) {
    int rows = 2 + SPECIAL.length;
    double[] values = softmaxRows(n, rows);
    try (Arena arena = Arena.ofShared()) {
      MemorySegment x = arena.allocate((rows * n + 3L) * 4),
          x64 = arena.allocate((rows * n + 3L) * 8);
      for (int i = 0; i < values.length; i++) {
        x.setAtIndex(ValueLayout.JAVA_FLOAT, i + 3, (float) values[i]);
        x64.setAtIndex(ValueLayout.JAVA_DOUBLE, i + 3, values[i]);
      }
      MemorySegment[] y = {
        arena.allocate((rows * n + 3L) * 4), arena.allocate((rows * n + 3L) * 4)
      };
      MemorySegment[] y64 = {
        arena.allocate((rows * n + 3L) * 8), arena.allocate((rows * n + 3L) * 8)
      };
      Kernels[] ks = {SCALAR, v};
      for (int k = 0; k < 2; k++) {
        double[] work = new double[n + 5];
        ks[k].softmaxRowsF(x, 3, y[k], 3, rows, n, log, work);
        ks[k].softmaxRowsD(x64, 3, y64[k], 3, rows, n, log, work);
      }
      String what = (log ? "log_softmax" : "softmax") + " rows of " + n;
      assertSameFloats(y, rows * n, what + " float32");
      assertSameDoubles(y64, rows * n, what + " float64");
    }
  }

  /**
   * logSoftmaxBackwardRowsF/D: every row's gradient equals the scalar kernel's bit for bit. y takes
   * {@link #softmaxRows}' values (exponentials far apart, the special values), g a row of ordinary
   * values and one with a special value of its own.
   */
  static void logSoftmaxBackwardMatches(Kernels v, int n) {
    int rows = 2 + SPECIAL.length;
    double[] ys = softmaxRows(n, rows);
    SplittableRandom r = new SplittableRandom(n + 1);
    try (Arena arena = Arena.ofShared()) {
      long floats = rows * (long) n + 3;
      MemorySegment y = arena.allocate(floats * 4), y64 = arena.allocate(floats * 8);
      MemorySegment g = arena.allocate(floats * 4), g64 = arena.allocate(floats * 8);
      for (int i = 0; i < ys.length; i++) {
        double gv =
            i / Math.max(n, 1) == rows - 1 && i % Math.max(n, 1) == 0
                ? SPECIAL[0]
                : r.nextDouble() * 2 - 1;
        y.setAtIndex(ValueLayout.JAVA_FLOAT, i + 3, (float) ys[i]);
        y64.setAtIndex(ValueLayout.JAVA_DOUBLE, i + 3, ys[i]);
        g.setAtIndex(ValueLayout.JAVA_FLOAT, i + 3, (float) gv);
        g64.setAtIndex(ValueLayout.JAVA_DOUBLE, i + 3, gv);
      }
      MemorySegment[] gi = {arena.allocate(floats * 4), arena.allocate(floats * 4)};
      MemorySegment[] gi64 = {arena.allocate(floats * 8), arena.allocate(floats * 8)};
      Kernels[] ks = {SCALAR, v};
      for (int k = 0; k < 2; k++) {
        double[] work = new double[n + 5];
        ks[k].logSoftmaxBackwardRowsF(g, 3, y, 3, gi[k], 3, rows, n, work);
        ks[k].logSoftmaxBackwardRowsD(g64, 3, y64, 3, gi64[k], 3, rows, n, work);
      }
      String what = "log_softmax backward rows of " + n;
      assertSameFloats(gi, rows * n, what + " float32");
      assertSameDoubles(gi64, rows * n, what + " float64");
    }
  }

  /** nll_loss's pick: the picked values and the count of targets not ignored. */
  static void nllPickMatches(Kernels v, int n) {
    int cls = 7;
    try (Arena arena = Arena.ofShared()) {
      MemorySegment x = floats(arena, n * cls, 32, false), x64 = doubles(arena, n * cls, 33);
      MemorySegment t = arena.allocate(n * 8L + 8);
      SplittableRandom r = new SplittableRandom(n);
      for (int i = 0; i < n; i++) {
        t.setAtIndex(ValueLayout.JAVA_LONG, i + 1, i % 5 == 2 ? -100 : r.nextInt(cls));
      }
      double[][] picked = new double[4][n];
      int[] counts = new int[4];
      Kernels[] ks = {SCALAR, v};
      for (int k = 0; k < 2; k++) {
        counts[k] = ks[k].nllPickF(x, 3, cls, t, 1, n, -100, picked[k]);
        counts[k + 2] = ks[k].nllPickD(x64, 3, cls, t, 1, n, -100, picked[k + 2]);
      }
      assertEquals(counts[0], counts[1], "float32 count");
      assertEquals(counts[2], counts[3], "float64 count");
      assertEquals(n - (n + 2) / 5, counts[0], "every fifth target, from the third, is ignored");
      for (int i = 0; i < n; i++) {
        assertTrue(sameD(picked[0][i], picked[1][i]), "nllPickF index " + i);
        assertTrue(sameD(picked[2][i], picked[3][i]), "nllPickD index " + i);
      }
    }
  }

  /**
   * The fixed-order sum: vector equals scalar bit for bit on values spanning many magnitudes and on
   * the special values; on small integers (exact in any order) it is the exact sum.
   */
  static void sumFixedOrderMatches(Kernels v, int n) {
    SplittableRandom r = new SplittableRandom(n);
    double[] a = new double[n + 3], ints = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = (r.nextDouble() - 0.5) * Math.pow(10, r.nextInt(-8, 9));
      ints[i] = i + 1;
    }
    double want = SCALAR.sumFixedOrder(a, n), got = v.sumFixedOrder(a, n);
    assertTrue(sameD(want, got), "scalar " + want + ", vector " + got);
    assertEquals((double) n * (n + 1) / 2, v.sumFixedOrder(ints, n));
    assertEquals((double) n * (n + 1) / 2, SCALAR.sumFixedOrder(ints, n));
    for (float special : SPECIAL) {
      if (n == 0) break;
      a[n / 2] = special;
      want = SCALAR.sumFixedOrder(a, n);
      got = v.sumFixedOrder(a, n);
      assertTrue(sameD(want, got), special + ": scalar " + want + ", vector " + got);
    }
  }

  @Test
  void doubleOpsMatchTheScalarKernels() throws Exception {
    assumeTrue(vectorModule(), "the Vector API module is not loaded in this run");
    Kernels v = vector();
    String bits = v.name();
    {
      for (int n : SIZES) {
        try (Arena arena = Arena.ofShared()) {
          MemorySegment a = doubles(arena, n, 4), b = doubles(arena, n, 5);
          MemorySegment want = arena.allocate(n * 8L + 8), got = arena.allocate(n * 8L + 8);
          for (BinaryOp op : BinaryOp.values()) {
            SCALAR.binaryD(op, a, 3, 1, b, 3, 1, want, 0, n, 0.5);
            v.binaryD(op, a, 3, 1, b, 3, 1, got, 0, n, 0.5);
            assertEquals(-1L, want.mismatch(got), bits + " " + op + " n=" + n);
          }
          for (UnaryOp op : UnaryOp.values()) {
            SCALAR.unaryD(op, a, 3, want, 0, n, -0.5, 0.75);
            v.unaryD(op, a, 3, got, 0, n, -0.5, 0.75);
            for (int i = 0; i < n; i++) {
              double w = want.getAtIndex(ValueLayout.JAVA_DOUBLE, i),
                  g = got.getAtIndex(ValueLayout.JAVA_DOUBLE, i);
              assertTrue(
                  Double.isNaN(w)
                      ? Double.isNaN(g)
                      : Double.doubleToLongBits(w) == Double.doubleToLongBits(g),
                  bits + " " + op + " n=" + n + " index " + i + ": " + w + " vs " + g);
            }
          }
        }
      }
    }
  }

  /** A plane of random values, a third of them zeros of either sign, with the special values. */
  static float[] plane(int n, int slack, long seed) {
    float[] a = new float[n + slack];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < a.length; i++) {
      float v = (float) (r.nextDouble() * 8 - 4);
      if (r.nextInt(3) == 0) v = r.nextBoolean() ? 0f : -0f; // ties, as after a relu
      if (i % 11 == 5) v = SPECIAL[(i / 11) % SPECIAL.length];
      a[i] = v;
    }
    return a;
  }

  static void assertSameBits(float[] want, float[] got, String what) {
    assertEquals(want.length, got.length, what);
    for (int i = 0; i < want.length; i++) {
      assertTrue(same(want[i], got[i]), what + " index " + i + ": " + want[i] + " vs " + got[i]);
    }
  }

  /**
   * copyRowsF, addRowsF and maxPool2x2F against the scalar ones: row lengths around every vector
   * width, arrays with no room after the last row (the tails then run scalar) and with room (the
   * tails run masked), planes with NaN, infinities, zeros of both signs and ties.
   */
  @Test
  void planeKernelsMatchTheScalarKernels() throws Exception {
    assumeTrue(vectorModule(), "the Vector API module is not loaded in this run");
    Kernels v = vector();
    String bits = v.name();
    int[] lengths = {0, 1, 3, 4, 5, 7, 8, 9, 11, 13, 15, 16, 17, 26, 31, 33, 65};
    for (int cols : lengths) {
      for (int rows : new int[] {1, 3}) {
        for (int slack : new int[] {0, 17}) {
          int sStride = cols + 2, dStride = cols + 5, sOff = 1, dOff = 3;
          int sLen = sOff + rows * sStride, dLen = dOff + rows * dStride;
          float[] src = plane(sLen, slack, cols * 7 + rows);
          for (boolean add : new boolean[] {false, true}) {
            float[] want = plane(dLen, slack, cols * 11 + rows), got = want.clone();
            if (add) {
              SCALAR.addRowsF(src, sOff, sStride, want, dOff, dStride, rows, cols);
              v.addRowsF(src, sOff, sStride, got, dOff, dStride, rows, cols);
            } else {
              SCALAR.copyRowsF(src, sOff, sStride, want, dOff, dStride, rows, cols);
              v.copyRowsF(src, sOff, sStride, got, dOff, dStride, rows, cols);
            }
            String what =
                bits + (add ? " addRowsF" : " copyRowsF") + " " + rows + "x" + cols + " +" + slack;
            assertSameBits(want, got, what);
          }
        }
      }
    }
    for (int w : new int[] {2, 3, 8, 11, 13, 26, 27, 33, 40, 66}) {
      for (int h : new int[] {2, 5, 26}) {
        for (int slack : new int[] {0, 40}) {
          int oh = h / 2, ow = w / 2, base = 1000, argAt = 7;
          float[] in = plane(h * w, slack, w * 31 + h);
          float[] want = new float[oh * ow + slack], got = new float[oh * ow + slack];
          int[] wantArg = new int[argAt + oh * ow + slack], gotArg = wantArg.clone();
          SCALAR.maxPool2x2F(in, w, want, wantArg, argAt, base, oh, ow);
          v.maxPool2x2F(in, w, got, gotArg, argAt, base, oh, ow);
          String what = bits + " maxPool2x2F " + h + "x" + w + " +" + slack;
          assertSameBits(want, got, what);
          assertArrayEquals(wantArg, gotArg, what + " argmax");
        }
      }
    }
    // col2im: planes narrower and wider than a vector, kernels 1x1 to 5x3, padding 0 to 2
    int[][] hwKernelPad = {
      {13, 13, 3, 3, 0, 0},
      {28, 28, 3, 3, 0, 0},
      {5, 7, 3, 3, 1, 1},
      {9, 40, 5, 3, 2, 1},
      {4, 17, 1, 1, 0, 0},
      {6, 33, 2, 4, 1, 2},
      {1, 1, 1, 1, 0, 0}
    };
    for (int[] c : hwKernelPad) {
      int h = c[0], w = c[1], kh = c[2], kw = c[3], p0 = c[4], p1 = c[5];
      int oh = h + 2 * p0 - kh + 1, ow = w + 2 * p1 - kw + 1, runStride = oh * ow + 3;
      for (int runsAt : new int[] {0, 20}) {
        float[] runs = plane(runsAt + kh * kw * runStride, 20, h * 17 + w);
        float[] want = plane(h * w, 20, h + w), got = want.clone();
        SCALAR.col2imPlaneF(runs, runsAt, runStride, want, h, w, oh, ow, kh, kw, p0, p1);
        v.col2imPlaneF(runs, runsAt, runStride, got, h, w, oh, ow, kh, kw, p0, p1);
        assertSameBits(
            want, got, bits + " col2imPlaneF " + java.util.Arrays.toString(c) + " at " + runsAt);
      }
    }

    // direct convolution: outputs bit for bit; weight-gradient sums to float rounding
    int[][] direct = {{1, 28, 28, 3, 3}, {3, 11, 9, 3, 3}, {2, 6, 40, 5, 2}, {1, 3, 3, 3, 3}};
    for (int[] c : direct) {
      int cin = c[0], hp = c[1], wp = c[2], kh = c[3], kw = c[4];
      int oh = hp - kh + 1, ow = wp - kw + 1, taps = cin * kh * kw;
      for (int slack : new int[] {0, 20}) {
        float[] x = plane(cin * hp * wp, slack, hp * 3 + wp);
        float[] wts = plane(2 * taps, 0, 99);
        float[] want = new float[oh * wp + slack], got = want.clone();
        for (boolean bias : new boolean[] {false, true}) {
          SCALAR.convPlaneF(x, cin, hp, wp, wts, taps, kh, kw, bias, 0.25f, want, oh, ow);
          v.convPlaneF(x, cin, hp, wp, wts, taps, kh, kw, bias, 0.25f, got, oh, ow);
          for (int r = 0; r < oh; r++) { // rows of wp, the first ow of each defined
            assertSameBits(
                java.util.Arrays.copyOfRange(want, r * wp, r * wp + ow),
                java.util.Arrays.copyOfRange(got, r * wp, r * wp + ow),
                bits + " convPlaneF " + java.util.Arrays.toString(c) + " row " + r);
          }
        }
        // finite values only: a sum with infinities of both signs is NaN in any order
        float[] xf = x.clone(), g = plane(oh * ow, slack, 5);
        for (float[] a : new float[][] {xf, g}) {
          for (int i = 0; i < a.length; i++) if (!Float.isFinite(a[i])) a[i] = 1.5f;
        }
        double[] wantSums = new double[taps + 2], gotSums = new double[taps + 2];
        float[] work = new float[taps * 16 + slack];
        SCALAR.convWeightGradF(g, xf, cin, hp, wp, kh, kw, oh, ow, wantSums, 1, work);
        v.convWeightGradF(g, xf, cin, hp, wp, kh, kw, oh, ow, gotSums, 1, work);
        for (int t = 0; t < wantSums.length; t++) {
          assertEquals(wantSums[t], gotSums[t], 1e-5 * oh * ow, bits + " convWeightGradF tap " + t);
        }
      }
    }
  }

  /**
   * The other widths: species are constants fixed at class initialisation, so each width runs this
   * class's checks in a JVM of its own.
   */
  @Test
  void everyVectorWidthMatchesInItsOwnJvm() throws Exception {
    assumeTrue(vectorModule(), "the Vector API module is not loaded in this run");
    String java = ProcessHandle.current().info().command().orElseThrow();
    for (int bits : BITS) {
      Process p =
          new ProcessBuilder(
                  java,
                  "--add-modules=jdk.incubator.vector",
                  "-Dpanagrad.vectorBitSize=" + bits,
                  "-cp",
                  System.getProperty("java.class.path"),
                  KernelParityTest.class.getName())
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes());
      assertEquals(0, p.waitFor(), bits + "-bit kernels:\n" + out);
      assertTrue(out.contains("vector-" + bits + " ok"), out);
    }
  }

  /** Runs every check at this JVM's width; prints "vector-BITS ok" or the failures. */
  public static void main(String[] args) throws Exception {
    KernelParityTest t = new KernelParityTest();
    int failed = 0;
    for (DynamicTest d : t.floatOpsMatchTheScalarKernels().toList()) {
      try {
        d.getExecutable().execute();
      } catch (Throwable e) {
        failed++;
        System.out.println(d.getDisplayName() + ": " + e.getMessage());
      }
    }
    try {
      t.doubleOpsMatchTheScalarKernels();
    } catch (Throwable e) {
      failed++;
      System.out.println("double ops: " + e.getMessage());
    }
    try {
      t.planeKernelsMatchTheScalarKernels();
    } catch (Throwable e) {
      failed++;
      System.out.println("plane kernels: " + e.getMessage());
    }
    System.out.println(failed == 0 ? vector().name() + " ok" : failed + " failed");
    System.exit(failed == 0 ? 0 : 1);
  }

  @Test
  void theProviderSaysWhichKernelsRun() {
    String name = KernelProvider.get().name();
    assertEquals(vectorModule() ? "vector" : "scalar", name.startsWith("vector") ? "vector" : name);
  }
}
