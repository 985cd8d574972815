package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;
import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.UnaryOp;
import java.util.Arrays;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/** Pointwise maths and activations: forward, and what each records for backward. */
public final class Elementwise {
  private Elementwise() {}

  static DType floatType(Tensor a) {
    return a.dtype().isFloatingPoint() ? a.dtype() : DType.FLOAT32;
  }

  /** A unary op whose backward reads the input ({@code saveInput}) or the output. */
  /** PyTorch's dispatch error for a kernel it compiles for floating types only. */
  private static void floatingOnly(String kernel, Tensor a) {
    if (!a.dtype().isFloatingPoint()) notImplemented(kernel, a);
  }

  private static void notImplemented(String kernel, Tensor a) {
    throw new IllegalArgumentException(
        "\"" + kernel + "\" not implemented for '" + Pointwise.scalarTypeName(a.dtype()) + "'");
  }

  static Tensor unary(Tensor a, Op op, boolean saveInput, DoubleUnaryOperator f, double... sc) {
    Tensor out = Pointwise.unary(a, floatType(a), f);
    if (Tape.needsRecord(a)) {
      Tape.record(op, out, new Tensor[] {a}, new Tensor[] {saveInput ? a : out}, sc, null);
    }
    return out;
  }

  /** A kernel-backed unary op (see Pointwise): saves its input or its output for backward. */
  static Tensor unaryK(Tensor a, Op op, boolean saveInput, UnaryOp k) {
    Tensor out = Pointwise.unary(a, floatType(a), k, 0, 0);
    if (Tape.needsRecord(a)) Tape.record(op, out, a, saveInput ? a : out);
    return out;
  }

  public static Tensor neg(Tensor a) {
    if (a.dtype() == DType.BOOL) {
      throw new IllegalArgumentException(
          "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to"
              + " invert a mask, use the `~` or `logical_not()` operator instead.");
    }
    Tensor out = Pointwise.unary(a, a.dtype(), UnaryOp.NEG, 0, 0);
    if (Tape.needsRecord(a)) Tape.record(Op.NEG, out, a, null);
    return out;
  }

  public static Tensor exp(Tensor a) {
    return unaryK(a, Op.EXP, false, UnaryOp.EXP);
  }

  public static Tensor log(Tensor a) {
    return unaryK(a, Op.LOG, true, UnaryOp.LOG);
  }

  public static Tensor sqrt(Tensor a) {
    return unaryK(a, Op.SQRT, false, UnaryOp.SQRT);
  }

  public static Tensor abs(Tensor a) {
    if (a.dtype() == DType.BOOL) notImplemented("abs_cpu", a);
    Tensor out = Pointwise.unary(a, a.dtype(), UnaryOp.ABS, 0, 0);
    if (Tape.needsRecord(a)) Tape.record(Op.ABS, out, a, a);
    return out;
  }

  public static Tensor tanh(Tensor a) {
    return unaryK(a, Op.TANH, false, UnaryOp.TANH);
  }

  public static Tensor sigmoid(Tensor a) {
    return unaryK(a, Op.SIGMOID, false, UnaryOp.SIGMOID);
  }

  static double sigmoid(double x) {
    return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
  }

  public static Tensor relu(Tensor a) {
    if (a.dtype() == DType.BOOL) {
      throw new IllegalArgumentException("Boolean inputs not supported for relu");
    }
    Tensor out = Pointwise.unary(a, a.dtype(), UnaryOp.RELU, 0, 0);
    if (Tape.needsRecord(a)) Tape.record(Op.RELU, out, a, out);
    return out;
  }

  /**
   * relu's backward, PyTorch's threshold_backward: g where y > 0, else 0 (NaN in y passes g).
   * Recorded as a product by the mask, so a differentiable backward (create_graph) still works.
   */
  public static Tensor reluBackward(Tensor g, Tensor y) {
    if (Tape.needsRecord(g)) return g.mul(y.gt(0).to(g.dtype()));
    return Pointwise.binary(g, y, g.dtype(), BinaryOp.RELU_BACKWARD, 0);
  }

