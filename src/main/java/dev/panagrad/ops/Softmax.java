package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Elements;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;
import dev.panagrad.kernels.KernelProvider;
import dev.panagrad.kernels.Kernels;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;

/** softmax and log_softmax along one dim, shifted by the max and computed in double. */
public final class Softmax {
  private Softmax() {}

  public static Tensor softmax(Tensor x, long dim) {
    return softmax(x, dim, false);
  }

  public static Tensor logSoftmax(Tensor x, long dim) {
    return softmax(x, dim, true);
  }

  /** Max-shifted softmax (or log_softmax) along {@code dim}, computed in double. */
  private static Tensor softmax(Tensor x, long dim, boolean log) {
    DType dt = x.dtype().isFloatingPoint() ? x.dtype() : DType.FLOAT32;
    int d = Shapes.wrapDim(dim, x.dim());
    long[] shape = x.shapeArray();
    int n = shape.length == 0 ? 1 : Math.toIntExact(shape[d]);
    long s = 1;
    for (int i = d + 1; i < shape.length; i++) s *= shape[i];
    int inner = Math.toIntExact(s);
    Tensor xc = x.isContiguous() ? x : ShapeOps.contiguous(x.detach());
    Tensor y = Tensor.empty(dt, shape);
    long count = n == 0 ? 0 : y.numel() / n;
    if (inner == 1 && xc.dtype() == dt && !Recorder.active() && !Parallel.splitsItems(count, n)) {
      // what LastDim would run, on this thread, without making it: an eager op allocates no object
      LastDim.rows(
          xc.segment(), xc.storageOffset(), y.segment(), dt == DType.FLOAT32, n, log, 0, count);
    } else {
      Recorder.Instruction rows =
          inner == 1 && xc.dtype() == dt
              ? new LastDim(xc.segment(), xc.storageOffset(), y.segment(), dt, count, n, log)
              : new Rows(xc, y, n, inner, log);
      rows.run();
      if (Recorder.active()) {
        Recorder.record(
            (log ? "log_softmax " : "softmax ") + Shapes.str(shape) + " dim " + d, rows);
      }
    }
    if (Tape.needsRecord(x)) Tape.record(log ? Op.LOG_SOFTMAX : Op.SOFTMAX, y, x, y, d, null);
    return y;
  }

  private static final Kernels K = KernelProvider.get();

  /** The kernels' room for a row's exponentials: the running thread's own, grown as needed. */
  private static final ThreadLocal<double[]> WORK = ThreadLocal.withInitial(() -> new double[64]);

  private static double[] work(int n) {
    double[] w = WORK.get();
    if (w.length < n) WORK.set(w = new double[n]);
    return w;
  }

  /**
   * The common case, softmax along the last dim of a contiguous float tensor: the row kernel on the
   * tensors' memory, rows split over the intra-op pool when there are enough (each row is computed
   * alone, so the split changes no bit). A replayable instruction; its room for exponentials is the
   * running thread's, so replay on another thread or on the pool's workers shares nothing.
   */
  private static final class LastDim implements Recorder.Instruction, Parallel.Range {
    private final MemorySegment xs, ys;
    private final long xo;
    private final boolean f32, log;
    private final long rows;
    private final int n;

    LastDim(MemorySegment xs, long xo, MemorySegment ys, DType dt, long rows, int n, boolean log) {
      this.xs = xs;
      this.xo = xo;
      this.ys = ys;
      this.f32 = dt == DType.FLOAT32;
      this.rows = rows;
      this.n = n;
      this.log = log;
    }

    @Override
    public void run() {
      Parallel.forItems(rows, n, this);
    }

    @Override
    public void run(long from, long to) {
      rows(xs, xo, ys, f32, n, log, from, to);
    }

    /** Rows [from, to) of n elements each. */
    static void rows(
        MemorySegment xs,
        long xo,
        MemorySegment ys,
        boolean f32,
        int n,
        boolean log,
        long from,
        long to) {
      double[] w = work(n);
      if (f32) K.softmaxRowsF(xs, xo + from * n, ys, from * n, to - from, n, log, w);
      else K.softmaxRowsD(xs, xo + from * n, ys, from * n, to - from, n, log, w);
    }
  }

  /**
   * Any other softmax (along an inner dim, or of an integer input): the rows are gathered as
   * doubles, each made contiguous, run through the float64 row kernel and scattered back, rounded
   * once to y's type, which gives the last-dim kernel's bits. A replayable instruction; the
   * gathered rows live in two float64 tensors of the pool, as every other kernel's operands do: the
   * Vector API compiles a kernel for the kind of memory it has seen, and heap arrays wrapped as
   * segments would leave it boxing its vectors on the pool's memory afterwards.
   */
  private static final class Rows implements Recorder.Instruction {
    private final MemorySegment xs, ys, vs, outs;
    private final DType xt, yt;
    private final long xo;
    private final int n, inner, total;
    private final boolean log;
    private final Tensor rowsIn, rowsOut; // held so their storage lives as long as this

