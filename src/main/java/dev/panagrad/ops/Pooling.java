package dev.panagrad.ops;

import static dev.panagrad.ops.Convolution.PLANES;
import static dev.panagrad.ops.Convolution.checkFloat;
import static dev.panagrad.ops.Convolution.checkNoDoubleBackward;
import static dev.panagrad.ops.Convolution.data;
import static dev.panagrad.ops.Convolution.pair;
import static dev.panagrad.ops.Convolution.same;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.SharedDims;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Ctx;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;
import dev.panagrad.kernels.KernelProvider;
import dev.panagrad.kernels.Kernels;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.Recorder;
import dev.panagrad.memory.Storage;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * 2-D max and average pooling, forward and backward, on NCHW (or unbatched CHW) tensors of float32
 * or float64: max pooling's planes split over the pool's threads, average pooling by a walk of the
 * windows in double.
 */
public final class Pooling {
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;
  private static final Kernels K = KernelProvider.get();

  /** Dilation 1 (average pooling has none). */
  private static final long[] ONE = {1};

  /**
   * Each thread's reusable tasks for its eager max pooling calls (see Convolution's EagerTasks):
   * eager ops never nest on a thread; a captured step records new tasks of its own.
   */
  private static final class EagerTasks {
    private static final ThreadLocal<EagerTasks> OF_THREAD =
        ThreadLocal.withInitial(EagerTasks::new);

    final MaxPool maxPool = new MaxPool();
    final MaxPoolScatter maxPoolScatter = new MaxPoolScatter();

    static EagerTasks get() {
      return OF_THREAD.get();
    }
  }

  private Pooling() {}

  /**
   * A pooling call's geometry, checked: what its backward needs besides max pooling's argmax (which
   * is saved with the row). Interned ({@link #of}): a training step pools the same few geometries
   * every step. The shapes are shared arrays (read only).
   */
  public record PoolArgs(
      String op,
      long[] inputShape,
      long[] outputShape,
      int[] kernel,
      int[] stride,
      int[] padding,
      int[] dilation,
      boolean ceilMode,
      boolean countIncludePad,
      long divisorOverride) {
    /** The geometries of recent calls; racy like conv2d's geometry table (final fields). */
    private static final PoolArgs[] RECENT = new PoolArgs[8];

    /**
     * The checked geometry of pooling {@code x} (stride null or empty: the kernel size): a recent
     * equal one, or a new one, checked as PyTorch checks it. x's dtype is checked on every call.
     */
    static PoolArgs of(
        String op,
        Tensor x,
        long[] kernel,
        long[] stride,
        long[] padding,
        long[] dilation,
        boolean ceilMode,
        boolean countIncludePad,
        long divisorOverride) {
      long[] strideOrKernel = stride == null || stride.length == 0 ? kernel : stride;
      long[] xs = x.shapeArray();
      PoolArgs[] recent = RECENT;
      for (PoolArgs a : recent) {
        if (a != null
            && a.op.equals(op)
            && (a.inputShape == xs || Arrays.equals(a.inputShape, xs))
            && same(a.kernel, kernel)
            && same(a.stride, strideOrKernel)
            && same(a.padding, padding)
            && same(a.dilation, dilation)
            && a.ceilMode == ceilMode
            && a.countIncludePad == countIncludePad
            && a.divisorOverride == divisorOverride) {
          checkFloat(op, x);
          return a;
        }
      }
      int[] k = pair("kernel_size", kernel);
      int[] s = stride == null || stride.length == 0 ? k.clone() : pair("stride", stride);
      int[] p = pair("padding", padding), d = pair("dilation", dilation);
      if (divisorOverride < 0) throw new IllegalArgumentException("divisor must be not zero");
      boolean maxPool = op.equals("max_pool2d");
      int[] os = poolShape(op, x, k, s, p, d, ceilMode, maxPool);
      PoolArgs a =
          new PoolArgs(
              op,
              SharedDims.of(xs),
              SharedDims.of(pooledShape(xs, os[0], os[1])),
              k,
              s,
              p,
              d,
              ceilMode,
              countIncludePad,
              divisorOverride);
      System.arraycopy(recent, 0, recent, 1, recent.length - 1);
      recent[0] = a;
      return a;
    }

    int oh() {
      return (int) outputShape[outputShape.length - 2];
    }

    int ow() {
      return (int) outputShape[outputShape.length - 1];
    }
  }

