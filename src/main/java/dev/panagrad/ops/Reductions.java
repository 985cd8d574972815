package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Elements;
import dev.panagrad.Shapes;
import dev.panagrad.SharedDims;
import dev.panagrad.StridedLoop;
import dev.panagrad.Tensor;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/** Reductions over all elements or over dims, with keepdim. */
public final class Reductions {
  private Reductions() {}

  /** Which dims of a rank-{@code r} tensor a dim list names (empty list: all of them). */
  public static boolean[] dimMask(long[] dims, int r) {
    boolean[] mask = new boolean[Math.max(r, 0)];
    if (dims == null || dims.length == 0) {
      Arrays.fill(mask, true);
      return mask;
    }
    for (long d : dims) {
      int w = Shapes.wrapDim(d, r);
      if (r == 0) continue;
      if (mask[w])
        throw new IllegalArgumentException(
            "dim " + w + " appears multiple times in the list of dims");
      mask[w] = true;
    }
    return mask;
  }

  /** The shape after reducing {@code mask} dims (kept as 1 with keepdim). */
  public static long[] reducedShape(long[] shape, boolean[] mask, boolean keepdim) {
    int n = 0;
    for (int i = 0; i < shape.length; i++) if (!mask[i] || keepdim) n++;
    long[] out = new long[n];
    for (int i = 0, j = 0; i < shape.length; i++) {
      if (!mask[i]) out[j++] = shape[i];
      else if (keepdim) out[j++] = 1;
    }
    return out;
  }

  /** Interface of an accumulating reduction: start value, step, and finish. */
  interface Reducer {
    double init();

    double step(double acc, double x);
  }

  /**
   * Reduces {@code a} over {@code mask} into a new tensor of {@code dt}: the input is visited in
   * row-major order and accumulated in double, so the result is the same on every run.
   */
  static Tensor reduce(Tensor a, boolean[] mask, boolean keepdim, DType dt, Reducer r) {
    long[] shape = a.shape();
    long[] keptShape = reducedShape(shape, mask, true);
    long outN = Shapes.numel(keptShape);
    long[] accStrides = Shapes.contiguousStrides(keptShape);
    for (int i = 0; i < shape.length; i++) if (mask[i]) accStrides[i] = 0;
    Tensor out = Tensor.empty(dt, reducedShape(shape, mask, keepdim));
    Reduction work =
        new Reduction(
            a.segment(), a.dtype(), out.segment(), dt, Math.toIntExact(outN), a.numel(), r);
    long[][] strides = {a.stride(), accStrides};
    long[] offsets = {a.storageOffset(), 0};
    if (Recorder.active()) {
      // Recorded as one instruction over precomputed runs: replay resets the accumulators itself.
      work.plan = StridedLoop.plan(shape, strides, offsets);
      Recorder.record("reduce " + Shapes.str(shape) + " -> " + Shapes.str(keptShape), work);
      work.run();
    } else {
      StridedLoop.forEach(shape, strides, offsets, work);
      work.finish();
    }
    return out;
  }

  private static final long[] NO_DIMS = {}; // a 0-d result's shape, with no varargs array a call

  /** True when a's elements are one contiguous float32 or float64 run, summed outside a capture. */
  private static boolean isWholeFloatRun(Tensor a) {
    DType d = a.dtype();
    return (d == DType.FLOAT32 || d == DType.FLOAT64) && !Recorder.active() && a.isContiguous();
  }

  /**
   * sum() of one contiguous run: {@link #sumMatrix}'s arithmetic for one row, into a 0-d tensor.
   */
  private static Tensor sumWhole(Tensor a) {
    Tensor out = Tensor.empty(a.dtype(), NO_DIMS);
    sumRuns(a.segment(), a.storageOffset(), 1, a.numel(), 1, a.dtype(), out.segment());
    return out;
  }

  /**
   * The sum of contiguous matrix a over dim d: what {@link #reduce} computes for it (the strided
   * loop visits it row by row, each row one run, into acc[col] or acc[row]; Reduction.run's
   * branches, then finish()), with none of the loop's arrays or the Reduction object.
   */
  private static Tensor sumMatrix(Tensor a, int d, boolean keepdim) {
    long rows = a.shapeArray()[0], cols = a.shapeArray()[1];
    long kept = d == 0 ? cols : rows;
    long[] shape =
        !keepdim ? SharedDims.of(kept) : d == 0 ? SharedDims.of(1, cols) : SharedDims.of(rows, 1);
    Tensor out = Tensor.empty(a.dtype(), shape);
    sumRuns(a.segment(), a.storageOffset(), rows, cols, d, a.dtype(), out.segment());
    return out;
  }