  /**
   * clamp's backward, PyTorch's clamp_backward: {@code where(min <= x <= max, g, 0)} (so NaN in x
   * gives 0), one kernel per finite bound. Under create_graph, and for mixed dtypes or
   * broadcasting, the same as tensor ops.
   */
  public static Tensor clampBackward(Tensor g, Tensor x, double min, double max) {
    if (Tape.needsRecord(g) || g.dtype() != x.dtype() || !Pointwise.sameShape(g, x)) {
      Tensor inside = x.ge(min).logicalAnd(x.le(max));
      return Torch.where(inside, g, Torch.zeros(g.dtype(), new long[0]));
    }
    boolean low = min != Double.NEGATIVE_INFINITY || max == Double.POSITIVE_INFINITY;
    Tensor d = low ? Pointwise.binary(g, x, g.dtype(), BinaryOp.CLAMP_MIN_BACKWARD, min) : g;
    if (max != Double.POSITIVE_INFINITY) {
      d = Pointwise.binary(d, x, g.dtype(), BinaryOp.CLAMP_MAX_BACKWARD, max);
    }
    return d;
  }

  /**
   * tanh's backward, g (1 - y^2), as one kernel: one result instead of three. The tensor-op form
   * remains for a differentiable backward (create_graph) and for mixed dtypes or broadcasting; the
   * kernel rounds after each operation as those ops do, so both give the same bits.
   */
  public static Tensor tanhBackward(Tensor g, Tensor y) {
    if (!fusedBackward(g, y)) return g.mul(y.pow(2).rsub(1));
    return Pointwise.binary(g, y, g.dtype(), BinaryOp.TANH_BACKWARD, 0);
  }

  /** sigmoid's backward, g y (1 - y), as one kernel; see {@link #tanhBackward}. */
  public static Tensor sigmoidBackward(Tensor g, Tensor y) {
    if (!fusedBackward(g, y)) return g.mul(y.mul(y.rsub(1)));
    return Pointwise.binary(g, y, g.dtype(), BinaryOp.SIGMOID_BACKWARD, 0);
  }

  /** Whether a fused backward kernel can stand in for the tensor ops of a backward rule. */
  private static boolean fusedBackward(Tensor g, Tensor y) {
    return !Tape.needsRecord(g, y)
        && g.dtype() == y.dtype()
        && g.dtype().isFloatingPoint()
        && Arrays.equals(g.shapeArray(), y.shapeArray());
  }

  public static Tensor sin(Tensor a) {
    return unary(a, Op.SIN, true, Math::sin);
  }

  public static Tensor cos(Tensor a) {
    return unary(a, Op.COS, true, Math::cos);
  }

  public static Tensor reciprocal(Tensor a) {
    return unary(a, Op.RECIPROCAL, false, v -> 1 / v);
  }

  public static Tensor gelu(Tensor a) {
    floatingOnly("GeluKernelImpl", a);
    return unary(a, Op.GELU, true, v -> 0.5 * v * (1 + erf(v / Math.sqrt(2))));
  }

  public static Tensor silu(Tensor a) {
    floatingOnly("silu_cpu", a);
    return unary(a, Op.SILU, true, v -> v * sigmoid(v));
  }

  public static Tensor leakyRelu(Tensor a, double slope) {
    floatingOnly("leaky_relu_cpu", a);
    return unary(a, Op.LEAKY_RELU, true, v -> v > 0 ? v : v * slope, slope);
  }

  public static Tensor elu(Tensor a, double alpha) {
    floatingOnly("elu_cpu", a);
    return unary(a, Op.ELU, true, v -> v > 0 ? v : alpha * Math.expm1(v), alpha);
  }

  /** softplus with PyTorch's defaults beta=1, threshold=20 (linear above the threshold). */
  public static Tensor softplus(Tensor a, double beta, double threshold) {
    floatingOnly("softplus_cpu", a);
    return unary(
        a,
        Op.SOFTPLUS,
        true,
        v -> v * beta > threshold ? v : Math.log1p(Math.exp(v * beta)) / beta,
        beta,
        threshold);
  }

