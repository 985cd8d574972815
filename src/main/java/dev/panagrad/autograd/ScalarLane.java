package dev.panagrad.autograd;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.UnaryOp;

/**
 * Note [Scalar lane]. A graph of one-element tensors (micrograd's scale: W3 chains 1,000 adds,
 * products and tanhs of [1] tensors) spent most of its backward making gradient tensors: a
 * product's rule alone made two, each a storage, a handle and an op's checks, for one number. For a
 * row whose output and inputs all hold one element of one floating dtype, and whose op is one of
 * those below, the engine instead carries the gradient as a number and computes the rule here: a
 * tensor is made only where a gradient leaves the lane, at a leaf's sum ({@link LeafSums}) or at a
 * row the lane does not cover.
 *
 * <p>Same bits as the tensor rules: each formula below is the kernel's scalar definition ({@link
 * BinaryOp#apply}, {@link UnaryOp#apply}) the one-element tensor path runs, in the tensor's
 * precision, and gradients are summed in the order the engine would sum the tensors. The lane stays
 * out of whatever needs the tensor itself: hooks, retained gradients, create_graph, autograd.grad,
 * anomaly mode, and a step being captured for replay (whose kernels must be recorded). A W3 step's
 * backward made about 1,000 gradient tensors and 667 in-place adds into b's .grad, and took about
 * 133 us; it now makes three tensors and takes about 50 us (with leaf sums; probe medians).
 */
final class ScalarLane {
  /**
   * The ops whose rule {@link #rule} computes on numbers, by ordinal: Op has more than 64
   * constants, so an EnumSet of them is a JumboEnumSet, whose lookup the backward paid per row.
   */
  private static final boolean[] COVERED =
      covered(
          Op.ADD,
          Op.SUB,
          Op.MUL,
          Op.DIV,
          Op.TANH,
          Op.SIGMOID,
          Op.RELU,
          Op.EXP,
          Op.LOG,
          Op.NEG,
          Op.ADD_SCALAR,
          Op.SUB_SCALAR,
          Op.MUL_SCALAR,
          Op.POW_SCALAR);

  private static boolean[] covered(Op... ops) {
    boolean[] b = new boolean[Op.values().length];
    for (Op op : ops) b[op.ordinal()] = true;
    return b;
  }

  /** Off only in tests, which compare the lane with the tensor rules bit for bit. */
  static boolean enabled = true;

  private ScalarLane() {}

  /**
   * Whether row e is a scalar row the engine runs directly (Engine.runScalarRow): recorded with one
   * shape array of one element and one floating dtype for its output and inputs ({@code
   * Tape.scalarRow}), an op among add, sub, mul and tanh, and nothing that needs the tensor rules
   * (a gradient tensor, hooks, a retained gradient, saved tensors already freed).
   */
  static boolean isScalarRow(Tape tape, int e) {
    return tape.scalarRow[e]
        && SCALAR_ROW_OPS[tape.op[e].ordinal()]
        && tape.gradOf[e] == null
        && tape.state[e] != Tape.FREED
        && tape.hooks[e] == null
        && tape.retained[e] == null;
  }

  private static final boolean[] SCALAR_ROW_OPS = covered(Op.ADD, Op.SUB, Op.MUL, Op.TANH);

  /** Whether row e's gradient can be a number: its op and every operand qualify. */
  static boolean covers(Tape tape, int e) {
    if (!COVERED[tape.op[e].ordinal()]) return false;
    DType d = tape.outDtype[e];
    if ((d != DType.FLOAT32 && d != DType.FLOAT64)
        || tape.hooks[e] != null
        || tape.retained[e] != null
        || !Shapes.isOneElement(tape.outShape[e])) {
      return false;
    }
    for (int k = tape.edgeStart[e], end = k + tape.edgeCount[e]; k < end; k++) {
      long[] shape = tape.edgeShape[k];
      if (tape.edgeDtype[k] != d) return false;
      // shapes are shared arrays (SharedDims): an input of the output's shape is the same array
      if (shape != tape.outShape[e] && !Shapes.isOneElement(shape)) return false;
    }
    return true;
  }

