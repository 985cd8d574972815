package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;

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
    long[] shape = x.shape();
    int n = shape.length == 0 ? 1 : Math.toIntExact(shape[d]);
    long s = 1;
    for (int i = d + 1; i < shape.length; i++) s *= shape[i];
    int inner = Math.toIntExact(s);
    double[] v = x.detach().toDoubleArray();
    int outer = n * inner == 0 ? 0 : v.length / (n * inner);
    double[] out = new double[v.length];
    for (int o = 0; o < outer; o++) {
      for (int i = 0; i < inner; i++) {
        int base = o * n * inner + i;
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) m = Math.max(m, v[base + j * inner]);
        double sum = 0;
        for (int j = 0; j < n; j++) sum += Math.exp(v[base + j * inner] - m);
        for (int j = 0; j < n; j++) {
          double z = v[base + j * inner] - m;
          out[base + j * inner] = log ? z - Math.log(sum) : Math.exp(z) / sum;
        }
      }
    }
    Tensor y = Torch.tensor(out, dt, shape);
    if (Tape.needsRecord(x))
      Tape.record(
          log ? Op.LOG_SOFTMAX : Op.SOFTMAX,
          y,
          new Tensor[] {x},
          new Tensor[] {y},
          new double[] {d},
          null);
    return y;
  }

  /** d softmax = y (g - sum(g y, dim)). */
  public static Tensor softmaxBackward(Tensor g, Tensor y, long dim) {
    return y.mul(g.sub(g.mul(y).sum(new long[] {dim}, true)));
  }

  /** d log_softmax = g - exp(y) sum(g, dim). */
  public static Tensor logSoftmaxBackward(Tensor g, Tensor y, long dim) {
    return g.sub(y.exp().mul(g.sum(new long[] {dim}, true)));
  }
}