  /** PyTorch's pooling_output_shape. */
  static int pooledSize(int in, int k, int pad, int stride, int dil, boolean ceil) {
    int num = in + 2 * pad - dil * (k - 1) - 1 + (ceil ? stride - 1 : 0);
    int out = Math.floorDiv(num, stride) + 1;
    if (ceil && (long) (out - 1) * stride >= in + pad) out--;
    return out;
  }

  /** Checks a pooling call and returns {oh, ow}. */
  static int[] poolShape(
      String op, Tensor x, int[] k, int[] s, int[] p, int[] d, boolean ceil, boolean maxPool) {
    if (x.dim() != 3 && x.dim() != 4) {
      throw new IllegalArgumentException(
          "non-empty 3D or 4D (batch mode) tensor expected for input, but got: "
              + Shapes.str(x.shape()));
    }
    checkFloat(op, x);
    if (k[0] <= 0 || k[1] <= 0) {
      throw new IllegalArgumentException(
          "kernel size should be greater than zero, but got kH: " + k[0] + " kW: " + k[1]);
    }
    if (s[0] <= 0 || s[1] <= 0) {
      throw new IllegalArgumentException(
          "stride should be greater than zero, but got dH: " + s[0] + " dW: " + s[1]);
    }
    if (d[0] <= 0 || d[1] <= 0) {
      throw new IllegalArgumentException(
          "dilation should be greater than zero, but got dilationH: "
              + d[0]
              + " dilationW: "
              + d[1]);
    }
    for (int i = 0; i < 2; i++) {
      if (p[i] < 0 || p[i] > (maxPool ? (d[i] * (k[i] - 1) + 1) : k[i]) / 2) {
        throw new IllegalArgumentException(
            "pad should be at most half of "
                + (maxPool ? "effective " : "")
                + "kernel size, but got pad="
                + p[i]
                + ", kernel_size="
                + k[i]
                + (maxPool ? " and dilation=" + d[i] : ""));
      }
    }
    long[] xs = x.shape();
    int h = (int) xs[xs.length - 2], w = (int) xs[xs.length - 1];
    int oh = pooledSize(h, k[0], p[0], s[0], d[0], ceil);
    int ow = pooledSize(w, k[1], p[1], s[1], d[1], ceil);
    if (oh < 1 || ow < 1) {
      long ch = xs[xs.length - 3];
      throw new IllegalArgumentException(
          "Given input size: ("
              + ch
              + "x"
              + h
              + "x"
              + w
              + "). Calculated output size: ("
              + ch
              + "x"
              + oh
              + "x"
              + ow
              + "). Output size is too small");
    }
    return new int[] {oh, ow};
  }

  static long[] pooledShape(long[] xs, int oh, int ow) {
    long[] out = xs.clone();
    out[out.length - 2] = oh;
    out[out.length - 1] = ow;
    return out;
  }

