package dev.panagrad.optim;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.kernels.KernelProvider;
import dev.panagrad.kernels.Kernels;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Optimizer updates as one pass over each parameter: every element of the parameter, its gradient
 * and its state is read and written once. The arithmetic is the same sequence of roundings as the
 * tensor-op form the optimizers fall back to (float ops for float32), so the two give identical
 * bits.
 */
final class FusedUpdates {
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;
  private static final Kernels K = KernelProvider.get();

  private FusedUpdates() {}

  /** {@link #applies(Tensor, Tensor...)} for SGD's two, without a varargs array a step. */
  static boolean applies(Tensor p, Tensor g, Tensor buf) {
    return p.isContiguous()
        && p.dtype().isFloatingPoint()
        && matches(p, g)
        && (buf == null || matches(p, buf));
  }

  private static boolean matches(Tensor p, Tensor t) {
    return t.isContiguous() && t.dtype() == p.dtype() && t.numel() == p.numel();
  }

  /** True when every tensor is contiguous, of p's floating dtype and of p's size. */
  static boolean applies(Tensor p, Tensor... others) {
    if (!p.isContiguous() || !p.dtype().isFloatingPoint()) return false;
    for (Tensor t : others) {
      if (t == null) continue;
      if (!t.isContiguous() || t.dtype() != p.dtype() || t.numel() != p.numel()) return false;
    }
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
      boolean nesterov) {
    long n = p.numel();
    MemorySegment ps = p.segment(), gs = g.segment();
    MemorySegment bs = buf == null ? null : buf.segment();
    long po = p.storageOffset(), go = g.storageOffset(), bo = buf == null ? 0 : buf.storageOffset();
    boolean f32 = p.dtype() == DType.FLOAT32;
    if (!Recorder.active() && (n < Parallel.MIN_SPLIT_PASS || Parallel.threads() == 1)) {
      // what forPass would run, on this thread, without making the two lambdas below
      sgd(f32, ps, po, gs, go, bs, bo, n, lr, momentum, dampening, weightDecay, nesterov);
      return;
    }
    // Elements split over the pool's threads from Parallel.MIN_SPLIT_PASS on: each element's
    // update is independent, so the bits do not depend on the split.
    Parallel.Range range =
        (from, to) ->
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
    Recorder.Instruction run = () -> Parallel.forPass(n, range);
    run.run();
    if (Recorder.active()) {
      Recorder.record(
          "sgd n=" + n + " lr=" + lr + " momentum=" + momentum + " buf=" + (bs != null), run);
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
   * Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps).
   * {@code l2} adds weight decay to the gradient (Adam); {@code scale} multiplies the weight first
   * (AdamW's decoupled decay, 1 - lr wd).
   */
  static void adam(
      Tensor p,
      Tensor g,
      Tensor m,
      Tensor v,
      Tensor vmax,
      double beta1,
      double beta2,
      double eps,
      double l2,
      double scale,
      double stepSize,
      double bc2Sqrt) {
    Recorder.refuse("the Adam update", "its bias correction changes every step");
    long n = p.numel();
    MemorySegment ps = p.segment(), gs = g.segment(), ms = m.segment(), vs = v.segment();
    MemorySegment xs = vmax == null ? null : vmax.segment();
    long po = p.storageOffset(), go = g.storageOffset(), mo = m.storageOffset();
    long vo = v.storageOffset(), xo = vmax == null ? 0 : vmax.storageOffset();
    if (p.dtype() == DType.FLOAT32) {
      float b1 = (float) beta1, c1 = (float) (1 - beta1), b2 = (float) beta2;
      float c2 = (float) (1 - beta2), e = (float) eps, wd = (float) l2;
      float bc = (float) bc2Sqrt, step = (float) -stepSize, sc = (float) scale;
      for (long i = 0; i < n; i++) {
        float w = ps.getAtIndex(F, po + i), d = gs.getAtIndex(F, go + i);
        if (scale != 1) w = w * sc;
        if (l2 != 0) d = d + wd * w;
        float mi = ms.getAtIndex(F, mo + i) * b1;
        mi = mi + c1 * d;
        float gg = d * d;
        float vi = vs.getAtIndex(F, vo + i) * b2;
        vi = vi + c2 * gg;
        ms.setAtIndex(F, mo + i, mi);
        vs.setAtIndex(F, vo + i, vi);
        if (xs != null) { // amsgrad: the running maximum of v
          vi = Math.max(xs.getAtIndex(F, xo + i), vi);
          xs.setAtIndex(F, xo + i, vi);
        }
        float denom = (float) Math.sqrt(vi) / bc + e;
        ps.setAtIndex(F, po + i, w + step * (mi / denom));
      }
    } else {
      for (long i = 0; i < n; i++) {
        double w = ps.getAtIndex(D, po + i), d = gs.getAtIndex(D, go + i);
        if (scale != 1) w = w * scale;
        if (l2 != 0) d = d + l2 * w;
        double mi = ms.getAtIndex(D, mo + i) * beta1;
        mi = mi + (1 - beta1) * d;
        double vi = vs.getAtIndex(D, vo + i) * beta2;
        vi = vi + (1 - beta2) * (d * d);
        ms.setAtIndex(D, mo + i, mi);
        vs.setAtIndex(D, vo + i, vi);
        if (xs != null) {
          vi = Math.max(xs.getAtIndex(D, xo + i), vi);
          xs.setAtIndex(D, xo + i, vi);
        }
        double denom = Math.sqrt(vi) / bc2Sqrt + eps;
        ps.setAtIndex(D, po + i, w + -stepSize * (mi / denom));
      }
    }
  }

  /**
   * RMSprop: sq = a sq + (1-a) g^2; avg = sqrt(sq - ga^2 if centered, with ga = a ga + (1-a) g) +
   * eps; then either buf = m buf + g/avg and p -= lr buf, or p -= lr g/avg.
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
    Recorder.refuse("the RMSprop update", "it has no instruction yet");
    long n = p.numel();
    MemorySegment ps = p.segment(), gs = g.segment(), ss = sq.segment();
    MemorySegment as = ga == null ? null : ga.segment(), bs = buf == null ? null : buf.segment();
    long po = p.storageOffset(), go = g.storageOffset(), so = sq.storageOffset();
    long ao = ga == null ? 0 : ga.storageOffset(), bo = buf == null ? 0 : buf.storageOffset();
    if (p.dtype() == DType.FLOAT32) {
      float a = (float) alpha, c = (float) (1 - alpha), e = (float) eps, wd = (float) weightDecay;
      float m = (float) momentum, step = (float) -lr;
      for (long i = 0; i < n; i++) {
        float w = ps.getAtIndex(F, po + i), d = gs.getAtIndex(F, go + i);
        if (weightDecay != 0) d = d + wd * w;
        float s2 = ss.getAtIndex(F, so + i) * a;
        s2 = s2 + c * (d * d);
        ss.setAtIndex(F, so + i, s2);
        float avg;
        if (as != null) {
          float ag = as.getAtIndex(F, ao + i) * a;
          ag = ag + c * d;
          as.setAtIndex(F, ao + i, ag);
          avg = (float) Math.sqrt(s2 - ag * ag);
        } else {
          avg = (float) Math.sqrt(s2);
        }
        avg = avg + e;
        if (bs != null) {
          float b = bs.getAtIndex(F, bo + i) * m;
          b = b + d / avg;
          bs.setAtIndex(F, bo + i, b);
          ps.setAtIndex(F, po + i, w + step * b);
        } else {
          ps.setAtIndex(F, po + i, w + step * (d / avg));
        }
      }
    } else {
      for (long i = 0; i < n; i++) {
        double w = ps.getAtIndex(D, po + i), d = gs.getAtIndex(D, go + i);
        if (weightDecay != 0) d = d + weightDecay * w;
        double s2 = ss.getAtIndex(D, so + i) * alpha;
        s2 = s2 + (1 - alpha) * (d * d);
        ss.setAtIndex(D, so + i, s2);
        double avg;
        if (as != null) {
          double ag = as.getAtIndex(D, ao + i) * alpha;
          ag = ag + (1 - alpha) * d;
          as.setAtIndex(D, ao + i, ag);
          avg = Math.sqrt(s2 - ag * ag);
        } else {
          avg = Math.sqrt(s2);
        }
        avg = avg + eps;
        if (bs != null) {
          double b = bs.getAtIndex(D, bo + i) * momentum;
          b = b + d / avg;
          bs.setAtIndex(D, bo + i, b);
          ps.setAtIndex(D, po + i, w + -lr * b);
        } else {
          ps.setAtIndex(D, po + i, w + -lr * (d / avg));
        }
      }
    }
  }
}
