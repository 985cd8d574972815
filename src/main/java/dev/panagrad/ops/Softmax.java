package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Elements;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;

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
    Tensor xc = x.isContiguous() ? x : ShapeOps.contiguous(x.detach());
    Tensor y = Tensor.empty(dt, shape);
    Rows rows =
        new Rows(xc.segment(), xc.dtype(), xc.storageOffset(), y.segment(), dt, n, inner, log);
    rows.run();
    if (Recorder.active()) {
      Recorder.record((log ? "log_softmax " : "softmax ") + Shapes.str(shape) + " dim " + d, rows);
    }
    if (Tape.needsRecord(x)) Tape.record(log ? Op.LOG_SOFTMAX : Op.SOFTMAX, y, x, y, d, null);
    return y;
  }

  /** The softmax of a contiguous input into y; a replayable instruction with its own buffers. */
  private static final class Rows implements Recorder.Instruction {
    private final MemorySegment xs, ys;
    private final DType xt, yt;
    private final long xo;
    private final int n, inner;
    private final boolean log;
    private final int total;
    private final double[] v, out; // total long, or longer when they are the thread's

    Rows(
        MemorySegment xs,
        DType xt,
        long xo,
        MemorySegment ys,
        DType yt,
        int n,
        int inner,
        boolean log) {
      this.xs = xs;
      this.xt = xt;
      this.xo = xo;
      this.ys = ys;
      this.yt = yt;
      this.n = n;
      this.inner = inner;
      this.log = log;
      this.total = Math.toIntExact(ys.byteSize() / yt.byteSize());
      // Eager softmaxes share the thread's arrays (they never nest); a recorded one owns its own,
      // as its instruction may be replayed on another thread.
      if (Recorder.active()) {
        this.v = new double[total];
        this.out = new double[total];
      } else {
        double[][] shared = SCRATCH.pair(total);
        this.v = shared[0];
        this.out = shared[1];
      }
    }

    private static final DoubleScratch SCRATCH = new DoubleScratch();

    @Override
    public void run() {
      for (int i = 0; i < total; i++) v[i] = Elements.get(xs, xt, xo + i);
      int outer = n * inner == 0 ? 0 : total / (n * inner);
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
      for (int i = 0; i < total; i++) Elements.put(ys, yt, i, out[i]);
    }
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