  /**
   * F.max_pool2d (stride null or empty: the kernel size); records MaxPool2DWithIndicesBackward0.
   * The first maximum of a window wins; a NaN wins over numbers (the last NaN, as ATen's kernel).
   */
  public static Tensor maxPool2d(
      Tensor x, long[] kernel, long[] stride, long[] padding, long[] dilation, boolean ceilMode) {
    PoolArgs a = PoolArgs.of("max_pool2d", x, kernel, stride, padding, dilation, ceilMode, true, 0);
    Tensor xc = x.contiguous();
    int n = Math.toIntExact(Shapes.numel(a.outputShape()));
    // The argmax is computed in a heap array (the thread's in eager mode, the instruction's own
    // when recorded) and kept for backward, only when there will be a backward, as int32 indices
    // in the room after the output's elements (no tensor of its own: it lives and dies with the
    // output's storage, which the row saves).
    boolean recorded = Recorder.active(), keep = Tape.needsRecord(x);
    Tensor r =
        keep
            ? Tensor.emptyWithRoom(x.dtype(), a.outputShape(), 4L * n)
            : Tensor.empty(x.dtype(), a.outputShape());
    int[] arg = recorded ? new int[n] : argScratch(n);
    MaxPool pool = recorded ? new MaxPool() : EagerTasks.get().maxPool;
    pool.set(a, xc, r, arg, keep);
    pool.run();
    if (recorded) {
      Recorder.record(
          "max_pool2d " + Shapes.str(a.inputShape()) + " k=" + a.kernel()[0] + "x" + a.kernel()[1],
          pool);
    }
    if (keep) Tape.record(Op.MAX_POOL2D, r, x, r, a);
    return r;
  }

  /**
   * Max pooling of whole planes, split over the pool's threads: each writes its own outputs and
   * argmax entries, and keeps its argmax entries itself (one thread copying them all took 0.1 ms in
   * W7). An eager call re-aims its thread's task (no garbage); a recorded one keeps its own.
   */
  private static final class MaxPool implements Parallel.Range, Recorder.Instruction {
    private PoolArgs a;
    private MemorySegment xs, rs, as;
    private long xo, argAt;
    private int[] arg;
    private boolean f32, inside;
    private int h, w, planes;

    /** keep: the argmax goes to the room after r's elements. */
    void set(PoolArgs a, Tensor xc, Tensor r, int[] arg, boolean keep) {
      long[] is = a.inputShape();
      this.a = a;
      h = (int) is[is.length - 2];
      w = (int) is[is.length - 1];
      planes = (int) (Shapes.numel(is) / ((long) h * w));
      xs = xc.segment();
      xo = xc.storageOffset();
      rs = r.segment();
      as = keep ? rs : null;
      argAt = argmaxAt(r.dtype(), Shapes.numel(a.outputShape()));
      this.arg = arg;
      f32 = xc.dtype() == DType.FLOAT32;
      inside =
          f32
              && windowsInside(
                  h, w, a.oh(), a.ow(), a.kernel(), a.stride(), a.padding(), a.dilation());
    }

    @Override
    public void run() {
      Parallel.forItems(planes, (long) h * w, this);
    }

    @Override
    public void run(long p0, long p1) {
      int oh = a.oh(), ow = a.ow();
      int[] k = a.kernel(), s = a.stride(), d = a.dilation();
      if (inside) maxPoolF(xs, xo, rs, arg, (int) p0, (int) p1, h, w, oh, ow, k, s, d);
      else maxPool(xs, xo, f32, rs, arg, (int) p0, (int) p1, h, w, oh, ow, k, s, a.padding(), d);
      keepArgmax(arg, as, argAt, (int) p0 * oh * ow, (int) p1 * oh * ow);
    }
  }

  private static final ThreadLocal<int[]> ARGMAX_SCRATCH =
      ThreadLocal.withInitial(() -> new int[0]);

  /** This thread's argmax array, at least {@code n} long (eager pooling never nests). */
  private static int[] argScratch(int n) {
    int[] a = ARGMAX_SCRATCH.get();
    if (a.length < n) ARGMAX_SCRATCH.set(a = new int[n]);
    return a;
  }

  /** Where the argmax starts (bytes) in the storage of an output of n elements of dtype. */
  private static long argmaxAt(DType dtype, long n) {
    return n * dtype.byteSize();
  }

  /** Copies indices [from, to) to the kept argmax at byte argAt of {@code as} (null: none kept). */
  private static void keepArgmax(int[] arg, MemorySegment as, long argAt, int from, int to) {
    if (as != null) {
      MemorySegment.copy(arg, from, as, ValueLayout.JAVA_INT, argAt + from * 4L, to - from);
    }
  }

