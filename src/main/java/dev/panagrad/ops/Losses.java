package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Elements;
import dev.panagrad.Shapes;
import dev.panagrad.SharedDims;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Ctx;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;
import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.KernelProvider;
import dev.panagrad.kernels.Kernels;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Loss functions with PyTorch's {@code reduction} ("none", "mean", "sum"). The fused ones record a
 * single backward node, as PyTorch does; l1_loss and cross_entropy are composites.
 */
public final class Losses {
  private Losses() {}

  /** A 0-d result's shape. */
  private static final long[] SCALAR = {};

  /** PyTorch's Reduction enum: None = 0, Mean = 1, Sum = 2. */
  static final int NONE = 0, MEAN = 1, SUM = 2;

  static int reductionCode(String reduction) {
    return switch (reduction) {
      case "none" -> NONE;
      case "mean" -> MEAN;
      case "sum" -> SUM;
      default ->
          throw new IllegalArgumentException(reduction + " is not a valid value for reduction");
    };
  }

  /** Applies the reduction to an unrecorded elementwise loss. */
  static Tensor reduce(Tensor loss, int red) {
    return switch (red) {
      case NONE -> loss;
      case MEAN -> Reductions.mean(loss);
      default -> Reductions.sum(loss);
    };
  }

  /** The gradient of a reduced loss spread over the elements: g (mean: g / n). */
  static Tensor spread(Tensor g, int red, long n) {
    return red == MEAN ? g.div(n) : g;
  }

