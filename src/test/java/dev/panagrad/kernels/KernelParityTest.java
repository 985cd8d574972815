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
                      try (Arena arena = Arena.ofConfined()) {
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
                    try (Arena arena = Arena.ofConfined()) {
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
        tests.add(
            DynamicTest.dynamicTest(
                bits + " sumF/sumD n=" + n,
                () -> {
                  try (Arena arena = Arena.ofConfined()) {
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
    try (Arena arena = Arena.ofConfined()) {
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

  @Test
  void doubleOpsMatchTheScalarKernels() throws Exception {
    assumeTrue(vectorModule(), "the Vector API module is not loaded in this run");
    Kernels v = vector();
    String bits = v.name();
    {
      for (int n : SIZES) {
        try (Arena arena = Arena.ofConfined()) {
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
    System.out.println(failed == 0 ? vector().name() + " ok" : failed + " failed");
    System.exit(failed == 0 ? 0 : 1);
  }

  @Test
  void theProviderSaysWhichKernelsRun() {
    String name = KernelProvider.get().name();
    assertEquals(vectorModule() ? "vector" : "scalar", name.startsWith("vector") ? "vector" : name);
  }
}
