package dev.panagrad.blas;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Checks shared by the in-process tests and the child JVMs that force each BLAS source: Gemm's
 * results (whatever runs them) against the Java kernel over awkward shapes, and the tensor ops that
 * go through LinearAlgebra.gemm against a plain double loop.
 */
final class GemmChecks {
  private GemmChecks() {}

  /** One product: sizes, transposes, element offsets, extra row padding, alpha, beta. */
  record Case(
      int m,
      int n,
      int k,
      boolean ta,
      boolean tb,
      long offA,
      long offB,
      long offC,
      int padA,
      int padB,
      int padC,
      double alpha,
      double beta) {
    static Case plain(int m, int n, int k) {
      return new Case(m, n, k, false, false, 0, 0, 0, 0, 0, 0, 1, 0);
    }

    int lda() {
      return Math.max(1, ta ? m : k) + padA;
    }

    int ldb() {
      return Math.max(1, tb ? k : n) + padB;
    }

    int ldc() {
      return Math.max(1, n) + padC;
    }

    long sizeA() {
      return offA + (long) (ta ? k : m) * lda();
    }

    long sizeB() {
      return offB + (long) (tb ? n : k) * ldb();
    }

    long sizeC() {
      return offC + (long) m * ldc();
    }
  }

  static List<Case> cases() {
    List<Case> cs = new ArrayList<>();
    cs.add(Case.plain(1, 1, 1));
    cs.add(Case.plain(7, 13, 5));
    for (boolean ta : new boolean[] {false, true})
      for (boolean tb : new boolean[] {false, true}) {
        cs.add(new Case(7, 13, 5, ta, tb, 0, 0, 0, 0, 0, 0, 1, 0));
        cs.add(new Case(7, 13, 5, ta, tb, 3, 5, 7, 2, 1, 3, 1, 0));
        cs.add(new Case(33, 17, 29, ta, tb, 1, 2, 3, 0, 4, 1, -1.5, 0.25));
        cs.add(new Case(70, 90, 65, ta, tb, 11, 0, 5, 3, 0, 2, 0.5, 1));
      }
    cs.add(new Case(1, 1, 300, false, true, 4, 4, 4, 0, 0, 0, 2, 0)); // a dot product
    cs.add(new Case(64, 1, 64, false, false, 0, 1, 0, 0, 0, 0, 1, 0)); // matrix @ vector
    cs.add(new Case(1, 64, 64, true, false, 0, 0, 0, 5, 0, 0, 1, 0)); // vector @ matrix
    cs.add(new Case(16, 16, 1, false, false, 0, 0, 0, 0, 0, 0, 1, 0)); // outer product
    cs.add(new Case(5, 6, 0, false, false, 0, 0, 1, 0, 0, 0, 1, 0.5)); // k = 0: C = beta C
    cs.add(new Case(0, 6, 3, false, false, 0, 0, 0, 0, 0, 0, 1, 0));
    cs.add(new Case(200, 150, 130, false, true, 0, 0, 0, 0, 0, 0, 1, 0));
    return cs;
  }

  /** Runs every case for float32 and float64; throws AssertionError naming the first mismatch. */
  static int checkAllAgainstJavaKernel() {
    int n = 0;
    Random rnd = new Random(42);
    for (Case c : cases()) {
      for (boolean f32 : new boolean[] {true, false}) {
        check(c, f32, rnd);
        n++;
      }
    }
    return n;
  }