  /**
   * Sums rows x cols contiguous elements of s from x over dim d (0: one sum per column, 1: one per
   * row) into so, as Reduction.run and finish() do: Neumaier-compensated in double, in row-major
   * order, float32 rows through the heap copy.
   */
  private static void sumRuns(
      MemorySegment s, long x, long rows, long cols, int d, DType dt, MemorySegment so) {
    int outN = Math.toIntExact(d == 0 ? cols : rows);
    double[][] pair = ACCUMULATORS.pair(outN);
    double[] acc = pair[0], comp = pair[1];
    Arrays.fill(acc, 0, outN, 0);
    Arrays.fill(comp, 0, outN, 0);
    float[] run = dt == DType.FLOAT32 ? SCRATCH.get() : null;
    for (long r = 0; r < rows; r++, x += cols) {
      if (run != null) {
        for (long from = 0; from < cols; from += run.length) {
          int len = (int) Math.min(run.length, cols - from);
          MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, (x + from) * 4, run, 0, len);
          if (d == 1) neumaierInto(acc, comp, (int) r, run, len);
          else neumaierEach(acc, comp, (int) from, run, len);
        }
      } else {
        for (long c = 0; c < cols; c++) {
          int k = (int) (d == 1 ? r : c);
          double v = s.getAtIndex(ValueLayout.JAVA_DOUBLE, x + c), t = acc[k] + v;
          comp[k] += Math.abs(acc[k]) >= Math.abs(v) ? (acc[k] - t) + v : (v - t) + acc[k];
          acc[k] = t;
        }
      }
    }
    for (int i = 0; i < outN; i++) {
      Elements.put(so, dt, i, Double.isFinite(comp[i]) ? acc[i] + comp[i] : acc[i]);
    }
  }

  /** The longest piece of a run {@link #reduce} copies to the heap at once. */
  private static final int RUN_CHUNK = 4096;

  private static final ThreadLocal<float[]> SCRATCH =
      ThreadLocal.withInitial(() -> new float[RUN_CHUNK]);

  /** The thread's accumulators for eager reductions. */
  private static final DoubleScratch ACCUMULATORS = new DoubleScratch();

  /** Adds run[0, len) into acc[k] one by one, Neumaier-compensated (comp[k]). */
  private static void neumaierInto(double[] acc, double[] comp, int k, float[] run, int len) {
    double sum = acc[k], c = comp[k];
    for (int i = 0; i < len; i++) {
      double v = run[i], t = sum + v;
      c += Math.abs(sum) >= Math.abs(v) ? (sum - t) + v : (v - t) + sum;
      sum = t;
    }
    acc[k] = sum;
    comp[k] = c;
  }

  /**
   * Adds run[i] into acc[k + i] for each i, compensated (comp[k + i]). The rounding error of each
   * sum comes from Knuth's branch-free TwoSum rather than Neumaier's comparison: both give the
   * exact error of {@code a + v} (so the same bits), and across many outputs the comparison is a
   * branch the CPU mispredicts half the time. (Where a sum overflows, both errors are non-finite
   * and are dropped alike.)
   */
  private static void neumaierEach(double[] acc, double[] comp, int k, float[] run, int len) {
    for (int i = 0; i < len; i++) {
      double a = acc[k + i], v = run[i], t = a + v, vPart = t - a;
      comp[k + i] += (a - (t - vPart)) + (v - vPart);
      acc[k + i] = t;
    }
  }

  /**
   * One reduction of {@code a} into {@code out}: the input is visited in row-major order and
   * accumulated in double, so the result is the same on every run. Runs again, allocating nothing,
   * as a replayed instruction.
   */
  private static final class Reduction implements StridedLoop.Body, Recorder.Instruction {
    private final MemorySegment s, so;
    private final DType ta, dt;
    private final boolean f32;
    private final double[] acc, comp; // outN long, or longer when they are the thread's
    private final int outN;
    private final float[] run;
    private final Reducer r;
    StridedLoop.Plan plan;

    Reduction(
        MemorySegment s, DType ta, MemorySegment so, DType dt, int outN, long numel, Reducer r) {
      this.s = s;
      this.ta = ta;
      this.so = so;
      this.dt = dt;
      this.f32 = ta == DType.FLOAT32;
      this.r = r;
      this.outN = outN;
      // Eager reductions share the thread's accumulators and scratch run (they never nest); a
      // recorded one owns its own, as its instruction may be replayed on another thread.
      boolean owned = Recorder.active();
      double[][] shared = owned ? null : ACCUMULATORS.pair(outN);
      this.acc = owned ? new double[outN] : shared[0];
      this.comp = r != SUM ? null : owned ? new double[outN] : shared[1];
      this.run =
          r != SUM || !f32
              ? null
              : owned ? new float[(int) Math.min(numel, RUN_CHUNK)] : SCRATCH.get();
      reset();
    }

    @Override
    public void run(long[] off, long[] inner, long n) {
      long x = off[0], o = off[1];
      if (run != null && inner[0] == 1 && (inner[1] == 0 || inner[1] == 1)) {
        // A contiguous float32 run: the same steps, in the same order, on a heap copy of the
        // run (a bulk copy instead of a bounds-checked access per element).
        for (long from = 0; from < n; from += run.length) {
          int len = (int) Math.min(run.length, n - from);
          MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, (x + from) * 4, run, 0, len);
          if (inner[1] == 0) neumaierInto(acc, comp, (int) o, run, len);
          else neumaierEach(acc, comp, (int) (o + from), run, len);
        }
      } else if (comp != null) {
        // Neumaier-compensated summation in double: float32 sums are exact far beyond 2^24
        // elements, float64 sums lose no more than a few ulps, and the order is fixed.
        for (long i = 0; i < n; i++, x += inner[0], o += inner[1]) {
          int k = (int) o;
          double v = f32 ? s.getAtIndex(ValueLayout.JAVA_FLOAT, x) : Elements.get(s, ta, x);
          double t = acc[k] + v;
          comp[k] += Math.abs(acc[k]) >= Math.abs(v) ? (acc[k] - t) + v : (v - t) + acc[k];
          acc[k] = t;
        }
      } else {
        for (long i = 0; i < n; i++, x += inner[0], o += inner[1]) {
          acc[(int) o] = r.step(acc[(int) o], Elements.get(s, ta, x));
        }
      }
    }

    /** Replays the reduction over the recorded runs. */
    @Override
    public void run() {
      reset();
      plan.forEach(this);
      finish();
    }

    private void reset() {
      Arrays.fill(acc, 0, outN, r.init());
      if (comp != null) Arrays.fill(comp, 0, outN, 0);
    }

    void finish() {
      if (comp != null) {
        for (int i = 0; i < outN; i++) {
          if (Double.isFinite(comp[i])) acc[i] += comp[i];
        }
      }
      for (int i = 0; i < outN; i++) Elements.put(so, dt, i, acc[i]);
    }
  }

  /** The mean from the sum: element 0 divided by n in double, rounded once. */
  private static void divideFirst(MemorySegment so, DType dt, long n) {
    Elements.put(so, dt, 0, Elements.get(so, dt, 0) / n);
  }

  static final Reducer SUM =
      new Reducer() {
        public double init() {
          return 0;
        }

        public double step(double acc, double x) {
          return acc + x;
        }
      };

  static DType sumType(Tensor a) {
    return a.dtype().isFloatingPoint() ? a.dtype() : DType.INT64;
  }

  public static Tensor sum(Tensor a) {
    Tensor out =
        isWholeFloatRun(a)
            ? sumWhole(a)
            : reduce(a, dimMask(null, a.dim()), false, sumType(a), SUM);
    if (Tape.needsRecord(a)) Tape.record(Op.SUM, out, a, null);
    return out;
  }

  public static Tensor sum(Tensor a, long[] dims, boolean keepdim) {
    if (dims.length == 1 && a.dim() == 2 && isWholeFloatRun(a) && !Tape.needsRecord(a)) {
      return sumMatrix(a, Shapes.wrapDim(dims[0], 2), keepdim); // a bias's gradient
    }
    boolean[] mask = dimMask(dims, a.dim());
    Tensor out = reduce(a, mask, keepdim, sumType(a), SUM);
    if (Tape.needsRecord(a)) Tape.record(Op.SUM_DIM, out, a, null, keepdim ? 1 : 0, mask);
    return out;
  }

  static void checkMeanType(Tensor a) {
    if (!a.dtype().isFloatingPoint()) {
      throw new IllegalArgumentException(
          "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: "
              + (a.dtype() == DType.INT64 ? "Long" : "Bool"));
    }
  }

  public static Tensor mean(Tensor a) {
    checkMeanType(a);
    long n = a.numel();
    Tensor out = reduce(a, dimMask(null, a.dim()), false, a.dtype(), SUM);
    MemorySegment so = out.segment();
    DType dt = out.dtype();
    divideFirst(so, dt, n);
    if (Recorder.active()) Recorder.record("mean /" + n, () -> divideFirst(so, dt, n));
    if (Tape.needsRecord(a)) Tape.record(Op.MEAN, out, a, null, n, null);
    return out;
  }

  public static Tensor mean(Tensor a, long[] dims, boolean keepdim) {
    checkMeanType(a);
    boolean[] mask = dimMask(dims, a.dim());
    long count = 1;
    long[] sh = a.shape();
    for (int i = 0; i < sh.length; i++) if (mask[i]) count *= sh[i];
    Tensor s = reduce(a, mask, keepdim, a.dtype(), SUM);
    long c = count;
    Tensor out = Pointwise.unary(s, s.dtype(), v -> v / c);
    if (Tape.needsRecord(a))
      Tape.record(
          Op.MEAN_DIM, out, new Tensor[] {a}, null, new double[] {keepdim ? 1 : 0, count}, mask);
    return out;
  }

  /**
   * Expands a reduced gradient back over the reduced dims (the backward of sum/mean over dims):
   * reinserts the dropped dims as size 1 and expands to {@code shape}.
   */
  public static Tensor unreduce(Tensor g, long[] shape, boolean[] mask, boolean keepdim) {
    Tensor k = g;
    if (!keepdim && mask != null) {
      k = g.reshape(reducedShape(shape, mask, true));
    }
    return k.expand(shape);
  }
}