  /**
   * True when no window reaches past the plane: no padding, and floor mode or a ceil adding
   * nothing.
   */
  private static boolean windowsInside(
      int h, int w, int oh, int ow, int[] k, int[] s, int[] p, int[] d) {
    return p[0] == 0
        && p[1] == 0
        && (oh - 1) * s[0] + (k[0] - 1) * d[0] < h
        && (ow - 1) * s[1] + (k[1] - 1) * d[1] < w;
  }

  /**
   * The max over each window of planes [p0, p1) into rs, and where it was (the argmax backward
   * reads) into arg.
   */
  private static void maxPool(
      MemorySegment xseg,
      long xo,
      boolean f32,
      MemorySegment rs,
      int[] arg,
      int p0,
      int p1,
      int h,
      int w,
      int oh,
      int ow,
      int[] k,
      int[] s,
      int[] p,
      int[] d) {
    for (int pl = p0; pl < p1; pl++) {
      int base = pl * h * w;
      for (int y = 0; y < oh; y++) {
        int hs = y * s[0] - p[0];
        for (int z = 0; z < ow; z++) {
          int ws = z * s[1] - p[1];
          double best = Double.NEGATIVE_INFINITY;
          int bi = -1;
          for (int i = 0; i < k[0]; i++) {
            int ih = hs + i * d[0];
            if (ih < 0 || ih >= h) continue;
            for (int j = 0; j < k[1]; j++) {
              int iw = ws + j * d[1];
              if (iw < 0 || iw >= w) continue;
              long at = xo + base + ih * w + iw;
              double v = f32 ? xseg.getAtIndex(F, at) : xseg.getAtIndex(D, at);
              if (bi < 0 || v > best || Double.isNaN(v)) {
                best = v;
                bi = base + ih * w + iw;
              }
            }
          }
          int oi = (pl * oh + y) * ow + z;
          if (f32) rs.setAtIndex(F, oi, (float) best);
          else rs.setAtIndex(D, oi, best);
          arg[oi] = bi;
        }
      }
    }
  }

  /**
   * {@link #maxPool} for float32 windows that all lie inside the plane ({@link #windowsInside}), a
   * plane at a time through this thread's heap arrays: no bounds tests, and the window's first
   * element starts the search. Float comparisons of float values decide as the double ones do, so
   * the values and the argmax are the same. 2x2 windows at stride 2 go to the kernels.
   */
  private static void maxPoolF(
      MemorySegment xseg,
      long xo,
      MemorySegment rs,
      int[] arg,
      int p0,
      int p1,
      int h,
      int w,
      int oh,
      int ow,
      int[] k,
      int[] s,
      int[] d) {
    float[] in = PLANES.first(h * w), out = PLANES.second(oh * ow);
    boolean twoByTwo = k[0] == 2 && k[1] == 2 && s[0] == 2 && s[1] == 2 && d[0] == 1 && d[1] == 1;
    for (int pl = p0; pl < p1; pl++) {
      int base = pl * h * w, argAt = pl * oh * ow;
      MemorySegment.copy(xseg, F, (xo + base) * 4, in, 0, h * w);
      if (twoByTwo) K.maxPool2x2F(in, w, out, arg, argAt, base, oh, ow);
      else maxPoolInside(in, w, out, arg, argAt, base, oh, ow, k, s, d);
      MemorySegment.copy(out, 0, rs, F, (long) argAt * 4, oh * ow);
    }
  }

  /** Windows all inside the plane, any size, stride and dilation. */
  private static void maxPoolInside(
      float[] in,
      int w,
      float[] out,
      int[] arg,
      int argAt,
      int base,
      int oh,
      int ow,
      int[] k,
      int[] s,
      int[] d) {
    for (int y = 0; y < oh; y++) {
      for (int z = 0; z < ow; z++) {
        int first = y * s[0] * w + z * s[1], bi = first;
        float best = in[first];
        for (int i = 0; i < k[0]; i++) {
          for (int j = 0, at = first + i * d[0] * w; j < k[1]; j++, at += d[1]) {
            float v = in[at];
            if (v > best || (v != v && at != first)) {
              best = v;
              bi = at;
            }
          }
        }
        out[y * ow + z] = best;
        arg[argAt + y * ow + z] = base + bi;
      }
    }
  }