  static void check(Case c, boolean f32, Random rnd) {
    int size = f32 ? 4 : 8;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment a = fill(arena, c.sizeA(), size, rnd), b = fill(arena, c.sizeB(), size, rnd);
      MemorySegment c0 = fill(arena, c.sizeC(), size, rnd);
      if (c.beta() == 0) {
        // BLAS does not read C when beta is 0: NaNs there must vanish.
        for (long i = 0; i < c.m(); i++)
          for (long j = 0; j < c.n(); j++) set(c0, size, c.offC() + i * c.ldc() + j, Double.NaN);
      }
      MemorySegment got = arena.allocate(c0.byteSize(), 64).copyFrom(c0);
      MemorySegment want = arena.allocate(c0.byteSize(), 64).copyFrom(c0);
      run(c, f32, a, b, got);
      Gemm.javaGemm(
          f32, c.ta(), c.tb(), c.m(), c.n(), c.k(), c.alpha(), a, c.offA(), c.lda(), b, c.offB(),
          c.ldb(), c.beta(), want, c.offC(), c.ldc());
      double tol =
          (f32 ? 2e-6 : 1e-14) * (c.k() + 2) * (Math.abs(c.alpha()) + Math.abs(c.beta()) + 1);
      for (long i = 0; i < c.sizeC(); i++) {
        double x = get(got, size, i), y = get(want, size, i);
        boolean inC =
            i >= c.offC() && (i - c.offC()) / c.ldc() < c.m() && (i - c.offC()) % c.ldc() < c.n();
        boolean ok = inC ? Math.abs(x - y) <= tol : Double.compare(x, y) == 0;
        if (!ok)
          throw new AssertionError(
              (f32 ? "sgemm " : "dgemm ")
                  + c
                  + ": element "
                  + i
                  + (inC ? "" : " (outside C: must be untouched)")
                  + " is "
                  + x
                  + ", the Java kernel gives "
                  + y);
      }
    }
  }

  static void run(Case c, boolean f32, MemorySegment a, MemorySegment b, MemorySegment out) {
    if (f32) {
      Gemm.sgemm(
          c.ta(),
          c.tb(),
          c.m(),
          c.n(),
          c.k(),
          (float) c.alpha(),
          a,
          c.offA(),
          c.lda(),
          b,
          c.offB(),
          c.ldb(),
          (float) c.beta(),
          out,
          c.offC(),
          c.ldc());
    } else {
      Gemm.dgemm(
          c.ta(), c.tb(), c.m(), c.n(), c.k(), c.alpha(), a, c.offA(), c.lda(), b, c.offB(),
          c.ldb(), c.beta(), out, c.offC(), c.ldc());
    }
  }

  static MemorySegment fill(Arena arena, long elements, int size, Random rnd) {
    MemorySegment s = arena.allocate(Math.max(1, elements) * size, 64);
    for (long i = 0; i < elements; i++) set(s, size, i, rnd.nextDouble() * 2 - 1);
    return s;
  }

  static void set(MemorySegment s, int size, long i, double v) {
    if (size == 4) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) v);
    else s.setAtIndex(ValueLayout.JAVA_DOUBLE, i, v);
  }

  static double get(MemorySegment s, int size, long i) {
    return size == 4
        ? s.getAtIndex(ValueLayout.JAVA_FLOAT, i)
        : s.getAtIndex(ValueLayout.JAVA_DOUBLE, i);
  }

  // ------------------------------------------------------------------ through the tensor ops

  /**
   * mm over operands as stored (contiguous, transposed views, a view with no unit stride that must
   * be copied, one with an offset), addmm, mv, dot and bmm, each against a double loop.
   */
  static int checkTensorOps() {
    int checked = 0;
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      Random rnd = new Random(7);
      double tol = dt == DType.FLOAT32 ? 1e-4 : 1e-11;
      Tensor a = tensor(dt, rnd, 19, 23), b = tensor(dt, rnd, 23, 11);
      close(a.mm(b), ref(a, b), tol, "mm");
      Tensor at = tensor(dt, rnd, 23, 19).t(), bt = tensor(dt, rnd, 11, 23).t();
      close(at.mm(bt), ref(at, bt), tol, "mm of transposed views");
      // every other column of a 19 x 46 matrix: strides (46, 2), so it is copied for BLAS
      Tensor wide = tensor(dt, rnd, 19, 46);
      Tensor strided = wide.rawView(new long[] {19, 23}, new long[] {46, 2}, 1);
      close(strided.mm(b), ref(strided, b), tol, "mm of a strided view");
      Tensor bias = tensor(dt, rnd, 11);
      Tensor addmm = dev.panagrad.ops.LinearAlgebra.addmm(bias, a, b);
      Tensor r = ref(a, b);
      for (int i = 0; i < 19; i++)
        for (int j = 0; j < 11; j++) r.set(r.get(i, j) + bias.get(j), i, j);
      close(addmm, r, tol, "addmm");
      Tensor v = tensor(dt, rnd, 23);
      Tensor mv = a.mv(v);
      for (int i = 0; i < 19; i++) {
        double s = 0;
        for (int p = 0; p < 23; p++) s += a.get(i, p) * v.get(p);
        if (Math.abs(mv.get(i) - s) > tol)
          throw new AssertionError("mv: " + mv.get(i) + " vs " + s);
      }
      Tensor w = tensor(dt, rnd, 23);
      double d = 0;
      for (int p = 0; p < 23; p++) d += v.get(p) * w.get(p);
      if (Math.abs(v.dot(w).item() - d) > tol) throw new AssertionError("dot");
      Tensor ba = tensor(dt, rnd, 3, 9, 8), bb = tensor(dt, rnd, 3, 8, 10);
      Tensor bmm = ba.bmm(bb);
      for (int q = 0; q < 3; q++)
        close(bmm.select(0, q), ref(ba.select(0, q), bb.select(0, q)), tol, "bmm[" + q + "]");
      checked += 7;
    }
    return checked;
  }

  private static Tensor tensor(DType dt, Random rnd, long... shape) {
    Tensor t = Tensor.empty(dt, shape);
    long n = t.numel();
    MemorySegment s = t.segment();
    for (long i = 0; i < n; i++) set(s, dt == DType.FLOAT32 ? 4 : 8, i, rnd.nextDouble() * 2 - 1);
    return t;
  }

  private static Tensor ref(Tensor a, Tensor b) {
    long m = a.size(0), k = a.size(1), n = b.size(1);
    Tensor out = Tensor.empty(DType.FLOAT64, m, n);
    for (long i = 0; i < m; i++)
      for (long j = 0; j < n; j++) {
        double s = 0;
        for (long p = 0; p < k; p++) s += a.get(i, p) * b.get(p, j);
        out.set(s, i, j);
      }
    return out;
  }

  private static void close(Tensor got, Tensor want, double tol, String what) {
    for (long i = 0; i < want.size(0); i++)
      for (long j = 0; j < want.size(1); j++)
        if (Math.abs(got.get(i, j) - want.get(i, j)) > tol)
          throw new AssertionError(
              what + ": [" + i + ", " + j + "] is " + got.get(i, j) + ", want " + want.get(i, j));
  }

  // ------------------------------------------------------------------ float semantics

  static volatile float tinyF = Float.MIN_VALUE, oneF = 1f, minNormalF = Float.MIN_NORMAL;
  static volatile double tinyD = Double.MIN_VALUE, oneD = 1, minNormalD = Double.MIN_NORMAL;

  /** Subnormals still work in Java (no flush-to-zero or denormals-are-zero left by the library). */
  static void checkDenormals() {
    if (tinyF * oneF == 0f) throw new AssertionError("Float.MIN_VALUE * 1f flushed to zero");
    if (minNormalF * 0.5f == 0f) throw new AssertionError("a subnormal float result flushed");
    if (tinyD * oneD == 0) throw new AssertionError("Double.MIN_VALUE * 1 flushed to zero");
    if (minNormalD * 0.5 == 0) throw new AssertionError("a subnormal double result flushed");
  }
}
