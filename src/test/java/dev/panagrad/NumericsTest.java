package dev.panagrad;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** RELIABILITY 31-35: the numerically hard cases, expected values from the maths beside each. */
class NumericsTest {
  @Test
  void crossEntropyOfAHugeLogitIsFinite() {
    Tensor l = tensor(new float[][] {{1e4f, 0f}}).requiresGrad_(true);
    Tensor ce = F.crossEntropy(l, tensor(new long[] {1}));
    // -log softmax(l)[1] = logsumexp(1e4, 0) - 0 = 1e4 + log(1 + e^-1e4) = 1e4
    assertEquals(1e4, ce.item(), 1e-3);
    ce.backward();
    // softmax - onehot = [1, 0] - [0, 1]
    assertArrayEquals(new float[] {1, -1}, l.grad().toFloatArray(), 1e-6f);
  }

  @Test
  void bceWithLogitsIsFiniteForAnyFiniteLogit() {
    Tensor z = tensor(1e4f, -1e4f, 50f).requiresGrad_(true);
    Tensor b = F.binaryCrossEntropyWithLogits(z, tensor(0f, 1f, 0f));
    // each term: max(z,0) - z y + log(1 + e^-|z|) = 1e4, 1e4, 50 -> mean (2e4 + 50) / 3
    assertEquals((2e4 + 50) / 3, b.item(), 1e-2);
    b.backward();
    // (sigmoid(z) - y) / 3 = 1/3, -1/3, 1/3
    assertArrayEquals(new float[] {1 / 3f, -1 / 3f, 1 / 3f}, z.grad().toFloatArray(), 1e-6f);
  }

  @Test
  void bceOnProbabilitiesClampsTheLogAtMinus100() {
    // -(1 log 0 + 0) and -(0 + 1 log(1 - 1)): each log clamped to -100, mean 100
    assertEquals(100, F.binaryCrossEntropy(tensor(0f, 1f), tensor(1f, 0f)).item(), 0);
  }

  /** The documented rule (docs/ARCHITECTURE.md): a row entirely -inf gives NaN, as PyTorch. */
  @Test
  void aFullyMaskedSoftmaxRowIsNan() {
    float ninf = Float.NEGATIVE_INFINITY;
    Tensor s = tensor(new float[][] {{ninf, ninf}, {1f, 2f}}).softmax(1);
    assertTrue(Float.isNaN((float) s.get(0, 0)) && Float.isNaN((float) s.get(0, 1)));
    // the other row is untouched: softmax(1, 2) = (1, e) / (1 + e)
    assertEquals(1 / (1 + Math.E), s.get(1, 0), 1e-6);
  }

  @Test
  void nanPropagatesThroughReluMaxAmaxAndTheirGradients() {
    Tensor n = tensor(Float.NaN, 1f, -1f).requiresGrad_(true);
    assertTrue(Double.isNaN(n.relu().get(0)));
    assertTrue(Double.isNaN(n.max().item()));
    assertTrue(Double.isNaN(n.amax(new long[] {0}, false).item()));
    n.relu().sum().backward();
    // threshold_backward passes the gradient where the output is NaN (NaN <= 0 is false)
    assertArrayEquals(new float[] {1, 1, 0}, n.grad().toFloatArray());
  }

  @Test
  void scalarLiteralsTakePyTorchsDtypes() {
    assertEquals(DType.INT64, tensor(2).dtype()); // torch.tensor(2)
    assertEquals(DType.FLOAT32, tensor(2.5).dtype()); // torch.tensor(2.5)
    assertEquals(0, tensor(2).dim());
  }
}