  /** MaxPool2DWithIndicesBackward0: each output's gradient goes to its argmax. */
  public static Tensor maxPool2dBackward(Ctx c, Tensor grad) {
    checkNoDoubleBackward(c, grad);
    PoolArgs a = (PoolArgs) c.attr();
    // the output's storage, with the argmax after its elements; refuses if its step has ended
    Storage kept = c.savedStorage(0);
    // Each output's gradient goes to the input it took its max from (sums where windows overlap).
    Tensor gc = grad.contiguous();
    // float32 writes every element of gx itself; the float64 loop adds into zeros
    boolean f32 = grad.dtype() == DType.FLOAT32;
    Tensor gx =
        f32
            ? Tensor.empty(grad.dtype(), a.inputShape())
            : Torch.zeros(grad.dtype(), a.inputShape());
    int n = Math.toIntExact(grad.numel());
    boolean recorded = Recorder.active();
    int[] arg = recorded ? new int[n] : argScratch(n);
    MaxPoolScatter scatter = recorded ? new MaxPoolScatter() : EagerTasks.get().maxPoolScatter;
    scatter.set(a, kept, gc, gx, arg, n);
    scatter.run();
    if (recorded) Recorder.record("max_pool2d backward n=" + n, scatter);
    return gx;
  }

  /**
   * Max pooling's backward: output gradients scattered to their argmax, float32 a plane at a time
   * split over the pool's threads (each reads its planes' argmax entries itself), float64 in one
   * loop. An eager call re-aims its thread's task (no garbage); a recorded one keeps its own.
   */
  private static final class MaxPoolScatter implements Parallel.Range, Recorder.Instruction {
    private MemorySegment as, gs, xs;
    private long go, argAt;
    private int[] arg;
    private boolean f32;
    private int n, planes, hw, ohw;

    void set(PoolArgs a, Storage kept, Tensor gc, Tensor gx, int[] arg, int n) {
      long[] is = a.inputShape();
      as = kept.segment();
      argAt = argmaxAt(gc.dtype(), n);
      gs = gc.segment();
      go = gc.storageOffset();
      xs = gx.segment();
      this.arg = arg;
      this.n = n;
      f32 = gc.dtype() == DType.FLOAT32;
      hw = (int) (is[is.length - 2] * is[is.length - 1]);
      planes = (int) (Shapes.numel(is) / hw);
      ohw = n / Math.max(1, planes);
    }

    @Override
    public void run() {
      if (f32) {
        Parallel.forItems(planes, hw, this);
      } else {
        MemorySegment.copy(as, ValueLayout.JAVA_INT, argAt, arg, 0, n);
        scatterToArgmaxD(gs, go, xs, arg, n);
      }
    }

    @Override
    public void run(long p0, long p1) {
      int from = (int) p0 * ohw, count = (int) (p1 - p0) * ohw;
      MemorySegment.copy(as, ValueLayout.JAVA_INT, argAt + from * 4L, arg, from, count);
      scatterToArgmaxF(gs, go, xs, arg, (int) p0, (int) p1, ohw, hw);
    }
  }

  /**
   * {@link #scatterToArgmaxD} for float32 on planes [p0, p1), a plane at a time (a window's argmax
   * is in its own plane; Note [float32 planes on the heap]): the plane's output gradients in, zeros
   * plus the scattered sums out, added in the same order as the element loop. Every input element
   * is written, so xs need not be zeroed first.
   */
  private static void scatterToArgmaxF(
      MemorySegment gs, long go, MemorySegment xs, int[] arg, int p0, int p1, int ohw, int hw) {
    float[] gp = PLANES.first(ohw), plane = PLANES.second(hw);
    for (int pl = p0; pl < p1; pl++) {
      MemorySegment.copy(gs, F, (go + (long) pl * ohw) * 4, gp, 0, ohw);
      java.util.Arrays.fill(plane, 0, hw, 0f);
      int base = pl * hw;
      for (int i = 0; i < ohw; i++) {
        int at = arg[pl * ohw + i];
        if (at >= 0) plane[at - base] += gp[i];
      }
      MemorySegment.copy(plane, 0, xs, F, (long) base * 4, hw);
    }
  }

