package dev.panagrad.optim;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.kernels.KernelProvider;
import dev.panagrad.kernels.Kernels;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;

/**
 * Optimizer updates as one pass over each parameter: every element of the parameter, its gradient
 * and its state is read and written once. The arithmetic is the same sequence of roundings as the
 * tensor-op form the optimizers fall back to (float ops for float32), so the two give identical
 * bits.
 */
final class FusedUpdates {
  private static final Kernels K = KernelProvider.get();

  private FusedUpdates() {}

  /** {@link #applies(Tensor, Tensor...)} for SGD's two, without a varargs array a step. */
  static boolean applies(Tensor p, Tensor g, Tensor buf) {
    return p.isContiguous()
        && p.dtype().isFloatingPoint()
        && (g == null || matches(p, g))
        && (buf == null || matches(p, buf));
  }

  private static boolean matches(Tensor p, Tensor t) {
    return t.isContiguous() && t.dtype() == p.dtype() && t.numel() == p.numel();
  }

  /** True when every tensor is contiguous, of p's floating dtype and of p's size. */
  static boolean applies(Tensor p, Tensor... others) {
    if (!p.isContiguous() || !p.dtype().isFloatingPoint()) return false;
    for (Tensor t : others) if (t != null && !matches(p, t)) return false;
    return true;
  }

  /** SGD with momentum (buf already holds the first step's d), weight decay and Nesterov. */
  static void sgd(
      Tensor p,
      Tensor g,
      Tensor buf,
      double lr,
      double momentum,
      double dampening,
      double weightDecay,
      boolean nesterov,
      SgdPass pass) {
    long n = p.numel();
    MemorySegment ps = p.segment(), gs = g.segment();
    MemorySegment bs = buf == null ? null : buf.segment();
    long po = p.storageOffset(), go = g.storageOffset(), bo = buf == null ? 0 : buf.storageOffset();
    boolean f32 = p.dtype() == DType.FLOAT32;
    if (!Recorder.active()) {
      // through the optimizer's reusable pass, split over the pool or not: an eager step makes no
      // object
      pass.bind(f32, ps, po, gs, go, bs, bo, lr, momentum, dampening, weightDecay, nesterov);
      try {
        Parallel.forPass(n, pass);
      } finally {
        pass.unbind();
      }
      return;
    }
    // Elements split over the pool's threads from Parallel.MIN_SPLIT_PASS on: each element's
    // update is independent, so the bits do not depend on the split. A pass of its own, bound
    // once: the recorded instruction keeps it.
    SgdPass range = new SgdPass();
    range.bind(f32, ps, po, gs, go, bs, bo, lr, momentum, dampening, weightDecay, nesterov);
    Recorder.Instruction run = () -> Parallel.forPass(n, range);
    run.run();
    Recorder.record(
        "sgd n=" + n + " lr=" + lr + " momentum=" + momentum + " buf=" + (bs != null), run);
  }

  /**
   * An SGD update split over the pool. Eager steps use one per optimizer, bound to each parameter
   * in turn, so the split allocates nothing per step; a captured step records one of its own, bound
   * once. The caller's writes before the split are published to the workers by the pool's hand-off.
   */
  static final class SgdPass implements Parallel.Range {
    private boolean f32, nesterov;
    private MemorySegment ps, gs, bs;
    private long po, go, bo;
    private double lr, momentum, dampening, weightDecay;

    void bind(
        boolean f32,
        MemorySegment ps,
        long po,
        MemorySegment gs,
        long go,
        MemorySegment bs,
        long bo,
        double lr,
        double momentum,
        double dampening,
        double weightDecay,
        boolean nesterov) {
      this.f32 = f32;
      this.ps = ps;
      this.po = po;
      this.gs = gs;
      this.go = go;
      this.bs = bs;
      this.bo = bo;
      this.lr = lr;
      this.momentum = momentum;
      this.dampening = dampening;
      this.weightDecay = weightDecay;
      this.nesterov = nesterov;
    }

    /** Lets go of the step's memory. */
    void unbind() {
      ps = gs = bs = null;
    }

    @Override
    public void run(long from, long to) {
      sgd(
          f32,
          ps,
          po + from,
          gs,
          go + from,
          bs,
          bo + from,
          to - from,
          lr,
          momentum,
          dampening,
          weightDecay,
          nesterov);
    }
  }

  /**
   * The SGD update over raw memory: what {@link #sgd(Tensor, Tensor, Tensor, double, double,
   * double, double, boolean)} runs, and what a captured step replays. One pass on the calling
   * thread: the update is bound by memory bandwidth, and a split would allocate in replay.
   */
  static void sgd(
      boolean f32,
      MemorySegment ps,
      long po,
      MemorySegment gs,
      long go,
      MemorySegment bs,
      long bo,
      long n,
      double lr,
      double momentum,
      double dampening,
      double weightDecay,
      boolean nesterov) {
    if (f32) {
      float wd = (float) weightDecay, m = (float) momentum, damp = (float) (1 - dampening);
      K.sgdF(ps, po, gs, go, bs, bo, n, (float) -lr, m, damp, wd, nesterov);
    } else {
      K.sgdD(ps, po, gs, go, bs, bo, n, -lr, momentum, 1 - dampening, weightDecay, nesterov);
    }
  }

