package dev.panagrad;

import dev.panagrad.autograd.GradMode;
import dev.panagrad.memory.Recorder;
import dev.panagrad.ops.Elementwise;
import dev.panagrad.ops.LinearAlgebra;
import dev.panagrad.ops.ShapeOps;
import dev.panagrad.random.Generator;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The {@code torch.*} namespace: factories, random tensors, and the functional forms of ops.
 *
 * {@snippet :
 * import static dev.panagrad.Torch.*;
 * manualSeed(0);
 * Tensor w = randn(5, 3).requiresGrad_(true);
 * Tensor y = matmul(ones(5), w);
 * }
 */
public final class Torch {
  private Torch() {}

  public static final DType float32 = DType.FLOAT32;
  public static final DType float64 = DType.FLOAT64;
  public static final DType int64 = DType.INT64;
  public static final DType bool = DType.BOOL;

  // ------------------------------------------------------------ from Java values

  /** A 0-d float32 tensor, as {@code torch.tensor(2.5)}. */
  public static Tensor tensor(double value) {
    return full(DType.FLOAT32, new long[0], value);
  }

  /** A 0-d int64 tensor, as {@code torch.tensor(2)} (an int or long literal lands here). */
  public static Tensor tensor(long value) {
    refuseJavaData();
    Tensor t = Tensor.empty(DType.INT64);
    t.segment().set(ValueLayout.JAVA_LONG, 0, value);
    return t;
  }

  public static Tensor tensor(float... data) {
    refuseJavaData();
    Tensor t = Tensor.empty(DType.FLOAT32, data.length);
    MemorySegment.copy(data, 0, t.segment(), ValueLayout.JAVA_FLOAT, 0, data.length);
    return t;
  }

  public static Tensor tensor(double... data) {
    refuseJavaData();
    Tensor t = Tensor.empty(DType.FLOAT64, data.length);
    MemorySegment.copy(data, 0, t.segment(), ValueLayout.JAVA_DOUBLE, 0, data.length);
    return t;
  }

  public static Tensor tensor(long... data) {
    refuseJavaData();
    Tensor t = Tensor.empty(DType.INT64, data.length);
    MemorySegment.copy(data, 0, t.segment(), ValueLayout.JAVA_LONG, 0, data.length);
    return t;
  }

  public static Tensor tensor(boolean... data) {
    refuseJavaData();
    Tensor t = Tensor.empty(DType.BOOL, data.length);
    for (int i = 0; i < data.length; i++)
      t.segment().set(ValueLayout.JAVA_BYTE, i, (byte) (data[i] ? 1 : 0));
    return t;
  }

  public static Tensor tensor(float[][] rows) {
    refuseJavaData();
    int n = rows.length, m = n == 0 ? 0 : rows[0].length;
    Tensor t = Tensor.empty(DType.FLOAT32, n, m);
    for (int i = 0; i < n; i++) {
      if (rows[i].length != m)
        throw new IllegalArgumentException(
            "expected sequence of length " + m + " at dim 1 (got " + rows[i].length + ")");
      MemorySegment.copy(rows[i], 0, t.segment(), ValueLayout.JAVA_FLOAT, (long) i * m * 4, m);
    }
    return t;
  }

  public static Tensor tensor(double[][] rows) {
    refuseJavaData();
    int n = rows.length, m = n == 0 ? 0 : rows[0].length;
    Tensor t = Tensor.empty(DType.FLOAT64, n, m);
    for (int i = 0; i < n; i++) {
      if (rows[i].length != m)
        throw new IllegalArgumentException(
            "expected sequence of length " + m + " at dim 1 (got " + rows[i].length + ")");
      MemorySegment.copy(rows[i], 0, t.segment(), ValueLayout.JAVA_DOUBLE, (long) i * m * 8, m);
    }
    return t;
  }

