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
}