  /** The float64 scatter: adds each output's gradient into zeros at its argmax, in order. */
  private static void scatterToArgmaxD(
      MemorySegment gs, long go, MemorySegment xs, int[] arg, int n) {
    for (int i = 0; i < n; i++) {
      if (arg[i] >= 0)
        xs.setAtIndex(D, arg[i], xs.getAtIndex(D, arg[i]) + gs.getAtIndex(D, go + i));
    }
  }

  /**
   * F.avg_pool2d (stride null or empty: the kernel size; divisorOverride 0: none); records
   * AvgPool2DBackward0.
   */
  public static Tensor avgPool2d(
      Tensor x,
      long[] kernel,
      long[] stride,
      long[] padding,
      boolean ceilMode,
      boolean countIncludePad,
      long divisorOverride) {
    PoolArgs a =
        PoolArgs.of(
            "avg_pool2d",
            x,
            kernel,
            stride,
            padding,
            ONE,
            ceilMode,
            countIncludePad,
            divisorOverride);
    int[] os = {a.oh(), a.ow()};
    double[] xv = data(x);
    double[] out = new double[(int) Shapes.numel(a.outputShape())];
    avgWalk(a, os, (oi, ii, div) -> out[oi] += xv[ii] / div);
    Tensor r = Torch.tensor(out, x.dtype(), a.outputShape());
    if (Tape.needsRecord(x)) Tape.record(Op.AVG_POOL2D, r, new Tensor[] {x}, null, null, a);
    return r;
  }

  /** AvgPool2DBackward0: each output's gradient spread over its window, divided as forward. */
  public static Tensor avgPool2dBackward(Ctx c, Tensor grad) {
    checkNoDoubleBackward(c, grad);
    PoolArgs a = (PoolArgs) c.attr();
    long[] gs = grad.shape();
    int[] os = {(int) gs[gs.length - 2], (int) gs[gs.length - 1]};
    double[] gy = data(grad);
    double[] gx = new double[(int) Shapes.numel(a.inputShape())];
    avgWalk(a, os, (oi, ii, div) -> gx[ii] += gy[oi] / div);
    return Torch.tensor(gx, grad.dtype(), a.inputShape());
  }

  interface AvgVisit {
    void visit(int outIndex, int inIndex, double divisor);
  }

  /** Visits every (output, input in its window) pair with the window's divisor, as ATen does. */
  static void avgWalk(PoolArgs a, int[] os, AvgVisit v) {
    long[] xs = a.inputShape();
    int h = (int) xs[xs.length - 2], w = (int) xs[xs.length - 1];
    int planes = (int) (Shapes.numel(xs) / ((long) h * w));
    int[] k = a.kernel(), s = a.stride(), p = a.padding();
    int oh = os[0], ow = os[1];
    for (int pl = 0; pl < planes; pl++) {
      for (int y = 0; y < oh; y++) {
        for (int z = 0; z < ow; z++) {
          int hs = y * s[0] - p[0], ws = z * s[1] - p[1];
          int he = Math.min(hs + k[0], h + p[0]), we = Math.min(ws + k[1], w + p[1]);
          int poolSize = (he - hs) * (we - ws);
          hs = Math.max(hs, 0);
          ws = Math.max(ws, 0);
          he = Math.min(he, h);
          we = Math.min(we, w);
          if (hs >= he || ws >= we) continue;
          double div =
              a.divisorOverride() > 0
                  ? a.divisorOverride()
                  : a.countIncludePad() ? poolSize : (he - hs) * (we - ws);
          int oi = (pl * oh + y) * ow + z;
          for (int ih = hs; ih < he; ih++)
            for (int iw = ws; iw < we; iw++) v.visit(oi, pl * h * w + ih * w + iw, div);
        }
      }
    }
  }
}