  /**
   * erf to double precision: erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (2n+1)!!, a series
   * of positive terms (no cancellation); |erf(x)| rounds to 1 beyond 6.
   */
  public static double erf(double x) {
    if (Double.isNaN(x)) return x;
    double ax = Math.abs(x);
    if (ax >= 6) return Math.signum(x);
    double term = ax, sum = ax, x2 = ax * ax;
    for (int n = 1; n < 200 && term > 1e-17 * sum; n++) {
      term *= 2 * x2 / (2 * n + 1);
      sum += term;
    }
    double r = 2 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum;
    return x < 0 ? -r : r;
  }

  // ------------------------------------------------------------ with a scalar

  static Tensor scalarOp(Tensor a, double s, Op op, boolean saveInput, UnaryOp k) {
    DType dt = Pointwise.resultTypeWithScalar(a, !isIntegral(s));
    Tensor out = Pointwise.unary(a, dt, k, s, 0);
    if (Tape.needsRecord(a)) Tape.record(op, out, a, saveInput ? a : null, s);
    return out;
  }

  static boolean isIntegral(double s) {
    return s == Math.rint(s) && !Double.isInfinite(s) && Math.abs(s) < 9.007199254740992E15;
  }

  public static Tensor add(Tensor a, double s) {
    return scalarOp(a, s, Op.ADD_SCALAR, false, UnaryOp.ADD_SCALAR);
  }

  public static Tensor sub(Tensor a, double s) {
    return scalarOp(a, -s, Op.SUB_SCALAR, false, UnaryOp.ADD_SCALAR);
  }

  public static Tensor rsub(Tensor a, double s) {
    return scalarOp(a, s, Op.RSUB_SCALAR, false, UnaryOp.RSUB_SCALAR);
  }

  public static Tensor mul(Tensor a, double s) {
    return scalarOp(a, s, Op.MUL_SCALAR, false, UnaryOp.MUL_SCALAR);
  }

  public static Tensor div(Tensor a, double s) {
    DType dt = floatType(a);
    Tensor out = Pointwise.unary(a, dt, UnaryOp.DIV_SCALAR, s, 0);
    if (Tape.needsRecord(a)) Tape.record(Op.DIV_SCALAR, out, a, null, s);
    return out;
  }

  public static Tensor pow(Tensor a, double e) {
    if (!a.dtype().isFloatingPoint() && isIntegral(e) && e < 0) {
      throw new IllegalArgumentException("Integers to negative integer powers are not allowed.");
    }
    DType dt = Pointwise.resultTypeWithScalar(a, !isIntegral(e));
    // x^2 and x^1 are exact as a product and a copy: the kernels run them.
    Tensor out =
        e == 2
            ? Pointwise.unary(a, dt, UnaryOp.SQUARE, 0, 0)
            : e == 1
                ? Pointwise.unary(a, dt, UnaryOp.COPY, 0, 0)
                : Pointwise.unary(a, dt, v -> Math.pow(v, e));
    if (Tape.needsRecord(a)) Tape.record(Op.POW_SCALAR, out, a, a, e);
    return out;
  }

  /** clamp(min, max); either bound may be NaN-free infinity to mean "none". */
  public static Tensor clamp(Tensor a, double min, double max) {
    // The bounds take part in type promotion (an integer tensor clamped to 0.5 becomes float);
    // an infinite bound means "none" and takes no part.
    boolean floating =
        (!isIntegral(min) && !Double.isInfinite(min))
            || (!isIntegral(max) && !Double.isInfinite(max));
    Tensor out =
        Pointwise.unary(a, Pointwise.resultTypeWithScalar(a, floating), UnaryOp.CLAMP, min, max);
    if (Tape.needsRecord(a)) {
      Tape.record(Op.CLAMP, out, a, a, min, max, null);
    }
    return out;
  }

  // ------------------------------------------------------------ two tensors

  /** A binary op whose backward reads only its scalar, alpha (add and sub). */
  static Tensor binaryAlpha(Tensor a, Tensor b, Op op, BinaryOp k, double alpha) {
    Tensor out = Pointwise.binary(a, b, Pointwise.resultType(a, b), k, alpha);
    if (Tape.needsRecord(a, b)) Tape.recordBinary(op, out, a, b, alpha);
    return out;
  }

