package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;

/**
 * Reductions beyond sum and mean: amax, amin, max, min, norm, var and logsumexp. Each group of
 * reduced elements is gathered into a double array and reduced there, then rounded once to the
 * output type.
 */
public final class Extrema {
  private Extrema() {}

  /** The reduced elements of one output position, for each output position in row-major order. */
  record Groups(double[] data, int outer, int inner) {
    double get(int o, int i) {
      return data[o * inner + i];
    }
  }

  /** x's elements as [kept dims, row-major] x [reduced dims, row-major]. */
  static Groups groups(Tensor x, boolean[] mask) {
    int r = x.dim();
    long[] perm = new long[r];
    int k = 0;
    long inner = 1;
    long[] shape = x.shape();
    for (int i = 0; i < r; i++) if (!mask[i]) perm[k++] = i;
    for (int i = 0; i < r; i++) {
      if (mask[i]) {
        perm[k++] = i;
        inner *= shape[i];
      }
    }
    Tensor d = x.detach();
    double[] data = (r == 0 ? d : d.permute(perm)).toDoubleArray();
    long outer = Shapes.numel(Reductions.reducedShape(shape, mask, false));
    return new Groups(data, Math.toIntExact(outer), Math.toIntExact(inner));
  }

  /** The dims a mask names, as a list. */
  static long[] dimsOf(boolean[] mask) {
    int n = 0;
    for (boolean b : mask) if (b) n++;
    long[] out = new long[n];
    for (int i = 0, j = 0; i < mask.length; i++) if (mask[i]) out[j++] = i;
    return out;
  }

  static DType floatType(Tensor a, String op) {
    if (!a.dtype().isFloatingPoint()) {
      throw new IllegalArgumentException(
          op
              + "(): input dtype should be either floating point or complex dtypes. Got "
              + a.dtype().pyName()
              + " instead.");
    }
    return a.dtype();
  }

  // ------------------------------------------------------------ amax, amin, max, min

  public static Tensor amax(Tensor x, long[] dims, boolean keepdim) {
    return extreme(x, Reductions.dimMask(dims, x.dim()), keepdim, true, Op.AMAX, "amax");
  }

  public static Tensor amin(Tensor x, long[] dims, boolean keepdim) {
    return extreme(x, Reductions.dimMask(dims, x.dim()), keepdim, false, Op.AMIN, "amin");
  }

  /** max over all elements (MaxBackward1). */
  public static Tensor max(Tensor x) {
    return full(x, true);
  }

  /** min over all elements (MinBackward1). */
  public static Tensor min(Tensor x) {
    return full(x, false);
  }

  private static Tensor full(Tensor x, boolean max) {
    String name = max ? "max" : "min";
    if (x.numel() == 0) {
      throw new IllegalArgumentException(
          name
              + "(): Expected reduction dim to be specified for input.numel() == 0. Specify the"
              + " reduction dim with the 'dim' argument.");
    }
    return extreme(x, Reductions.dimMask(null, x.dim()), false, max, max ? Op.MAX : Op.MIN, name);
  }

  private static Tensor extreme(
      Tensor x, boolean[] mask, boolean keepdim, boolean max, Op op, String name) {
    Groups g = groups(x, mask);
    if (g.inner == 0 && g.outer > 0) {
      throw new IllegalArgumentException(
          name + "(): Expected reduction dim " + dimsOf(mask)[0] + " to have non-zero size.");
    }
    double[] out = new double[g.outer];
    for (int o = 0; o < g.outer; o++) {
      double acc = g.get(o, 0);
      for (int i = 1; i < g.inner && !Double.isNaN(acc); i++) {
        double v = g.get(o, i);
        if (Double.isNaN(v) || (max ? v > acc : v < acc)) acc = v;
      }
      out[o] = acc;
    }
    Tensor y = Torch.tensor(out, x.dtype(), Reductions.reducedShape(x.shape(), mask, keepdim));
    if (Tape.needsRecord(x))
      Tape.record(
          op, y, new Tensor[] {x}, new Tensor[] {x, y}, new double[] {keepdim ? 1 : 0}, mask);
    return y;
  }

  /** d amax: g shared evenly among the positions equal to the result (PyTorch's rule). */
  public static Tensor extremeBackward(
      Tensor g, Tensor x, Tensor y, boolean[] mask, boolean keepdim) {
    long[] shape = x.shape();
    Tensor hit = x.eq(Reductions.unreduce(y, shape, mask, keepdim)).to(g.dtype());
    Tensor count = hit.sum(dimsOf(mask), true);
    return Reductions.unreduce(g, shape, mask, keepdim).mul(hit).div(count);
  }