  static Tensor sumTo(Tensor g, long[] shape) {
    long[] gs = g.shape();
    if (Arrays.equals(gs, shape)) return g;
    int lead = gs.length - shape.length;
    long[] dims = new long[gs.length];
    int n = 0;
    for (int i = 0; i < gs.length; i++) {
      if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) dims[n++] = i;
    }
    Tensor r = n == 0 ? g : g.sum(Arrays.copyOf(dims, n), true);
    return r.reshape(shape);
  }

  static void sameSize(Tensor input, Tensor target) {
    if (!Arrays.equals(input.shape(), target.shape())) {
      throw new IllegalArgumentException(
          "Target size ("
              + Shapes.str(target.shape())
              + ") must be the same as input size ("
              + Shapes.str(input.shape())
              + ")");
    }
  }

  // ------------------------------------------------------------ mse_loss

  public static Tensor mseLoss(Tensor a, Tensor b, String reduction) {
    int red = reductionCode(reduction);
    // The squared differences are a kernel (float ops for float32, as ATen's mse kernel), so
    // they run on the SIMD kernels and a captured step records them like any elementwise op.
    Tensor sq = Pointwise.binary(a, b, Pointwise.resultType(a, b), BinaryOp.SQUARED_DIFFERENCE, 1);
    Tensor out = reduce(sq, red);
    if (Tape.needsRecord(a, b))
      Tape.record(
          Op.MSE_LOSS,
          out,
          new Tensor[] {a, b},
          new Tensor[] {a, b},
          new double[] {red, sq.numel()},
          null);
    return out;
  }

  /** d mse = (2 (a - b) g, -2 (a - b) g), divided by n for mean. */
  public static Tensor[] mseBackward(Ctx c, Tensor g) {
    Tensor a = c.saved(0), b = c.saved(1);
    Tensor d = a.sub(b).mul(spread(g, (int) c.scalar(0), (long) c.scalar(1))).mul(2);
    return new Tensor[] {
      c.needsGrad(0) ? sumTo(d, c.inputShape(0)) : null,
      c.needsGrad(1) ? sumTo(d.neg(), c.inputShape(1)) : null
    };
  }

  /** l1_loss as PyTorch 1.13 builds it: (a - b).abs(), then mean or sum. */
  public static Tensor l1Loss(Tensor a, Tensor b, String reduction) {
    Tensor d = a.sub(b).abs();
    return switch (reductionCode(reduction)) {
      case NONE -> d;
      case MEAN -> d.mean();
      default -> d.sum();
    };
  }

  // ------------------------------------------------------------ binary cross entropy

  public static Tensor binaryCrossEntropyWithLogits(Tensor x, Tensor y, String reduction) {
    sameSize(x, y);
    int red = reductionCode(reduction);
    Tensor l =
        Pointwise.binary(
            x,
            y,
            Pointwise.resultType(x, y),
            (v, t) -> {
              double m = Math.max(-v, 0);
              return (1 - t) * v + m + Math.log(Math.exp(-m) + Math.exp(-v - m));
            });
    Tensor out = reduce(l, red);
    if (Tape.needsRecord(x, y))
      Tape.record(
          Op.BCE_WITH_LOGITS,
          out,
          new Tensor[] {x, y},
          new Tensor[] {x, y},
          new double[] {red, l.numel()},
          null);
    return out;
  }

  /** d bce_with_logits = ((sigmoid(x) - y) g, -x g), divided by n for mean. */
  public static Tensor[] bceWithLogitsBackward(Ctx c, Tensor g) {
    Tensor x = c.saved(0), y = c.saved(1);
    Tensor s = spread(g, (int) c.scalar(0), (long) c.scalar(1));
    return new Tensor[] {
      c.needsGrad(0) ? x.sigmoid().sub(y).mul(s) : null, c.needsGrad(1) ? x.neg().mul(s) : null
    };
  }

  public static Tensor binaryCrossEntropy(Tensor x, Tensor y, String reduction) {
    if (!Arrays.equals(x.shape(), y.shape())) {
      throw new IllegalArgumentException(
          "Using a target size (torch.Size("
              + Shapes.str(y.shape())
              + ")) that is different to the input size (torch.Size("
              + Shapes.str(x.shape())
              + ")) is deprecated. Please ensure they have the same size.");
    }
    int red = reductionCode(reduction);
    for (double v : x.detach().toDoubleArray()) {
      if (!(v >= 0 && v <= 1))
        throw new IllegalArgumentException("all elements of input should be between 0 and 1");
    }
    Tensor l =
        Pointwise.binary(
            x,
            y,
            Pointwise.resultType(x, y),
            (v, t) ->
                -(t * Math.max(Math.log(v), -100) + (1 - t) * Math.max(Math.log1p(-v), -100)));
    Tensor out = reduce(l, red);
    if (Tape.needsRecord(x, y))
      Tape.record(
          Op.BCE,
          out,
          new Tensor[] {x, y},
          new Tensor[] {x, y},
          new double[] {red, l.numel()},
          null);
    return out;
  }

  /** d bce = (g (x - y) / max(x (1 - x), 1e-12), -g logit(x)), divided by n for mean. */
  public static Tensor[] bceBackward(Ctx c, Tensor g) {
    Tensor x = c.saved(0), y = c.saved(1);
    Tensor s = spread(g, (int) c.scalar(0), (long) c.scalar(1));
    Tensor gx = null, gy = null;
    if (c.needsGrad(0)) gx = x.sub(y).mul(s).div(x.mul(x.rsub(1)).clamp(1e-12));
    if (c.needsGrad(1)) gy = x.rsub(1).log().sub(x.log()).mul(s);
    return new Tensor[] {gx, gy};
  }

  // ------------------------------------------------------------ nll_loss, cross_entropy

  public static Tensor nllLoss(Tensor x, Tensor target, String reduction) {
    return nllLoss(x, target, reduction, -100);
  }

  /** nll_loss of log-probabilities {@code x} ([N, C] or [C]) at int64 {@code target}. */
  public static Tensor nllLoss(Tensor x, Tensor target, String reduction, long ignoreIndex) {
    int red = reductionCode(reduction);
    if (x.dim() < 1 || x.dim() > 2) {
      throw new IllegalArgumentException(
          "nll_loss: expected input of 1 or 2 dimensions, got " + x.dim());
    }
    if (target.dtype() != DType.INT64) {
      throw new IllegalArgumentException(
          "expected scalar type Long but found " + Pointwise.scalarTypeName(target.dtype()));
    }
    boolean batched = x.dim() == 2;
    long n = batched ? x.size(0) : 1;
    long cls = x.size(batched ? 1 : 0);
    if (target.numel() != n || target.dim() != (batched ? 1 : 0)) {
      throw new IllegalArgumentException(
          "Expected input batch_size ("
              + n
              + ") to match target batch_size ("
              + (target.dim() == 0 ? 1 : target.size(0))
              + ").");
    }
    if (!x.dtype().isFloatingPoint()) {
      throw new IllegalArgumentException(
          "\"nll_loss_out_frame\" not implemented for '"
              + Pointwise.scalarTypeName(x.dtype())
              + "'");
    }
    Tensor xc = x.isContiguous() ? x : ShapeOps.contiguous(x.detach());
    Tensor tc = target.isContiguous() ? target : ShapeOps.contiguous(target);
    Tensor out = Tensor.empty(x.dtype(), red == NONE && batched ? SharedDims.of(n) : SCALAR);
    double count;
    if (!Recorder.active()) {
      // what Nll runs, without making it: an eager op allocates no instruction
      double[] each = Nll.work((int) n);
      count =
          Nll.pick(
              xc.segment(),
              xc.dtype(),
              xc.storageOffset(),
              tc.segment(),
              tc.storageOffset(),
              (int) n,
              cls,
              ignoreIndex,
              each);
      Nll.write(out.segment(), out.dtype(), red, (int) n, each, count);
    } else {
      Nll nll =
          new Nll(
              xc.segment(),
              xc.dtype(),
              xc.storageOffset(),
              tc.segment(),
              tc.storageOffset(),
              (int) n,
              cls,
              ignoreIndex,
              red,
              out.segment(),
              out.dtype());
      nll.run();
      count = nll.count;
      nll.capturedCount = count;
      Recorder.record("nll_loss n=" + n + " classes=" + cls + " reduction=" + red, nll);
    }
    if (Tape.needsRecord(x)) {
      Tape.record(Op.NLL_LOSS, out, x, target, red, count, ignoreIndex, null);
    }
    return out;
  }

  /**
   * d nll = -g / (mean: the count of counted targets) at [i, target_i], 0 elsewhere: one pass that
   * reads g itself (PyTorch's nll_loss_backward: -(g / total_weight) in the input's dtype), so the
   * gradient is one tensor, not weights times a broadcast g.
   */
  public static Tensor nllBackward(Ctx c, Tensor g) {
    Tensor target = c.saved(0);
    long[] shape = c.inputShape(0);
    int red = (int) c.scalar(0);
    double count = red == MEAN ? c.scalar(1) : 1;
    long ignore = (long) c.scalar(2);
    long cls = shape[shape.length - 1];
    Tensor tc = target.isContiguous() ? target : ShapeOps.contiguous(target);
    boolean perRow = red == NONE;
    if (Tape.needsRecord(g)) {
      // A double backward differentiates this gradient in g: the weights for g = 1, times g.
      Tensor w = nllGradient(tc, Torch.onesLike(g.detach()), shape, cls, ignore, perRow, count);
      return w.mul(perRow && shape.length == 2 ? g.unsqueeze(1) : g);
    }
    return nllGradient(
        tc, g.isContiguous() ? g : ShapeOps.contiguous(g), shape, cls, ignore, perRow, count);
  }

  private static Tensor nllGradient(
      Tensor tc, Tensor gc, long[] shape, long cls, long ignore, boolean perRow, double count) {
    Tensor gi = Tensor.empty(gc.dtype(), shape);
    int n = (int) tc.numel();
    if (!Recorder.active()) {
      NllWeights.fill(
          gi.segment(),
          gi.dtype(),
          tc.segment(),
          tc.storageOffset(),
          n,
          cls,
          ignore,
          gc.segment(),
          gc.storageOffset(),
          perRow,
          count);
    } else {
      NllWeights weights =
          new NllWeights(
              gi.segment(),
              gi.dtype(),
              tc.segment(),
              tc.storageOffset(),
              n,
              cls,
              ignore,
              gc.segment(),
              gc.storageOffset(),
              perRow,
              count);
      weights.run();
      Recorder.record("nll_loss backward " + Shapes.str(shape), weights);
    }
    return gi;
  }

  /** cross_entropy = nll_loss(log_softmax(x, 1)) (dim 0 for an unbatched [C] input). */
  public static Tensor crossEntropy(Tensor x, Tensor target, String reduction) {
    return nllLoss(Softmax.logSoftmax(x, x.dim() == 1 ? 0 : 1), target, reduction);
  }

  /**
   * nll_loss forward over contiguous log-probabilities and int64 targets: the loss written to
   * {@code out}, the count of counted targets kept for backward. A replayable instruction: replay
   * refuses a batch whose count differs from the captured one (the backward's scale is fixed).
   */
  private static final class Nll implements Recorder.Instruction {
    private static final Kernels K = KernelProvider.get();
    private final MemorySegment xs, ts, os;
    private final DType xt, ot;
    private final long xo, to, cls, ignoreIndex;
    private final int n, red;
    private final double[] each;
    double count, capturedCount = -1;

    Nll(
        MemorySegment xs,
        DType xt,
        long xo,
        MemorySegment ts,
        long to,
        int n,
        long cls,
        long ignoreIndex,
        int red,
        MemorySegment os,
        DType ot) {
      this.xs = xs;
      this.xt = xt;
      this.xo = xo;
      this.ts = ts;
      this.to = to;
      this.n = n;
      this.cls = cls;
      this.ignoreIndex = ignoreIndex;
      this.red = red;
      this.os = os;
      this.ot = ot;
      this.each = new double[n];
    }

    @Override
    public void run() {
      count = pick(xs, xt, xo, ts, to, n, cls, ignoreIndex, each);
      if (capturedCount >= 0 && count != capturedCount) {
        throw new IllegalStateException(
            "the step is not static: nll_loss counted "
                + (long) count
                + " targets (the others equal ignore_index), the captured step "
                + (long) capturedCount
                + "; capture again for this batch");
      }
      write(os, ot, red, n, each, count);
    }

    /** Each row's -x[i, target_i] (0 when ignored) into {@code each}; returns the count. */
    static double pick(
        MemorySegment xs,
        DType xt,
        long xo,
        MemorySegment ts,
        long to,
        int n,
        long cls,
        long ignoreIndex,
        double[] each) {
      return xt == DType.FLOAT32
          ? K.nllPickF(xs, xo, cls, ts, to, n, ignoreIndex, each)
          : K.nllPickD(xs, xo, cls, ts, to, n, ignoreIndex, each);
    }

    /**
     * The loss from the picked values: each (none), their sum, or the sum over the count (mean).
     * The sum is a kernel with a fixed order: the loss is the same on every implementation.
     */
    static void write(MemorySegment os, DType ot, int red, int n, double[] each, double count) {
      switch (red) {
        case NONE -> {
          for (int i = 0; i < n; i++) Elements.put(os, ot, i, each[i]);
        }
        case MEAN -> Elements.put(os, ot, 0, K.sumFixedOrder(each, n) / count);
        default -> Elements.put(os, ot, 0, K.sumFixedOrder(each, n));
      }
    }

    /** The eager path's picked values: the thread's own array, grown as needed. */
    static double[] work(int n) {
      double[] w = WORK.get();
      if (w.length < n) WORK.set(w = new double[n]);
      return w;
    }

    private static final ThreadLocal<double[]> WORK =
        ThreadLocal.withInitial(() -> new double[256]);
  }

  /**
   * The gradient of nll_loss: -(g / count) at [i, target_i] (g[i] per row for reduction 'none',
   * count 1 unless 'mean'), 0 elsewhere, rounded as PyTorch's kernel rounds it: in the input's
   * dtype. Reads g when it runs, so a replayed step uses that step's incoming gradient.
   */
  private record NllWeights(
      MemorySegment ws,
      DType wt,
      MemorySegment ts,
      long to,
      int n,
      long cls,
      long ignore,
      MemorySegment gs,
      long go,
      boolean perRow,
      double count)
      implements Recorder.Instruction {
    @Override
    public void run() {
      fill(ws, wt, ts, to, n, cls, ignore, gs, go, perRow, count);
    }

    static void fill(
        MemorySegment ws,
        DType wt,
        MemorySegment ts,
        long to,
        int n,
        long cls,
        long ignore,
        MemorySegment gs,
        long go,
        boolean perRow,
        double count) {
      ws.fill((byte) 0);
      boolean f32 = wt == DType.FLOAT32;
      for (int i = 0; i < n; i++) {
        long t = ts.getAtIndex(ValueLayout.JAVA_LONG, to + i);
        if (t == ignore) continue;
        long gi = go + (perRow ? i : 0);
        if (f32) {
          float g = gs.getAtIndex(ValueLayout.JAVA_FLOAT, gi);
          ws.setAtIndex(ValueLayout.JAVA_FLOAT, i * cls + t, -(g / (float) count));
        } else {
          double g = gs.getAtIndex(ValueLayout.JAVA_DOUBLE, gi);
          ws.setAtIndex(ValueLayout.JAVA_DOUBLE, i * cls + t, -(g / count));
        }
      }
    }
  }
}