  /** A binary op whose backward reads the saved tensors {@code savedA} and {@code savedB}. */
  static Tensor binary(
      Tensor a, Tensor b, Op op, Tensor savedA, Tensor savedB, DType dt, BinaryOp k) {
    Tensor out = Pointwise.binary(a, b, dt, k, 1);
    if (Tape.needsRecord(a, b)) Tape.recordBinary(op, out, a, b, savedA, savedB);
    return out;
  }

  public static Tensor add(Tensor a, Tensor b, double alpha) {
    return binaryAlpha(a, b, Op.ADD, BinaryOp.ADD, alpha);
  }

  public static Tensor sub(Tensor a, Tensor b, double alpha) {
    if (a.dtype() == DType.BOOL && b.dtype() == DType.BOOL) {
      throw new IllegalArgumentException(
          "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or"
              + " `logical_xor()` operator instead.");
    }
    return binaryAlpha(a, b, Op.SUB, BinaryOp.SUB, alpha);
  }

  public static Tensor mul(Tensor a, Tensor b) {
    // Save an input only when the other input needs its gradient (it is that gradient's factor).
    Tensor savedA = a.requiresGrad() ? b : null, savedB = b.requiresGrad() ? a : null;
    return binary(a, b, Op.MUL, savedA, savedB, Pointwise.resultType(a, b), BinaryOp.MUL);
  }

  public static Tensor div(Tensor a, Tensor b) {
    DType dt = Pointwise.resultType(a, b);
    if (!dt.isFloatingPoint()) dt = DType.FLOAT32;
    return binary(a, b, Op.DIV, a, b, dt, BinaryOp.DIV);
  }

  public static Tensor pow(Tensor a, Tensor b) {
    Tensor out = Pointwise.binary(a, b, Pointwise.resultType(a, b), Math::pow);
    if (Tape.needsRecord(a, b))
      Tape.record(Op.POW, out, new Tensor[] {a, b}, new Tensor[] {a, b, out}, null, null);
    return out;
  }

  public static Tensor maximum(Tensor a, Tensor b) {
    return binary(a, b, Op.MAXIMUM, a, b, Pointwise.resultType(a, b), BinaryOp.MAX);
  }

  public static Tensor minimum(Tensor a, Tensor b) {
    return binary(a, b, Op.MINIMUM, a, b, Pointwise.resultType(a, b), BinaryOp.MIN);
  }

  public static Tensor where(Tensor cond, Tensor a, Tensor b) {
    if (cond.dtype() != DType.BOOL) {
      throw new IllegalArgumentException(
          "where expected condition to be a boolean tensor, but got a tensor with dtype "
              + Pointwise.scalarTypeName(cond.dtype()));
    }
    Tensor out =
        Pointwise.ternary(cond, a, b, Pointwise.resultType(a, b), (c, x, y) -> c != 0 ? x : y);
    if (Tape.needsRecord(a, b))
      Tape.record(Op.WHERE, out, new Tensor[] {a, b}, new Tensor[] {cond}, null, null);
    return out;
  }

  public static Tensor maskedFill(Tensor a, Tensor mask, double value) {
    if (mask.dtype() != DType.BOOL) {
      throw new IllegalArgumentException(
          "masked_fill_ only supports boolean masks, but got mask with dtype "
              + Pointwise.typeMetaName(mask.dtype()));
    }
    Tensor out = Pointwise.binary(a, mask, a.dtype(), (x, m) -> m != 0 ? value : x);
    if (!Arrays.equals(out.shape(), a.shape())) {
      throw new IllegalArgumentException(
          "masked_fill: mask of shape "
              + Shapes.str(mask.shape())
              + " does not broadcast to "
              + Shapes.str(a.shape()));
    }
    if (Tape.needsRecord(a))
      Tape.record(Op.MASKED_FILL, out, new Tensor[] {a}, new Tensor[] {mask}, null, null);
    return out;
  }

  // ------------------------------------------------------------ comparisons (no grad)

  public static Tensor compare(Tensor a, Tensor b, DoubleBinaryOperator f) {
    return Pointwise.binary(a, b, DType.BOOL, f);
  }
}
