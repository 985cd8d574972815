package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Elements;
import dev.panagrad.Shapes;
import dev.panagrad.StridedLoop;
import dev.panagrad.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/**
 * Elementwise loops over any shapes and strides, through {@link StridedLoop}: the general path
 * every pointwise op can take. Floating values are computed in double and rounded once to the
 * output type, which for +, -, *, / and sqrt gives the same float32 result as float arithmetic.
 */
public final class Pointwise {
  private Pointwise() {}

  /** Result dtype of a binary op, PyTorch's result_type (0-d tensors count as lower priority). */
  public static DType resultType(Tensor a, Tensor b) {
    DType da = a.dtype(), db = b.dtype();
    if (da == db) return da;
    boolean za = a.dim() == 0, zb = b.dim() == 0;
    if (za != zb) {
      Tensor dimmed = za ? b : a, zero = za ? a : b;
      if (category(zero.dtype()) <= category(dimmed.dtype())) return dimmed.dtype();
      return zero.dtype();
    }
    return DType.promote(da, db);
  }

  /** Result dtype of a tensor with a Java double scalar (a "wrapped number"). */
  public static DType resultTypeWithScalar(Tensor a, boolean scalarIsFloating) {
    if (scalarIsFloating && !a.dtype().isFloatingPoint()) return DType.FLOAT32;
    if (!scalarIsFloating && a.dtype() == DType.BOOL) return DType.INT64;
    return a.dtype();
  }

  /** c10's ScalarType name, as PyTorch prints {@code tensor.scalar_type()} in messages: Float. */
  static String scalarTypeName(DType d) {
    return switch (d) {
      case FLOAT32 -> "Float";
      case FLOAT64 -> "Double";
      case INT64 -> "Long";
      case BOOL -> "Bool";
    };
  }

  /** caffe2's TypeMeta name, as PyTorch prints {@code tensor.dtype()} in C++ messages: float. */
  static String typeMetaName(DType d) {
    return switch (d) {
      case FLOAT32 -> "float";
      case FLOAT64 -> "double";
      case INT64 -> "long int";
      case BOOL -> "bool";
    };
  }

  static int category(DType d) {
    return switch (d) {
      case BOOL -> 0;
      case INT64 -> 1;
      case FLOAT32, FLOAT64 -> 2;
    };
  }

  public static Tensor unary(Tensor a, DType outType, DoubleUnaryOperator f) {
    Tensor out = Tensor.empty(outType, a.shape());
    unaryInto(out, a, f);
    return out;
  }

  /** out[i] = f(a[i]); {@code a} broadcasts to out's shape. */
  public static void unaryInto(Tensor out, Tensor a, DoubleUnaryOperator f) {
    long[] shape = out.shape();
    MemorySegment so = out.segment(), sa = a.segment();
    DType to = out.dtype(), ta = a.dtype();
    long[][] strides = {out.stride(), Shapes.broadcastStrides(a.shape(), a.stride(), shape)};
    StridedLoop.forEach(
        shape,
        strides,
        new long[] {out.storageOffset(), a.storageOffset()},
        (off, inner, n) -> {
          long o = off[0], x = off[1];
          for (long i = 0; i < n; i++, o += inner[0], x += inner[1]) {
            Elements.put(so, to, o, f.applyAsDouble(Elements.get(sa, ta, x)));
          }
        });
  }

  public static Tensor binary(Tensor a, Tensor b, DType outType, DoubleBinaryOperator f) {
    Tensor out = Tensor.empty(outType, Shapes.broadcast(a.shape(), b.shape()));
    binaryInto(out, a, b, f);
    return out;
  }

  /** out[i] = f(a[i], b[i]); a and b broadcast to out's shape. */
  public static void binaryInto(Tensor out, Tensor a, Tensor b, DoubleBinaryOperator f) {
    long[] shape = out.shape();
    MemorySegment so = out.segment(), sa = a.segment(), sb = b.segment();
    DType to = out.dtype(), ta = a.dtype(), tb = b.dtype();
    long[][] strides = {
      out.stride(),
      Shapes.broadcastStrides(a.shape(), a.stride(), shape),
      Shapes.broadcastStrides(b.shape(), b.stride(), shape)
    };
    StridedLoop.forEach(
        shape,
        strides,
        new long[] {out.storageOffset(), a.storageOffset(), b.storageOffset()},
        (off, inner, n) -> {
          long o = off[0], x = off[1], y = off[2];
          for (long i = 0; i < n; i++, o += inner[0], x += inner[1], y += inner[2]) {
            Elements.put(
                so, to, o, f.applyAsDouble(Elements.get(sa, ta, x), Elements.get(sb, tb, y)));
          }
        });
  }

  /** A three-operand map, for where(cond, a, b) and friends. */
  public interface Ternary {
    double apply(double a, double b, double c);
  }

  public static Tensor ternary(Tensor a, Tensor b, Tensor c, DType outType, Ternary f) {
    long[] shape = Shapes.broadcast(Shapes.broadcast(a.shape(), b.shape()), c.shape());
    Tensor out = Tensor.empty(outType, shape);
    MemorySegment so = out.segment(), sa = a.segment(), sb = b.segment(), sc = c.segment();
    DType to = out.dtype(), ta = a.dtype(), tb = b.dtype(), tc = c.dtype();
    long[][] strides = {
      out.stride(),
      Shapes.broadcastStrides(a.shape(), a.stride(), shape),
      Shapes.broadcastStrides(b.shape(), b.stride(), shape),
      Shapes.broadcastStrides(c.shape(), c.stride(), shape)
    };
    StridedLoop.forEach(
        shape,
        strides,
        new long[] {0, a.storageOffset(), b.storageOffset(), c.storageOffset()},
        (off, inner, n) -> {
          long o = off[0], x = off[1], y = off[2], z = off[3];
          for (long i = 0; i < n; i++, o += inner[0], x += inner[1], y += inner[2], z += inner[3]) {
            Elements.put(
                so,
                to,
                o,
                f.apply(Elements.get(sa, ta, x), Elements.get(sb, tb, y), Elements.get(sc, tc, z)));
          }
        });
    return out;
  }

  /** Copies {@code src} (broadcast, converted) into {@code dst}. */
  public static void copyInto(Tensor dst, Tensor src) {
    Shapes.broadcast(dst.shape(), src.shape()); // message if they do not broadcast
    unaryInto(dst, src, v -> v);
  }
}