  /** A tensor of {@code shape} holding {@code data} (row-major), converted to {@code dtype}. */
  public static Tensor tensor(double[] data, DType dtype, long... shape) {
    refuseJavaData();
    if (Shapes.numel(shape) != data.length) {
      throw new IllegalArgumentException(
          "shape '" + Shapes.str(shape) + "' is invalid for input of size " + data.length);
    }
    Tensor t = Tensor.empty(dtype, shape);
    MemorySegment s = t.segment();
    switch (dtype) {
      case FLOAT64 -> MemorySegment.copy(data, 0, s, ValueLayout.JAVA_DOUBLE, 0, data.length);
      case FLOAT32 -> {
        for (int i = 0; i < data.length; i++)
          s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) data[i]);
      }
      default -> {
        for (int i = 0; i < data.length; i++) Elements.put(s, dtype, i, data[i]);
      }
    }
    return t;
  }

  // ------------------------------------------------------------ factories

  public static Tensor empty(long... shape) {
    return Tensor.empty(DType.FLOAT32, shape);
  }

  public static Tensor empty(DType dtype, long... shape) {
    return Tensor.empty(dtype, shape);
  }

  public static Tensor zeros(long... shape) {
    return full(DType.FLOAT32, shape, 0);
  }

  public static Tensor zeros(DType dtype, long... shape) {
    return full(dtype, shape, 0);
  }

  public static Tensor ones(long... shape) {
    return full(DType.FLOAT32, shape, 1);
  }

  public static Tensor ones(DType dtype, long... shape) {
    return full(dtype, shape, 1);
  }

  public static Tensor full(long[] shape, double value) {
    return full(DType.FLOAT32, shape, value);
  }

  public static Tensor full(DType dtype, long[] shape, double value) {
    Tensor t = Tensor.empty(dtype, shape);
    MemorySegment s = t.segment();
    long n = t.numel();
    fill(s, dtype, n, value);
    if (Recorder.active())
      Recorder.record("full " + dtype + " n=" + n, () -> fill(s, dtype, n, value));
    return t;
  }

  private static void fill(MemorySegment s, DType dtype, long n, double value) {
    // All-zero bytes are +0 only: full(shape, -0.0) keeps its sign, as PyTorch's does.
    if (Double.doubleToRawLongBits(value) == 0) s.fill((byte) 0);
    else for (long i = 0; i < n; i++) Elements.put(s, dtype, i, value);
  }

  /**
   * A tensor made from Java values inside a captured step would replay with the values it had when
   * captured, and an op that computes its result in Java arrays makes one: both are refused.
   */
  private static void refuseJavaData() {
    Recorder.refuse("tensor(data)", "a tensor made from Java values keeps its captured values");
  }

  public static Tensor zerosLike(Tensor t) {
    return zeros(t.dtype(), t.shape());
  }

  public static Tensor onesLike(Tensor t) {
    return ones(t.dtype(), t.shapeArray()); // full() copies nothing of it, and keeps no copy
  }

  public static Tensor fullLike(Tensor t, double value) {
    return full(t.dtype(), t.shape(), value);
  }

  public static Tensor emptyLike(Tensor t) {
    return Tensor.empty(t.dtype(), t.shape());
  }

  /** The n x n identity. */
  public static Tensor eye(long n) {
    return eye(n, n);
  }

  public static Tensor eye(long n, long m) {
    Tensor t = zeros(n, m);
    for (long i = 0; i < Math.min(n, m); i++)
      t.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i * m + i, 1f);
    return t;
  }

  /** [0, end) in steps of 1, int64 as PyTorch's integer arange. */
  public static Tensor arange(long end) {
    return arange(0, end, 1);
  }

  public static Tensor arange(long start, long end, long step) {
    if (step == 0) throw new IllegalArgumentException("step must be nonzero");
    long n = Math.max(0, (end - start + step - Long.signum(step)) / step);
    Tensor t = Tensor.empty(DType.INT64, n);
    for (long i = 0; i < n; i++) t.segment().setAtIndex(ValueLayout.JAVA_LONG, i, start + i * step);
    return t;
  }

  /** Floating arange: PyTorch computes each value as start + i * step, in float64 then rounded. */
  public static Tensor arange(double start, double end, double step) {
    if (step == 0) throw new IllegalArgumentException("step must be nonzero");
    long n = (long) Math.ceil((end - start) / step);
    Tensor t = Tensor.empty(DType.FLOAT32, Math.max(n, 0));
    for (long i = 0; i < n; i++)
      t.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (start + i * step));
    return t;
  }

  /**
   * {@code steps} evenly spaced values from start to end, as PyTorch's CPU kernel computes them:
   * the first half from the start, the second half back from the end.
   */
  public static Tensor linspace(double start, double end, long steps) {
    if (steps < 0) throw new IllegalArgumentException("number of steps must be non-negative");
    Tensor t = Tensor.empty(DType.FLOAT32, steps);
    if (steps == 1) {
      t.segment().setAtIndex(ValueLayout.JAVA_FLOAT, 0, (float) start);
      return t;
    }
    float s = (float) start, e = (float) end;
    float step = (e - s) / (steps - 1);
    long half = steps / 2;
    for (long i = 0; i < steps; i++) {
      float v = i < half ? s + step * i : e - step * (steps - i - 1);
      t.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
    }
    return t;
  }

  // ------------------------------------------------------------ random

  public static void manualSeed(long seed) {
    Generator.defaultGenerator().manualSeed(seed);
  }

  public static Tensor randn(long... shape) {
    return randn(DType.FLOAT32, Generator.defaultGenerator(), shape);
  }

  public static Tensor randn(DType dtype, long... shape) {
    return randn(dtype, Generator.defaultGenerator(), shape);
  }

  public static Tensor randn(DType dtype, Generator g, long... shape) {
    return Tensor.empty(dtype, shape).normal_(0, 1, g);
  }

  public static Tensor rand(long... shape) {
    return rand(DType.FLOAT32, Generator.defaultGenerator(), shape);
  }

  public static Tensor rand(DType dtype, long... shape) {
    return rand(dtype, Generator.defaultGenerator(), shape);
  }

  public static Tensor rand(DType dtype, Generator g, long... shape) {
    return Tensor.empty(dtype, shape).uniform_(0, 1, g);
  }

  /** Integers in [low, high), int64. */
  public static Tensor randint(long low, long high, long... shape) {
    return randint(low, high, Generator.defaultGenerator(), shape);
  }

  public static Tensor randint(long low, long high, Generator g, long... shape) {
    Tensor t = Tensor.empty(DType.INT64, shape);
    g.randint(t.segment(), t.numel(), low, high);
    return t;
  }

  /** A random permutation of [0, n), int64. */
  public static Tensor randperm(long n) {
    return randperm(n, Generator.defaultGenerator());
  }

  public static Tensor randperm(long n, Generator g) {
    Tensor t = Tensor.empty(DType.INT64, n);
    g.randperm(t.segment(), n);
    return t;
  }

  // ------------------------------------------------------------ grad mode

  public static GradMode.Guard noGrad() {
    return GradMode.noGrad();
  }

  public static GradMode.Guard enableGrad() {
    return GradMode.enableGrad();
  }

  public static boolean isGradEnabled() {
    return GradMode.isEnabled();
  }

  // ------------------------------------------------------------ functional forms

  public static Tensor matmul(Tensor a, Tensor b) {
    return LinearAlgebra.matmul(a, b);
  }

  public static Tensor mm(Tensor a, Tensor b) {
    return LinearAlgebra.mm(a, b);
  }

  public static Tensor add(Tensor a, Tensor b) {
    return a.add(b);
  }

  public static Tensor sub(Tensor a, Tensor b) {
    return a.sub(b);
  }

  public static Tensor mul(Tensor a, Tensor b) {
    return a.mul(b);
  }

  public static Tensor div(Tensor a, Tensor b) {
    return a.div(b);
  }

  public static Tensor where(Tensor cond, Tensor a, Tensor b) {
    return Elementwise.where(cond, a, b);
  }

  public static Tensor cat(Tensor[] ts, long dim) {
    return ShapeOps.cat(ts, dim);
  }

  public static Tensor stack(Tensor[] ts, long dim) {
    return ShapeOps.stack(ts, dim);
  }

  public static Tensor unsqueeze(Tensor t, long dim) {
    return t.unsqueeze(dim);
  }

  public static Tensor isnan(Tensor t) {
    return t.isnan();
  }

  public static Tensor exp(Tensor t) {
    return t.exp();
  }

  public static Tensor log(Tensor t) {
    return t.log();
  }

  public static Tensor tanh(Tensor t) {
    return t.tanh();
  }

  public static Tensor sigmoid(Tensor t) {
    return t.sigmoid();
  }

  public static Tensor relu(Tensor t) {
    return t.relu();
  }

  public static Tensor sum(Tensor t) {
    return t.sum();
  }

  public static Tensor mean(Tensor t) {
    return t.mean();
  }

  public static Tensor neg(Tensor t) {
    return t.neg();
  }

  public static Tensor sqrt(Tensor t) {
    return t.sqrt();
  }

  public static Tensor abs(Tensor t) {
    return t.abs();
  }

  public static Tensor sin(Tensor t) {
    return t.sin();
  }

  public static Tensor cos(Tensor t) {
    return t.cos();
  }

  public static Tensor reciprocal(Tensor t) {
    return t.reciprocal();
  }

  public static Tensor pow(Tensor t, double exponent) {
    return t.pow(exponent);
  }

  public static Tensor pow(Tensor t, Tensor exponent) {
    return t.pow(exponent);
  }

  public static Tensor clamp(Tensor t, double min, double max) {
    return t.clamp(min, max);
  }

  public static Tensor maximum(Tensor a, Tensor b) {
    return a.maximum(b);
  }

  public static Tensor minimum(Tensor a, Tensor b) {
    return a.minimum(b);
  }

  public static Tensor maskedFill(Tensor t, Tensor mask, double value) {
    return t.maskedFill(mask, value);
  }

  public static Tensor bmm(Tensor a, Tensor b) {
    return a.bmm(b);
  }

  public static Tensor mv(Tensor a, Tensor v) {
    return a.mv(v);
  }

  public static Tensor dot(Tensor a, Tensor b) {
    return a.dot(b);
  }

  public static Tensor t(Tensor a) {
    return a.t();
  }

  public static Tensor transpose(Tensor a, long dim0, long dim1) {
    return a.transpose(dim0, dim1);
  }

  public static Tensor permute(Tensor a, long... dims) {
    return a.permute(dims);
  }

  public static Tensor reshape(Tensor a, long... shape) {
    return a.reshape(shape);
  }

  public static Tensor squeeze(Tensor a) {
    return a.squeeze();
  }

  public static Tensor squeeze(Tensor a, long dim) {
    return a.squeeze(dim);
  }

  public static Tensor flatten(Tensor a, long startDim, long endDim) {
    return a.flatten(startDim, endDim);
  }

  public static Tensor narrow(Tensor a, long dim, long start, long length) {
    return a.narrow(dim, start, length);
  }

  public static Tensor select(Tensor a, long dim, long index) {
    return a.select(dim, index);
  }

  public static Tensor indexSelect(Tensor a, long dim, Tensor index) {
    return a.indexSelect(dim, index);
  }

  public static Tensor gather(Tensor a, long dim, Tensor index) {
    return a.gather(dim, index);
  }

  public static Tensor sum(Tensor t, long[] dims, boolean keepdim) {
    return t.sum(dims, keepdim);
  }

  public static Tensor mean(Tensor t, long[] dims, boolean keepdim) {
    return t.mean(dims, keepdim);
  }

  public static Tensor amax(Tensor t, long[] dims, boolean keepdim) {
    return t.amax(dims, keepdim);
  }

  public static Tensor amin(Tensor t, long[] dims, boolean keepdim) {
    return t.amin(dims, keepdim);
  }

  public static Tensor max(Tensor t) {
    return t.max();
  }

  public static Tensor min(Tensor t) {
    return t.min();
  }

  public static Tensor norm(Tensor t) {
    return t.norm();
  }

  public static Tensor var(Tensor t, long[] dims, boolean unbiased, boolean keepdim) {
    return t.var(dims, unbiased, keepdim);
  }

  public static Tensor logsumexp(Tensor t, long[] dims, boolean keepdim) {
    return t.logsumexp(dims, keepdim);
  }

  public static Tensor softmax(Tensor t, long dim) {
    return t.softmax(dim);
  }

  public static Tensor logSoftmax(Tensor t, long dim) {
    return t.logSoftmax(dim);
  }

  // ------------------------------------------------------------ configuration

  /**
   * What the library runs on, like {@code torch.__config__.show()}: the Java version, the BLAS
   * chosen (with {@code openblas_get_config()}), where it was loaded from, and the thread count.
   */
  public static String config() {
    return dev.panagrad.blas.BlasLibrary.describe();
  }

  /**
   * Sets the number of threads ops use: the intra-op pool of elementwise kernels and OpenBLAS's
   * threads. The two never run at once (an op is either a kernel loop or a matrix product), so n
   * threads in all never oversubscribe n cores.
   */
  public static void setNumThreads(int n) {
    dev.panagrad.blas.BlasLibrary.setNumThreads(n);
    dev.panagrad.kernels.Parallel.setThreads(n);
  }

  /** The number of threads matrix products use; by default the number of processors. */
  public static int getNumThreads() {
    return dev.panagrad.blas.BlasLibrary.getNumThreads();
  }
}
