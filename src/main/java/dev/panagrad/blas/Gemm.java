package dev.panagrad.blas;

import dev.panagrad.blas.bindings.cblas_h;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * General matrix products on {@link MemorySegment}s, BLAS style: {@code C = alpha * op(A) op(B) +
 * beta * C} with row-major matrices, where {@code op(X)} is {@code X} or its transpose, {@code
 * op(A)} is m by k, {@code op(B)} is k by n and {@code C} is m by n. Offsets count elements from
 * the start of each segment; {@code lda}, {@code ldb}, {@code ldc} are the row strides of the
 * matrices as stored. As in BLAS, when {@code beta} is zero {@code C} is not read (NaNs in it
 * vanish).
 *
 * <p>Every size, leading dimension and offset is checked against the segments before anything runs,
 * because the native library cannot check them: bad ones throw {@link IllegalArgumentException} or
 * {@link IndexOutOfBoundsException} naming the argument. Products of at least {@link
 * #NATIVE_MIN_MACS} multiply-adds go to the native CBLAS that {@link BlasLibrary} loaded, if any,
 * and if all three segments are native memory; the rest run in Java, accumulating in double.
 */
public final class Gemm {
  private Gemm() {}

  /**
   * The smallest product, in multiply-adds (m * n * k), that goes to the native BLAS. Measured on a
   * 2-core x86-64 machine (AVX-512, Temurin 25) against OpenBLAS 0.3.30, one float32 product at a
   * time in a warm loop, through this class's critical downcall: the Java kernel wins only below
   * about 10 multiply-adds (1x1x1: 0.03 us in Java vs 0.08 us native; 2x2x2: 0.05 us both; 3x3x3:
   * 0.10 us vs 0.08 us; 4x4x4: 0.17 us vs 0.05 us; 1x1x64: 0.30 us vs 0.10 us; 16x16x16: 7.7 us vs
   * 0.24 us). 32 keeps the tiniest products, where a downcall costs more than the arithmetic, in
   * Java.
   */
  public static final long NATIVE_MIN_MACS = 32;

  /**
   * Products up to this many multiply-adds (a few microseconds of work) use a downcall linked with
   * {@code Linker.Option.critical(false)}, which skips the thread-state transition; larger ones use
   * the ordinary downcall so the garbage collector is never held up by a long call. (OpenBLAS runs
   * products this small on the calling thread: it starts its own threads only above 4 * 65536.)
   */
  static final long CRITICAL_MAX_MACS = 1L << 16;

  /**
   * Products below this many multiply-adds run on one BLAS thread. OpenBLAS splits products from 4
   * * 65536 multiply-adds on; on 2 cores that loses for W1's products (64x100x1000 and its
   * gradient, 6.4M multiply-adds each): an eager W1 step took 398-479 us with one BLAS thread for
   * them against 555-572 us with two; W2's products (33M-51M) are as fast or faster on two threads.
   */
  static final long PARALLEL_MIN_MACS = 1L << 24;

  private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

  /*
   * Native calls are serialized. Recent OpenBLAS builds with pthreads are safe to call from several
   * threads, but older ones (and builds without USE_LOCKING) corrupt results when two threads
   * enter the level-3 driver at once, and a library given by path may be any of them. OpenBLAS
   * already spreads one large product over all its threads, so serializing costs little; the
   * Java kernel (small products) runs unlocked.
   */
  private static final ReentrantLock LOCK = new ReentrantLock();

  static void lockedRun(Runnable r) {
    LOCK.lock();
    try {
      r.run();
    } finally {
      LOCK.unlock();
    }
  }

  // ------------------------------------------------------------------ concurrent products

  /**
   * True while {@link #concurrently} runs its body; {@link Ranged#run} refuses to run otherwise.
   */
  private static volatile boolean concurrent;

  /**
   * True when products of {@code macs} multiply-adds would run in a native BLAS that several
   * threads may call at once ({@link BlasLibrary#concurrentCalls}), so that {@link #concurrently}
   * can spread many small products over the intra-op pool.
   */
  public static boolean concurrentProducts(long macs) {
    return nativeFor(macs) && BlasLibrary.get().concurrentCalls();
  }

  /**
   * Runs {@code body}, whose threads run {@link Ranged} products, each on one BLAS thread: the
   * library's own threads stay idle, and no other product starts until body returns. For work that
   * splits into many products of a few million multiply-adds (a convolution's samples), where each
   * thread's product reads data its thread has just made, still in its own cache.
   *
   * @throws IllegalStateException unless {@link #concurrentProducts} holds
   */
  public static void concurrently(Runnable body) {
    if (!BlasLibrary.get().concurrentCalls()) { // true only for a loaded (native) OpenBLAS
      throw new IllegalStateException(
          "Gemm.concurrently: the loaded BLAS cannot be called from several threads at once");
    }
    LOCK.lock();
    int threads = BlasLibrary.openBlasThreads();
    try {
      if (threads > 1) cblas_h.openblas_set_num_threads(1);
      concurrent = true;
      body.run();
    } finally {
      concurrent = false;
      if (threads > 1) cblas_h.openblas_set_num_threads(threads);
      LOCK.unlock();
    }
  }

  /**
   * A float32 product of fixed sizes run at offsets that vary between calls, inside {@link
   * #concurrently}: what a convolution runs per sample. Every offset range is checked once, when
   * made (the first and the last offset of each operand, and that C's whole range overlaps neither
   * input's), so {@link #run} only tests that its offsets lie in the ranges, and allocates nothing.
   *
   * <p>{@link #set} re-aims a product, checked the same way, so an eager convolution keeps one per
   * thread instead of making one a call. Fields are written before the products run and read by the
   * pool's threads after {@link dev.panagrad.kernels.Parallel}'s hand-off, which orders them.
   */
  public static final class Ranged {
    private boolean transA, transB;
    private int m, n, k, lda, ldb, ldc;
    private float alpha, beta;
    private MemorySegment a, b, c; // null until set
    private long a0, a1, b0, b1, c0, c1;

    /** A product not aimed yet: {@link #run} refuses until {@link #set} has aimed it. */
    public Ranged() {}

    /**
     * Aims this product: A, B and C start at offsets within [a0, a1], [b0, b1] and [c0, c1]
     * (elements of the segments); see the class comment of {@link Gemm} for the other arguments.
     * Returns this.
     */
    public Ranged set(
        boolean transA,
        boolean transB,
        int m,
        int n,
        int k,
        float alpha,
        MemorySegment a,
        long a0,
        long a1,
        int lda,
        MemorySegment b,
        long b0,
        long b1,
        int ldb,
        float beta,
        MemorySegment c,
        long c0,
        long c1,
        int ldc) {
      if (a1 < a0 || b1 < b0 || c1 < c0) {
        throw new IllegalArgumentException(
            "Gemm.Ranged: offset ranges must not be empty, got A ["
                + a0
                + ", "
                + a1
                + "], B ["
                + b0
                + ", "
                + b1
                + "], C ["
                + c0
                + ", "
                + c1
                + "]");
      }
      if (!a.isNative() || !b.isNative() || !c.isNative()) {
        throw new IllegalArgumentException("Gemm.Ranged: A, B and C must be native memory");
      }
      // the products at the lowest and at the highest offsets fit: so does every one between
      check(4, transA, transB, m, n, k, a, a0, lda, b, b0, ldb, c, c0, ldc);
      check(4, transA, transB, m, n, k, a, a1, lda, b, b1, ldb, c, c1, ldc);
      if ((long) m * n * k > 0) {
        long cEnd = c1 + (long) (m - 1) * ldc + n;
        long aEnd = a1 + (long) ((transA ? k : m) - 1) * lda + (transA ? m : k);
        long bEnd = b1 + (long) ((transB ? n : k) - 1) * ldb + (transB ? k : n);
        // check() saw each end's C against the same end's A and B; these cover every pair
        if (overlaps(c, c0, cEnd, a, a0, aEnd, 4) || overlaps(c, c0, cEnd, b, b0, bEnd, 4)) {
          throw new IllegalArgumentException(
              "Gemm.Ranged: C's offsets overlap A's or B's: the output must not alias an input");
        }
      }
      this.transA = transA;
      this.transB = transB;
      this.m = m;
      this.n = n;
      this.k = k;
      this.lda = lda;
      this.ldb = ldb;
      this.ldc = ldc;
      this.alpha = alpha;
      this.beta = beta;
      this.a = a;
      this.b = b;
      this.c = c;
      this.a0 = a0;
      this.a1 = a1;
      this.b0 = b0;
      this.b1 = b1;
      this.c0 = c0;
      this.c1 = c1;
      return this;
    }

    /** Runs C = alpha op(A) op(B) + beta C with A, B and C at these offsets, on this thread. */
    public void run(long offA, long offB, long offC) {
      if (!concurrent) {
        throw new IllegalStateException("Gemm.Ranged.run: call it inside Gemm.concurrently");
      }
      if (a == null) throw new IllegalStateException("Gemm.Ranged.run: set() has not aimed it");
      if (offA < a0 || offA > a1 || offB < b0 || offB > b1 || offC < c0 || offC > c1) {
        throw new IndexOutOfBoundsException(
            "Gemm.Ranged.run: offsets ("
                + offA
                + ", "
                + offB
                + ", "
                + offC
                + ") outside the checked ranges A ["
                + a0
                + ", "
                + a1
                + "], B ["
                + b0
                + ", "
                + b1
                + "], C ["
                + c0
                + ", "
                + c1
                + "]");
      }
      if (m == 0 || n == 0) return;
      sgemmAt(transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
    }
  }

  /**
   * cblas_sgemm on checked memory, by address, on this thread (inside {@link #concurrently}, on one
   * BLAS thread): what {@link Ranged} and {@link Prepared#runRows} run.
   */
  private static void sgemmAt(
      boolean transA,
      boolean transB,
      int m,
      int n,
      int k,
      float alpha,
      MemorySegment a,
      long offA,
      int lda,
      MemorySegment b,
      long offB,
      int ldb,
      float beta,
      MemorySegment c,
      long offC,
      int ldc) {
    int ta = transA ? TRANS : NO_TRANS, tb = transB ? TRANS : NO_TRANS;
    try {
      ByAddress.SGEMM.invokeExact(
          ROW_MAJOR,
          ta,
          tb,
          m,
          n,
          k,
          alpha,
          a.address() + offA * 4,
          lda,
          b.address() + offB * 4,
          ldb,
          beta,
          c.address() + offC * 4,
          ldc);
    } catch (Throwable t) {
      throw rethrow(t);
    } finally {
      java.lang.ref.Reference.reachabilityFence(a);
      java.lang.ref.Reference.reachabilityFence(b);
      java.lang.ref.Reference.reachabilityFence(c);
    }
  }

  /** True when a product of {@code macs} multiply-adds would run in the native BLAS. */
  public static boolean nativeFor(long macs) {
    return macs >= NATIVE_MIN_MACS && BlasLibrary.isNative();
  }

  /** float32 GEMM; see the class comment for the arguments. */
  public static void sgemm(
      boolean transA,
      boolean transB,
      int m,
      int n,
      int k,
      float alpha,
      MemorySegment a,
      long offA,
      int lda,
      MemorySegment b,
      long offB,
      int ldb,
      float beta,
      MemorySegment c,
      long offC,
      int ldc) {
    check(4, transA, transB, m, n, k, a, offA, lda, b, offB, ldb, c, offC, ldc);
    call(
        true, transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc,
        false);
  }

  /** float64 GEMM; see the class comment for the arguments. */
  public static void dgemm(
      boolean transA,
      boolean transB,
      int m,
      int n,
      int k,
      double alpha,
      MemorySegment a,
      long offA,
      int lda,
      MemorySegment b,
      long offB,
      int ldb,
      double beta,
      MemorySegment c,
      long offC,
      int ldc) {
    check(8, transA, transB, m, n, k, a, offA, lda, b, offB, ldb, c, offC, ldc);
    call(
        false, transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc,
        false);
  }

  /**
   * The Java kernel over the same arguments (unchecked: callers check first). Public so tests and
   * benchmarks can compare against it; it accumulates each element of C in double.
   */
  public static void javaGemm(
      boolean f32,
      boolean transA,
      boolean transB,
      int m,
      int n,
      int k,
      double alpha,
      MemorySegment a,
      long offA,
      int lda,
      MemorySegment b,
      long offB,
      int ldb,
      double beta,
      MemorySegment c,
      long offC,
      int ldc) {
    ValueLayout.OfFloat fl = ValueLayout.JAVA_FLOAT_UNALIGNED;
    ValueLayout.OfDouble dl = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    double[] row = new double[n];
    // B(p, j) is at offB + p * bp + j * bj
    long bp = transB ? 1 : ldb, bj = transB ? ldb : 1;
    for (int i = 0; i < m; i++) {
      Arrays.fill(row, 0);
      for (int p = 0; p < k; p++) {
        long ia = offA + (transA ? (long) p * lda + i : (long) i * lda + p);
        double av = f32 ? a.getAtIndex(fl, ia) : a.getAtIndex(dl, ia);
        long ib = offB + p * bp;
        if (f32) {
          for (int j = 0; j < n; j++) row[j] += av * b.getAtIndex(fl, ib + j * bj);
        } else {
          for (int j = 0; j < n; j++) row[j] += av * b.getAtIndex(dl, ib + j * bj);
        }
      }
      long ic = offC + (long) i * ldc;
      for (int j = 0; j < n; j++) {
        if (f32) {
          double prev = beta == 0 ? 0 : beta * c.getAtIndex(fl, ic + j);
          c.setAtIndex(fl, ic + j, (float) (alpha * row[j] + prev));
        } else {
          double prev = beta == 0 ? 0 : beta * c.getAtIndex(dl, ic + j);
          c.setAtIndex(dl, ic + j, alpha * row[j] + prev);
        }
      }
    }
  }

  /**
   * A GEMM checked once, its operands sliced once, ready to run (again): what {@link #sgemm} and
   * {@link #dgemm} run, and the instruction a captured training step replays. {@link #run()}
   * allocates nothing on the native path.
   */
  public static final class Prepared implements Recorder.Instruction {
    private final boolean f32, transA, transB;
    private final int m, n, k, lda, ldb, ldc;
    private final double alpha, beta;
    private final MemorySegment a, b, c;
    private final long offA, offB, offC;

    public Prepared(
        boolean f32,
        boolean transA,
        boolean transB,
        int m,
        int n,
        int k,
        double alpha,
        MemorySegment a,
        long offA,
        int lda,
        MemorySegment b,
        long offB,
        int ldb,
        double beta,
        MemorySegment c,
        long offC,
        int ldc) {
      check(f32 ? 4 : 8, transA, transB, m, n, k, a, offA, lda, b, offB, ldb, c, offC, ldc);
      this.f32 = f32;
      this.transA = transA;
      this.transB = transB;
      this.m = m;
      this.n = n;
      this.k = k;
      this.alpha = alpha;
      this.beta = beta;
      this.a = a;
      this.b = b;
      this.c = c;
      this.offA = offA;
      this.offB = offB;
      this.offC = offC;
      this.lda = lda;
      this.ldb = ldb;
      this.ldc = ldc;
    }

    @Override
    public void run() {
      call(
          f32, transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc,
          true);
    }

    /**
     * True when {@link #runRows} can compute this product in row blocks on several threads at once
     * with {@link #run()}'s bits: a float32 product that runs natively on one BLAS thread (below
     * {@link #PARALLEL_MIN_MACS}; the row blocks then run the same kernel over the same k, each
     * element summed in the same order), into C with contiguous rows, in a BLAS that several
     * threads may call at once.
     */
    public boolean splitsByRows() {
      return f32
          && m >= 2
          && ldc == n
          && macs() < PARALLEL_MIN_MACS
          && useNative(macs(), a, b, c)
          && BlasLibrary.get().concurrentCalls();
    }

    /**
     * Whether this product run as row blocks of {@code unit} rows on the intra-op pool ({@link
     * #runRows} inside {@link #concurrently}) gives {@link #run()}'s bits with the loaded BLAS,
     * tried on scratch operands of this product's geometry. {@link #splitsByRows} says when the
     * blocks may run at all; whether they keep the bits is the BLAS's choice of kernel, which may
     * depend on the rows it is given: OpenBLAS 0.3.30 on its Haswell kernels (what it picks on an
     * AVX-512 AMD EPYC) gave a 64x100x1000 product's row blocks results a few ulps off the whole
     * product's, where on an AVX-512 Intel Xeon they were equal. A caller that promises the whole
     * product's bits (a replayed step) asks this once per product it would split.
     */
    public boolean rowBlocksKeepBits(long unit) {
      if (!splitsByRows()) return false;
      Recorder.Operand[] in = inputs(); // the bytes A and B are read from, leading dims included
      try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
        MemorySegment sa = gaussian(arena, in[0].elementBytes() / 4, 1);
        MemorySegment sb = gaussian(arena, in[1].elementBytes() / 4, 2);
        MemorySegment whole = arena.allocate(4L * m * n, 64),
            split = arena.allocate(4L * m * n, 64);
        sameGeometry(sa, sb, whole).run();
        Prepared p = sameGeometry(sa, sb, split);
        concurrently(() -> Parallel.forUnits(m, unit, (r0, r1) -> p.runRows((int) r0, (int) r1)));
        return whole.mismatch(split) < 0;
      }
    }

    /** This float product's geometry on other operands: A in sa, B in sb, C (dense) in c. */
    private Prepared sameGeometry(MemorySegment sa, MemorySegment sb, MemorySegment c) {
      return new Prepared(
          true, transA, transB, m, n, k, alpha, sa, 0, lda, sb, 0, ldb, beta, c, 0, n);
    }

    /** {@code count} floats of a fixed normal sequence (not the user's random stream). */
    private static MemorySegment gaussian(java.lang.foreign.Arena arena, long count, long seed) {
      MemorySegment s = arena.allocate(4 * count, 64);
      java.util.Random rnd = new java.util.Random(seed);
      for (long i = 0; i < count; i++)
        s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
      return s;
    }

    /** The multiply-adds of this product. */
    public long macs() {
      return (long) m * n * k;
    }

    public int rows() {
      return m;
    }

    public int columns() {
      return n;
    }

    /** C's elements, row after row (C's rows are contiguous when {@link #splitsByRows}). */
    public Recorder.Operand output() {
      int size = f32 ? 4 : 8;
      return new Recorder.Operand(c.address() + offC * size, size, size);
    }

    /**
     * The bytes A and B are read from, each as one range ({@link Recorder.Operand} with step 0): an
     * instruction that writes any of them must not run while the product does.
     */
    public Recorder.Operand[] inputs() {
      int size = f32 ? 4 : 8;
      long aRows = transA ? k : m, aCols = transA ? m : k;
      long bRows = transB ? n : k, bCols = transB ? k : n;
      return new Recorder.Operand[] {
        new Recorder.Operand(a.address() + offA * size, ((aRows - 1) * lda + aCols) * size, 0),
        new Recorder.Operand(b.address() + offB * size, ((bRows - 1) * ldb + bCols) * size, 0)
      };
    }

    /**
     * Rows [r0, r1) of C, as one product on this thread: call it inside {@link #concurrently}, on a
     * product that {@link #splitsByRows}. A row block of a checked product lies within it, so
     * nothing more is checked beyond the rows themselves.
     */
    public void runRows(int r0, int r1) {
      if (!concurrent) {
        throw new IllegalStateException("Gemm.Prepared.runRows: call it inside Gemm.concurrently");
      }
      if (!f32 || ldc != n) {
        throw new IllegalStateException("Gemm.Prepared.runRows: this product does not split");
      }
      if (r0 < 0 || r1 > m || r0 > r1) {
        throw new IndexOutOfBoundsException(
            "Gemm.Prepared.runRows: rows [" + r0 + ", " + r1 + ") outside [0, " + m + ")");
      }
      if (r0 == r1 || n == 0) return;
      long rowA = transA ? r0 : (long) r0 * lda;
      float fa = (float) alpha, fb = (float) beta;
      sgemmAt(
          transA,
          transB,
          r1 - r0,
          n,
          k,
          fa,
          a,
          offA + rowA,
          lda,
          b,
          offB,
          ldb,
          fb,
          c,
          offC + (long) r0 * ldc,
          ldc);
    }
  }

  /**
   * Checks and runs one product on tensor storage now, as {@code new Prepared(...).run()} without
   * the object: what an eager product does, since only a recorded one is kept.
   */
  public static void runOnce(
      boolean f32,
      boolean transA,
      boolean transB,
      int m,
      int n,
      int k,
      double alpha,
      MemorySegment a,
      long offA,
      int lda,
      MemorySegment b,
      long offB,
      int ldb,
      double beta,
      MemorySegment c,
      long offC,
      int ldc) {
    check(f32 ? 4 : 8, transA, transB, m, n, k, a, offA, lda, b, offB, ldb, c, offC, ldc);
    call(f32, transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc, true);
  }

  /**
   * A checked product: the Java kernel, or the native one. {@code storage}: the segments are tensor
   * storage (the pool's slabs, or the calling thread's temporaries), passed by address ({@link
   * ByAddress}); otherwise they are a caller's own, which may belong to an arena another thread
   * could close, so they go as segments, which the downcall keeps alive.
   */
  private static void call(
      boolean f32,
      boolean transA,
      boolean transB,
      int m,
      int n,
      int k,
      double alpha,
      MemorySegment a,
      long offA,
      int lda,
      MemorySegment b,
      long offB,
      int ldb,
      double beta,
      MemorySegment c,
      long offC,
      int ldc,
      boolean storage) {
    long macs = (long) m * n * k;
    if (!useNative(macs, a, b, c)) {
      javaGemm(f32, transA, transB, m, n, k, alpha, a, offA, lda, b, offB, ldb, beta, c, offC, ldc);
      return;
    }
    int size = f32 ? 4 : 8, ta = transA ? TRANS : NO_TRANS, tb = transB ? TRANS : NO_TRANS;
    long pa = a.address() + offA * size, pb = b.address() + offB * size;
    long pc = c.address() + offC * size;
    boolean critical = macs <= CRITICAL_MAX_MACS;
    LOCK.lock();
    // Under the lock, so no other product sees the thread count this one sets.
    int threads = macs < PARALLEL_MIN_MACS ? BlasLibrary.openBlasThreads() : 1;
    if (threads > 1) cblas_h.openblas_set_num_threads(1);
    try {
      if (!storage) {
        MemorySegment sa = a.asSlice(offA * size), sb = b.asSlice(offB * size);
        MemorySegment sc = c.asSlice(offC * size);
        if (f32) {
          float fa = (float) alpha, fb = (float) beta;
          cblas_h.cblas_sgemm(ROW_MAJOR, ta, tb, m, n, k, fa, sa, lda, sb, ldb, fb, sc, ldc);
        } else {
          cblas_h.cblas_dgemm(ROW_MAJOR, ta, tb, m, n, k, alpha, sa, lda, sb, ldb, beta, sc, ldc);
        }
      } else if (f32) {
        float fa = (float) alpha, fb = (float) beta;
        MethodHandle h = critical ? ByAddress.SGEMM_CRITICAL : ByAddress.SGEMM;
        h.invokeExact(ROW_MAJOR, ta, tb, m, n, k, fa, pa, lda, pb, ldb, fb, pc, ldc);
      } else {
        MethodHandle h = critical ? ByAddress.DGEMM_CRITICAL : ByAddress.DGEMM;
        h.invokeExact(ROW_MAJOR, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
      }
    } catch (Throwable t) {
      throw rethrow(t);
    } finally {
      if (threads > 1) cblas_h.openblas_set_num_threads(threads);
      LOCK.unlock();
      // the segments own the memory the addresses point into: alive until the call returned
      java.lang.ref.Reference.reachabilityFence(a);
      java.lang.ref.Reference.reachabilityFence(b);
      java.lang.ref.Reference.reachabilityFence(c);
    }
  }

  private static boolean useNative(long macs, MemorySegment a, MemorySegment b, MemorySegment c) {
    return nativeFor(macs) && a.isNative() && b.isNative() && c.isNative();
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) return r;
    if (t instanceof Error e) throw e;
    return new IllegalStateException(t);
  }

  /**
   * cblas_sgemm and cblas_dgemm with the three matrices passed as raw addresses ({@code long})
   * instead of segments, so a call makes no segment slices (three objects per eager product). The C
   * ABI passes a pointer and a 64-bit integer alike. Sound because the sizes are checked first
   * ({@link #check}), every native segment here is a slab of the storage pool, which is never
   * unmapped, or a temporary of the calling thread that outlives the call, and the caller keeps the
   * segments reachable until the call returns. Products up to {@link #CRITICAL_MAX_MACS}
   * multiply-adds use the critical linkage (no thread-state transition).
   */
  private static final class ByAddress {
    static final MethodHandle SGEMM =
        link(cblas_h.cblas_sgemm$address(), cblas_h.cblas_sgemm$descriptor(), false);
    static final MethodHandle DGEMM =
        link(cblas_h.cblas_dgemm$address(), cblas_h.cblas_dgemm$descriptor(), false);
    static final MethodHandle SGEMM_CRITICAL =
        link(cblas_h.cblas_sgemm$address(), cblas_h.cblas_sgemm$descriptor(), true);
    static final MethodHandle DGEMM_CRITICAL =
        link(cblas_h.cblas_dgemm$address(), cblas_h.cblas_dgemm$descriptor(), true);

    /** The function's descriptor with every pointer argument as a 64-bit integer. */
    private static MethodHandle link(MemorySegment fn, FunctionDescriptor d, boolean critical) {
      MemoryLayout[] args = d.argumentLayouts().toArray(new MemoryLayout[0]);
      for (int i = 0; i < args.length; i++) {
        if (args[i] instanceof AddressLayout) args[i] = ValueLayout.JAVA_LONG;
      }
      FunctionDescriptor byAddress = FunctionDescriptor.ofVoid(args);
      return critical
          ? Linker.nativeLinker().downcallHandle(fn, byAddress, Linker.Option.critical(false))
          : Linker.nativeLinker().downcallHandle(fn, byAddress);
    }
  }

  // ------------------------------------------------------------------ checks

  static void check(
      int size,
      boolean transA,
      boolean transB,
      int m,
      int n,
      int k,
      MemorySegment a,
      long offA,
      int lda,
      MemorySegment b,
      long offB,
      int ldb,
      MemorySegment c,
      long offC,
      int ldc) {
    nonNegative("m", m);
    nonNegative("n", n);
    nonNegative("k", k);
    if (a == null) throw new NullPointerException("A is null");
    if (b == null) throw new NullPointerException("B is null");
    if (c == null) throw new NullPointerException("C is null");
    // stored shapes: A is m x k (k x m when transposed), B is k x n (n x k), C is m x n
    int aRows = transA ? k : m, aCols = transA ? m : k;
    int bRows = transB ? n : k, bCols = transB ? k : n;
    leading("lda", lda, aCols, transA ? "m" : "k");
    leading("ldb", ldb, bCols, transB ? "k" : "n");
    leading("ldc", ldc, n, "n");
    long endA = extent("A", "offA", a, size, offA, aRows, aCols, lda);
    long endB = extent("B", "offB", b, size, offB, bRows, bCols, ldb);
    long endC = extent("C", "offC", c, size, offC, m, n, ldc);
    if (c.isReadOnly()) throw new IllegalArgumentException("C is a read-only segment");
    if (m > 0 && n > 0) {
      if (k > 0 && overlaps(c, offC, endC, a, offA, endA, size))
        throw new IllegalArgumentException("C overlaps A: the output must not alias an input");
      if (k > 0 && overlaps(c, offC, endC, b, offB, endB, size))
        throw new IllegalArgumentException("C overlaps B: the output must not alias an input");
    }
  }

  /**
   * True when elements [c0, c1) of c and [x0, x1) of x share memory. Native segments compare
   * addresses (no slices made: this runs on every product); heap segments, which only the Java
   * kernel sees, ask the segments.
   */
  private static boolean overlaps(
      MemorySegment c, long c0, long c1, MemorySegment x, long x0, long x1, int sz) {
    if (c1 == c0 || x1 == x0) return false;
    if (c.isNative() && x.isNative()) {
      long cFrom = c.address() + c0 * sz, cTo = c.address() + c1 * sz;
      long xFrom = x.address() + x0 * sz, xTo = x.address() + x1 * sz;
      return cFrom < xTo && xFrom < cTo;
    }
    MemorySegment spanC = c.asSlice(c0 * sz, (c1 - c0) * sz);
    return spanC.asOverlappingSlice(x.asSlice(x0 * sz, (x1 - x0) * sz)).isPresent();
  }

  private static void nonNegative(String name, int v) {
    if (v < 0) throw new IllegalArgumentException(name + " must be >= 0, got " + v);
  }

  private static void leading(String name, int ld, int cols, String colsName) {
    if (ld < Math.max(1, cols))
      throw new IllegalArgumentException(
          name
              + " must be >= max(1, "
              + colsName
              + ") = "
              + Math.max(1, cols)
              + " for the matrix as stored, got "
              + ld);
  }

  /**
   * Checks that a rows x cols matrix with row stride ld from element off fits in seg; returns the
   * element index one past its last element (off when it is empty).
   */
  private static long extent(
      String mat,
      String offName,
      MemorySegment seg,
      int size,
      long off,
      int rows,
      int cols,
      int ld) {
    long elements = seg.byteSize() / size;
    if (off < 0) throw new IndexOutOfBoundsException(offName + " must be >= 0, got " + off);
    if (off > elements)
      throw new IndexOutOfBoundsException(
          offName + " = " + off + " is past the end of " + mat + " (" + elements + " elements)");
    if (rows == 0 || cols == 0) return off;
    long end;
    try {
      end = Math.addExact(Math.addExact(off, Math.multiplyExact((long) rows - 1, ld)), cols);
    } catch (ArithmeticException e) {
      end = Long.MAX_VALUE;
    }
    if (end > elements)
      throw new IndexOutOfBoundsException(
          mat
              + " ("
              + rows
              + " x "
              + cols
              + " stored with leading dimension "
              + ld
              + " from element "
              + off
              + ") needs "
              + (end == Long.MAX_VALUE ? "more than 2^63" : String.valueOf(end))
              + " elements, but its segment holds "
              + elements
              + " ("
              + seg.byteSize()
              + " bytes)");
    return end;
  }
}