    Rows(Tensor x, Tensor y, int n, int inner, boolean log) {
      this.xs = x.segment();
      this.xt = x.dtype();
      this.xo = x.storageOffset();
      this.ys = y.segment();
      this.yt = y.dtype();
      this.total = Math.toIntExact(y.numel());
      this.rowsIn = Tensor.empty(DType.FLOAT64, total);
      this.rowsOut = Tensor.empty(DType.FLOAT64, total);
      this.vs = rowsIn.segment();
      this.outs = rowsOut.segment();
      this.n = n;
      this.inner = inner;
      this.log = log;
    }

    @Override
    public void run() {
      int outer = n * inner == 0 ? 0 : total / (n * inner);
      // Row (o, i) of the input, elements o n inner + j inner + i, goes to row o inner + i of vs.
      for (int o = 0; o < outer; o++) {
        for (int i = 0; i < inner; i++) {
          int from = o * n * inner + i, to = (o * inner + i) * n;
          for (int j = 0; j < n; j++) {
            vs.setAtIndex(
                ValueLayout.JAVA_DOUBLE, to + j, Elements.get(xs, xt, xo + from + j * inner));
          }
        }
      }
      K.softmaxRowsD(vs, 0, outs, 0, (long) outer * inner, n, log, work(n));
      for (int o = 0; o < outer; o++) {
        for (int i = 0; i < inner; i++) {
          int to = o * n * inner + i, from = (o * inner + i) * n;
          for (int j = 0; j < n; j++) {
            Elements.put(
                ys, yt, to + j * inner, outs.getAtIndex(ValueLayout.JAVA_DOUBLE, from + j));
          }
        }
      }
      Reference.reachabilityFence(this); // the row tensors' storage, until the last read
    }
  }

  /** d softmax = y (g - sum(g y, dim)). */
  public static Tensor softmaxBackward(Tensor g, Tensor y, long dim) {
    return y.mul(g.sub(g.mul(y).sum(new long[] {dim}, true)));
  }

  /**
   * d log_softmax = g - exp(y) sum(g, dim): one row kernel when dim is the last one and g and y are
   * floating tensors of one dtype (what cross_entropy's backward meets), the tensor ops otherwise.
   */
  public static Tensor logSoftmaxBackward(Tensor g, Tensor y, long dim) {
    DType dt = y.dtype();
    int d = Shapes.wrapDim(dim, y.dim());
    if (g.dtype() != dt
        || !dt.isFloatingPoint()
        || (y.dim() > 0 && d != y.dim() - 1)
        || Tape.needsRecord(g, y)) { // a double backward differentiates the ops
      return g.sub(y.exp().mul(g.sum(new long[] {dim}, true)));
    }
    Tensor gc = g.isContiguous() ? g : ShapeOps.contiguous(g);
    Tensor yc = y.isContiguous() ? y : ShapeOps.contiguous(y);
    long[] shape = y.shapeArray();
    int n = y.dim() == 0 ? 1 : Math.toIntExact(shape[d]);
    long rows = n == 0 ? 0 : yc.numel() / n;
    Tensor gi = Tensor.empty(dt, shape);
    boolean f32 = dt == DType.FLOAT32;
    if (!Recorder.active() && !Parallel.splitsItems(rows, n)) {
      BackwardRows.rows(
          gc.segment(),
          gc.storageOffset(),
          yc.segment(),
          yc.storageOffset(),
          gi.segment(),
          f32,
          n,
          0,
          rows);
    } else {
      BackwardRows run =
          new BackwardRows(
              gc.segment(),
              gc.storageOffset(),
              yc.segment(),
              yc.storageOffset(),
              gi.segment(),
              f32,
              n,
              rows);
      run.run();
      if (Recorder.active()) {
        Recorder.record("log_softmax backward " + Shapes.str(shape), run);
      }
    }
    return gi;
  }

  /**
   * log_softmax backward along the last dim: the rows of {@link Kernels#logSoftmaxBackwardRowsF}.
   */
  private record BackwardRows(
      MemorySegment gs,
      long go,
      MemorySegment ys,
      long yo,
      MemorySegment is,
      boolean f32,
      int n,
      long count)
      implements Recorder.Instruction, Parallel.Range {
    @Override
    public void run() {
      Parallel.forItems(count, n, this);
    }

    @Override
    public void run(long from, long to) {
      rows(gs, go, ys, yo, is, f32, n, from, to);
    }

    /** Rows [from, to). */
    static void rows(
        MemorySegment gs,
        long go,
        MemorySegment ys,
        long yo,
        MemorySegment is,
        boolean f32,
        int n,
        long from,
        long to) {
      double[] w = work(n);
      long at = from * n;
      if (f32) K.logSoftmaxBackwardRowsF(gs, go + at, ys, yo + at, is, at, to - from, n, w);
      else K.logSoftmaxBackwardRowsD(gs, go + at, ys, yo + at, is, at, to - from, n, w);
    }
  }
}