  // ------------------------------------------------------------ norm

  /** The 2-norm over all elements (NormBackward1). */
  public static Tensor norm(Tensor x) {
    if (!x.dtype().isFloatingPoint()) {
      throw new IllegalArgumentException(
          "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
              + Pointwise.scalarTypeName(x.dtype()));
    }
    DType dt = x.dtype();
    double[] d = x.detach().toDoubleArray();
    double scale = 0;
    for (double v : d) scale = Math.max(scale, Math.abs(v));
    double s = 0;
    if (scale > 0 && !Double.isInfinite(scale)) {
      for (double v : d) s += (v / scale) * (v / scale);
    }
    double n = scale == 0 || Double.isInfinite(scale) ? scale : scale * Math.sqrt(s);
    for (double v : d) if (Double.isNaN(v)) n = Double.NaN;
    Tensor y = Torch.tensor(new double[] {n}, dt);
    if (Tape.needsRecord(x))
      Tape.record(Op.NORM, y, new Tensor[] {x}, new Tensor[] {x, y}, null, null);
    return y;
  }

  /** d |x| = g x / |x|, 0 where |x| = 0. */
  public static Tensor normBackward(Tensor g, Tensor x, Tensor y) {
    Tensor r = x.mul(g.div(y));
    return Torch.where(y.eq(0), Torch.zerosLike(r), r);
  }

  // ------------------------------------------------------------ var

  public static Tensor var(Tensor x, long[] dims, boolean unbiased, boolean keepdim) {
    DType dt = floatType(x, "std and var");
    boolean[] mask = Reductions.dimMask(dims, x.dim());
    Groups g = groups(x, mask);
    int correction = unbiased ? 1 : 0;
    double[] out = new double[g.outer];
    for (int o = 0; o < g.outer; o++) {
      double mean = 0;
      for (int i = 0; i < g.inner; i++) mean += g.get(o, i);
      mean /= g.inner;
      double ss = 0;
      for (int i = 0; i < g.inner; i++) {
        double dv = g.get(o, i) - mean;
        ss += dv * dv;
      }
      int denom = g.inner - correction;
      out[o] = ss / Math.max(denom, 0);
    }
    Tensor y = Torch.tensor(out, dt, Reductions.reducedShape(x.shape(), mask, keepdim));
    if (Tape.needsRecord(x))
      Tape.record(
          Op.VAR,
          y,
          new Tensor[] {x},
          new Tensor[] {x},
          new double[] {keepdim ? 1 : 0, g.inner - correction},
          mask);
    return y;
  }

  /** d var = g 2 (x - mean) / (n - correction). */
  public static Tensor varBackward(Tensor g, Tensor x, boolean[] mask, boolean keepdim, double d) {
    Tensor centred = x.sub(x.mean(dimsOf(mask), true));
    return Reductions.unreduce(g, x.shape(), mask, keepdim).mul(centred).mul(2 / d);
  }

  // ------------------------------------------------------------ logsumexp

  public static Tensor logsumexp(Tensor x, long[] dims, boolean keepdim) {
    DType dt = x.dtype().isFloatingPoint() ? x.dtype() : DType.FLOAT32;
    boolean[] mask = Reductions.dimMask(dims, x.dim());
    Groups g = groups(x, mask);
    double[] out = new double[g.outer];
    for (int o = 0; o < g.outer; o++) {
      double m = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < g.inner; i++) m = Math.max(m, g.get(o, i));
      if (Double.isInfinite(m)) m = 0;
      double s = 0;
      for (int i = 0; i < g.inner; i++) s += Math.exp(g.get(o, i) - m);
      out[o] = Math.log(s) + m;
    }
    Tensor y = Torch.tensor(out, dt, Reductions.reducedShape(x.shape(), mask, keepdim));
    if (Tape.needsRecord(x))
      Tape.record(
          Op.LOGSUMEXP,
          y,
          new Tensor[] {x},
          new Tensor[] {x, y},
          new double[] {keepdim ? 1 : 0},
          mask);
    return y;
  }

  /** d logsumexp = g exp(x - y). */
  public static Tensor logsumexpBackward(
      Tensor g, Tensor x, Tensor y, boolean[] mask, boolean keepdim) {
    long[] shape = x.shape();
    Tensor e = x.sub(Reductions.unreduce(y, shape, mask, keepdim)).exp();
    return Reductions.unreduce(g, shape, mask, keepdim).mul(e);
  }
}