  /**
   * Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps),
   * with bc1 = 1 - b1^t and bc2 = 1 - b2^t at step t = ++steps[index]. {@code l2} adds weight decay
   * to the gradient (Adam); {@code scale} multiplies the weight first (AdamW's decoupled decay, 1 -
   * lr wd). One step over raw memory, eager or replayed: {@link #run()} advances the parameter's
   * step count, computes the bias corrections (per step, so they are fields, not captured
   * constants) and runs the kernel over the pool's chunks, allocating nothing.
   */
  static final class AdamStep implements Recorder.Instruction, Parallel.Range {
    private final boolean f32;
    private final MemorySegment ps, gs, ms, vs, xs;
    private final long po, go, mo, vo, xo, n;
    private final double lr, beta1, beta2, eps, l2, scale;
    private final long[] steps;
    private final int index;
    // This step's corrections: written before the chunks are handed out (Parallel's hand-off
    // publishes them to the workers), read by every chunk.
    private double stepSize, bc2Sqrt;

    AdamStep(
        Tensor p,
        Tensor g,
        Tensor m,
        Tensor v,
        Tensor vmax,
        double lr,
        double beta1,
        double beta2,
        double eps,
        double l2,
        double scale,
        long[] steps,
        int index) {
      this.f32 = p.dtype() == DType.FLOAT32;
      this.ps = p.segment();
      this.po = p.storageOffset();
      this.gs = g.segment();
      this.go = g.storageOffset();
      this.ms = m.segment();
      this.mo = m.storageOffset();
      this.vs = v.segment();
      this.vo = v.storageOffset();
      this.xs = vmax == null ? null : vmax.segment();
      this.xo = vmax == null ? 0 : vmax.storageOffset();
      this.n = p.numel();
      this.lr = lr;
      this.beta1 = beta1;
      this.beta2 = beta2;
      this.eps = eps;
      this.l2 = l2;
      this.scale = scale;
      this.steps = steps;
      this.index = index;
    }

    /** Runs the step now and, while a step is captured, records it (see the class comment). */
    void runAndRecord() {
      run();
      if (Recorder.active()) {
        // Everything here is fixed between steps; the step count is not, and is not named.
        Recorder.record(
            "adam n="
                + n
                + " lr="
                + lr
                + " betas="
                + beta1
                + ","
                + beta2
                + " eps="
                + eps
                + " l2="
                + l2
                + " scale="
                + scale
                + " amsgrad="
                + (xs != null),
            this);
      }
    }

    @Override
    public void run() {
      long t = ++steps[index];
      stepSize = lr / (1 - Math.pow(beta1, t));
      bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
      // Elements split over the pool from Parallel.MIN_SPLIT_PASS on: each element's update is
      // independent, so the bits do not depend on the split.
      Parallel.forPass(n, this);
    }

    @Override
    public void run(long from, long to) {
      long k = to - from;
      if (f32) {
        K.adamF(
            ps,
            po + from,
            gs,
            go + from,
            ms,
            mo + from,
            vs,
            vo + from,
            xs,
            xo + from,
            k,
            (float) beta1,
            (float) (1 - beta1),
            (float) beta2,
            (float) (1 - beta2),
            (float) eps,
            (float) l2,
            (float) scale,
            (float) bc2Sqrt,
            (float) -stepSize);
      } else {
        K.adamD(
            ps, po + from, gs, go + from, ms, mo + from, vs, vo + from, xs, xo + from, k, beta1,
            1 - beta1, beta2, 1 - beta2, eps, l2, scale, bc2Sqrt, -stepSize);
      }
    }
  }

  /**
   * RMSprop: sq = a sq + (1-a) g^2; avg = sqrt(sq - ga^2 if centered, with ga = a ga + (1-a) g) +
   * eps; then either buf = m buf + g/avg and p -= lr buf, or p -= lr g/avg. Nothing changes between
   * steps, so the recorded instruction is the eager call, as SGD's is.
   */
  static void rmsprop(
      Tensor p,
      Tensor g,
      Tensor sq,
      Tensor ga,
      Tensor buf,
      double lr,
      double alpha,
      double eps,
      double weightDecay,
      double momentum) {
    long n = p.numel();
    MemorySegment ps = p.segment(), gs = g.segment(), ss = sq.segment();
    MemorySegment as = ga == null ? null : ga.segment(), bs = buf == null ? null : buf.segment();
    long po = p.storageOffset(), go = g.storageOffset(), so = sq.storageOffset();
    long ao = ga == null ? 0 : ga.storageOffset(), bo = buf == null ? 0 : buf.storageOffset();
    Parallel.Range range;
    if (p.dtype() == DType.FLOAT32) {
      float a = (float) alpha, c = (float) (1 - alpha), e = (float) eps, wd = (float) weightDecay;
      float mu = (float) momentum, step = (float) -lr;
      range =
          (from, to) ->
              K.rmspropF(
                  ps, po + from, gs, go + from, ss, so + from, as, ao + from, bs, bo + from,
                  to - from, a, c, e, wd, mu, step);
    } else {
      range =
          (from, to) ->
              K.rmspropD(
                  ps,
                  po + from,
                  gs,
                  go + from,
                  ss,
                  so + from,
                  as,
                  ao + from,
                  bs,
                  bo + from,
                  to - from,
                  alpha,
                  1 - alpha,
                  eps,
                  weightDecay,
                  momentum,
                  -lr);
    }
    Recorder.Instruction run = () -> Parallel.forPass(n, range);
    run.run();
    if (Recorder.active()) {
      Recorder.record(
          "rmsprop n="
              + n
              + " lr="
              + lr
              + " alpha="
              + alpha
              + " eps="
              + eps
              + " wd="
              + weightDecay
              + " momentum="
              + momentum
              + " centered="
              + (ga != null),
          run);
    }
  }
}