  /**
   * Row c's gradients for output gradient g, in {@code c.laneGrads}: entry i is set for each input
   * i that needs one (what {@link BackwardRules} computes as tensors for a covered row).
   */
  static double[] rule(Ctx c, double g, boolean f32) {
    double[] out = c.laneGrads;
    switch (c.op()) {
      case ADD, SUB -> { // d(a +- alpha b) = (g, +-alpha g)
        out[0] = g;
        out[1] = scaledGrad(g, c.op() == Op.ADD ? c.scalar(0) : -c.scalar(0), f32);
      }
      case MUL -> { // d(a b) = (g b, g a); a factor is saved only when the other input needs it
        if (c.needsGrad(0)) out[0] = productGrad(g, c.savedItem(0), f32);
        if (c.needsGrad(1)) out[1] = productGrad(g, c.savedItem(1), f32);
      }
      case DIV -> { // d(a / b) = (g / b, -g a / (b b)), each op rounded as the tensor ops round
        double a = c.savedItem(0), b = c.savedItem(1);
        if (c.needsGrad(0)) out[0] = binary(BinaryOp.DIV, g, b, 1, f32);
        if (c.needsGrad(1)) {
          double num = binary(BinaryOp.MUL, unary(UnaryOp.NEG, g, 0, f32), a, 1, f32);
          out[1] = binary(BinaryOp.DIV, num, binary(BinaryOp.MUL, b, b, 1, f32), 1, f32);
        }
      }
      case EXP -> out[0] = binary(BinaryOp.MUL, g, c.savedItem(0), 1, f32); // g y
      case LOG -> out[0] = binary(BinaryOp.DIV, g, c.savedItem(0), 1, f32); // g / x
      case POW_SCALAR -> { // d(x^e) = g (x^(e-1) e); 0 when e = 0
        double e = c.scalar(0);
        out[0] =
            e == 0
                ? 0
                : binary(
                    BinaryOp.MUL,
                    g,
                    unary(UnaryOp.MUL_SCALAR, pow(c.savedItem(0), e - 1, f32), e, f32),
                    1,
                    f32);
      }
      case TANH -> out[0] = tanhGrad(g, c.savedItem(0), f32);
      case SIGMOID -> out[0] = binary(BinaryOp.SIGMOID_BACKWARD, g, c.savedItem(0), 0, f32);
      case RELU -> out[0] = binary(BinaryOp.RELU_BACKWARD, g, c.savedItem(0), 0, f32);
      case NEG -> out[0] = unary(UnaryOp.NEG, g, 0, f32);
      case ADD_SCALAR, SUB_SCALAR -> out[0] = g;
      case MUL_SCALAR -> out[0] = unary(UnaryOp.MUL_SCALAR, g, c.scalar(0), f32);
      default -> throw new AssertionError(c.op() + " is not in the scalar lane");
    }
    return out;
  }

  /** g alpha, an add's or sub's gradient for its second input (g itself when alpha is 1). */
  static double scaledGrad(double g, double alpha, boolean f32) {
    return alpha == 1 ? g : unary(UnaryOp.MUL_SCALAR, g, alpha, f32);
  }

  /** g times the other factor: a product's gradient for one input. */
  static double productGrad(double g, double factor, boolean f32) {
    return binary(BinaryOp.MUL, g, factor, 1, f32);
  }

  /** g (1 - y^2), tanh's gradient from its output y. */
  static double tanhGrad(double g, double y, boolean f32) {
    return binary(BinaryOp.TANH_BACKWARD, g, y, 0, f32);
  }

  /** The gradients' sum, as the tensor path's {@code sum.add(g)} rounds it. */
  static double add(double sum, double g, boolean f32) {
    return binary(BinaryOp.ADD, sum, g, 1, f32);
  }

  /** A lane gradient as the tensor the rules would have made: one element of {@code shape}. */
  static Tensor materialize(double v, long[] shape, DType dtype) {
    return dev.panagrad.Torch.full(dtype, shape, v);
  }

  private static double binary(BinaryOp k, double a, double b, double p, boolean f32) {
    return f32 ? k.apply((float) a, (float) b, (float) p) : k.apply(a, b, p);
  }

  /** {@code x.pow(d)} as the tensor op computes it: x^2 and x^1 by kernel, others by Math.pow. */
  private static double pow(double x, double d, boolean f32) {
    if (d == 2) return unary(UnaryOp.SQUARE, x, 0, f32);
    if (d == 1) return x;
    return f32 ? (float) Math.pow(x, d) : Math.pow(x, d);
  }

  private static double unary(UnaryOp k, double x, double p, boolean f32) {
    return f32 ? k.apply((float) x, (float) p, 0f) : k.apply(x, p, 0);
  }
}
