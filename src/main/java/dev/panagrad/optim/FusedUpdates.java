package dev.panagrad.optim;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
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

  private FusedUpdates() {}

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
    if (p.dtype() == DType.FLOAT32) {
      float wd = (float) weightDecay, m = (float) momentum, damp = (float) (1 - dampening);
      float step = (float) -lr;
      for (long i = 0; i < n; i++) {
        float w = ps.getAtIndex(F, po + i), d = gs.getAtIndex(F, go + i);
        if (weightDecay != 0) d = d + wd * w;
        if (bs != null) {
          float b = bs.getAtIndex(F, bo + i) * m;
          b = b + damp * d;
          bs.setAtIndex(F, bo + i, b);
          d = nesterov ? d + m * b : b;
        }
        ps.setAtIndex(F, po + i, w + step * d);
      }
    } else {
      for (long i = 0; i < n; i++) {
        double w = ps.getAtIndex(D, po + i), d = gs.getAtIndex(D, go + i);
        if (weightDecay != 0) d = d + weightDecay * w;
        if (bs != null) {
          double b = bs.getAtIndex(D, bo + i) * momentum;
          b = b + (1 - dampening) * d;
          bs.setAtIndex(D, bo + i, b);
          d = nesterov ? d + momentum * b : b;
        }
        ps.setAtIndex(D, po + i, w + -lr * d);
      }
    }
  }

  /**
   * Adam without amsgrad: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr/bc1 * m /
   * (sqrt(v)/sqrt(bc2) + eps). {@code l2} adds weight decay to the gradient (Adam); {@code scale}
   * multiplies the weight first (AdamW's decoupled decay, 1 - lr wd).
   */
  static void adam(
      Tensor p,
      Tensor g,
      Tensor m,
      Tensor v,
      double beta1,
      double beta2,
      double eps,
      double l2,
      double scale,
      double stepSize,
      double bc2Sqrt) {
    long n = p.numel();
    MemorySegment ps = p.segment(), gs = g.segment(), ms = m.segment(), vs = v.segment();
    long po = p.storageOffset(), go = g.storageOffset(), mo = m.storageOffset();
    long vo = v.storageOffset();
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
        double denom = Math.sqrt(vi) / bc2Sqrt + eps;
        ps.setAtIndex(D, po + i, w + -stepSize * (mi / denom));
      }
    }
  }
}
