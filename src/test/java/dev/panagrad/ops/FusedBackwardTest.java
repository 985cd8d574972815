package dev.panagrad.ops;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fused backward kernels against the tensor ops they stand in for: the kernels round after each
 * operation as the ops do, so the bits must be the same (on contiguous, strided and one-element
 * operands, both float types).
 */
class FusedBackwardTest {
  @ParameterizedTest
  @ValueSource(ints = {1, 7, 17, 65, 1025})
  void tanhAndSigmoidBackwardEqualTheirTensorOpsBitForBit(int n) {
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      manualSeed(n);
      Tensor g = randn(dt, n), y = randn(dt, n).tanh(), s = randn(dt, n).sigmoid();
      try (var ng = noGrad()) {
        assertArrayEquals(
            g.mul(y.pow(2).rsub(1)).toDoubleArray(),
            Elementwise.tanhBackward(g, y).toDoubleArray(),
            dt + " tanh");
        assertArrayEquals(
            g.mul(s.mul(s.rsub(1))).toDoubleArray(),
            Elementwise.sigmoidBackward(g, s).toDoubleArray(),
            dt + " sigmoid");
        // a strided operand (every other element) takes the per-element loop
        Tensor g2 = randn(dt, n), y2 = randn(dt, n, 2).select(1, 1);
        assertArrayEquals(
            g2.mul(y2.pow(2).rsub(1)).toDoubleArray(),
            Elementwise.tanhBackward(g2, y2).toDoubleArray(),
            dt + " strided tanh");
      }
    }
  }

  /**
   * clamp's backward kernels against PyTorch's definition, where(min <= x <= max, g, 0), written
   * with tensor ops: the same bits, with NaN inputs (no gradient), values on the bounds (gradient
   * 1), negative gradients outside (+0, not -0) and one bound or two.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 7, 17, 65, 1025})
  void clampBackwardIsWhereInsideBitForBit(int n) {
    double[][] bounds = {
      {0, Double.POSITIVE_INFINITY}, {Double.NEGATIVE_INFINITY, 0.5}, {-0.25, 0.5}
    };
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      manualSeed(n);
      Tensor g = randn(dt, n), x = randn(dt, n);
      x.view(-1).narrow(0, 0, 1).fill_(Double.NaN);
      if (n > 2) x.view(-1).narrow(0, 1, 1).fill_(0.5);
      try (var ng = noGrad()) {
        for (double[] b : bounds) {
          Tensor expected = where(x.ge(b[0]).logicalAnd(x.le(b[1])), g, zeros(dt));
          Tensor got = Elementwise.clampBackward(g, x, b[0], b[1]);
          assertArrayEquals(
              bits(expected), bits(got), dt + " clamp(" + b[0] + ", " + b[1] + ") backward");
        }
        // a strided input (every other element) takes the per-element loop
        Tensor xs = randn(dt, n, 2).select(1, 1);
        assertArrayEquals(
            bits(where(xs.ge(0), g, zeros(dt))),
            bits(Elementwise.clampBackward(g, xs, 0, Double.POSITIVE_INFINITY)),
            dt + " strided");
      }
    }
  }

  private static long[] bits(Tensor t) {
    double[] v = t.toDoubleArray();
    long[] b = new long[v.length];
    for (int i = 0; i < v.length; i++) b[i] = Double.doubleToRawLongBits(v[i]);
    return b;
  }
}
