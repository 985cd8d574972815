package dev.panagrad.autograd;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.Tensor;
import org.junit.jupiter.api.Test;

/** RELIABILITY.md items 1-9: graph misuse gives PyTorch's exception and message. */
class GraphErrorsTest {
  static <T extends Throwable> void assertMessage(Class<T> type, String part, Runnable r) {
    T e = assertThrows(type, r::run);
    assertTrue(e.getMessage().contains(part), () -> "message was: " + e.getMessage());
  }

  @Test
  void backwardTwiceWithoutRetainGraph() {
    Tensor x = ones(3).requiresGrad_(true);
    Tensor y = x.mul(x).sum(); // mul saves its inputs
    y.backward();
    assertMessage(
        IllegalStateException.class,
        "Trying to backward through the graph a second time",
        y::backward);
  }

  @Test
  void aGraphThatSavedNothingMayBeBackwardedTwice() {
    Tensor x = ones(3).requiresGrad_(true);
    Tensor y = x.add(2).sum();
    y.backward();
    y.backward();
    assertArrayEquals(new float[] {2, 2, 2}, x.grad().toFloatArray());
  }

  @Test
  void retainGraphDoublesTheLeafGrad() {
    Tensor x = ones(2).requiresGrad_(true);
    Tensor y = x.mul(x).sum(); // dy/dx = 2x = 2
    y.backward(null, true);
    y.backward(null, true);
    assertArrayEquals(new float[] {4, 4}, x.grad().toFloatArray());
  }

  @Test
  void nonScalarBackwardNeedsAGradient() {
    Tensor x = ones(2, 2).requiresGrad_(true);
    assertMessage(
        IllegalArgumentException.class,
        "grad can be implicitly created only for scalar outputs",
        () -> x.mul(2).backward());
    x.sum().reshape(1, 1).backward(); // numel 1 is fine
    assertArrayEquals(new float[] {1, 1, 1, 1}, x.grad().toFloatArray());
  }

  @Test
  void gradientOfTheWrongShape() {
    Tensor x = ones(2, 2).requiresGrad_(true);
    assertMessage(
        IllegalArgumentException.class,
        "Mismatch in shape: grad_output[0] has a shape of [2] and output[0] has a shape of [2, 2].",
        () -> x.mul(2).backward(ones(2)));
  }

  @Test
  void backwardWithoutHistory() {
    assertMessage(
        IllegalStateException.class,
        "element 0 of tensors does not require grad and does not have a grad_fn",
        () -> ones(2).sum().backward());
    Tensor x = ones(2).requiresGrad_(true), unused = ones(2).requiresGrad_(true);
    assertMessage(
        IllegalStateException.class,
        "One of the differentiated Tensors appears to not have been used in the graph",
        () -> Autograd.grad(x.sum(), x, unused));
  }

  @Test
  void modifiedSavedTensor() {
    Tensor x = ones(3).requiresGrad_(true);
    Tensor e = x.exp(); // saves its output
    Tensor y = e.sum();
    try (var ng = noGrad()) {
      e.mul_(2);
    }
    assertMessage(
        IllegalStateException.class, "is at version 1; expected version 0 instead", y::backward);
  }

  @Test
  void inPlaceOnALeafThatRequiresGrad() {
    Tensor w = ones(2).requiresGrad_(true);
    assertMessage(
        IllegalStateException.class,
        "a leaf Variable that requires grad is being used in an in-place operation.",
        () -> w.add_(1));
    try (var ng = noGrad()) {
      w.add_(1); // how optimizers update
    }
    assertEquals(2, w.get(0));
  }

  @Test
  void changingRequiresGradOfANonLeaf() {
    Tensor y = ones(2).requiresGrad_(true).mul(2);
    assertMessage(
        IllegalStateException.class,
        "you can only change requires_grad flags of leaf variables",
        () -> y.requiresGrad_(false));
  }

  @Test
  void gradOfANonLeafIsNullUnlessRetained() {
    Tensor x = ones(2).requiresGrad_(true);
    Tensor y = x.mul(3), z = x.mul(4).retainGrad();
    y.add(z).sum().backward();
    assertNull(y.grad());
    assertArrayEquals(new float[] {1, 1}, z.grad().toFloatArray());
    assertArrayEquals(new float[] {7, 7}, x.grad().toFloatArray());
  }

  @Test
  void copySlicesRecordsIndexedAssignment() {
    // seed 001: b[0,0] = a[0,0]**2 + a[0,1]; b[0,1] = a[0,1]**3 + a[0,0]
    Tensor a = tensor(new float[][] {{2, 4}}).requiresGrad_(true);
    Tensor b = zeros(1, 2);
    b.indexPut_(a.index(0, 0).pow(2).add(a.index(0, 1)), 0, 0);
    b.indexPut_(a.index(0, 1).pow(3).add(a.index(0, 0)), 0, 1);
    assertEquals("CopySlices", b.gradFn().name());
    b.mul(2).backward(tensor(new float[][] {{1, 1}}));
    // d/da0 = 2*(2*a0) + 2*1 = 10; d/da1 = 2*1 + 2*(3*a1^2) = 98
    assertArrayEquals(new float[] {10, 98}, a.grad().toFloatArray());
  }

  @Test
  void callingNodesByHand() {
    // seed 002: l = (x * y).sum(); walk l.grad_fn by hand
    Tensor x = tensor(1f, 2f).requiresGrad_(true), y = tensor(3f, 4f).requiresGrad_(true);
    Tensor l = x.mul(y).sum();
    Node backSum = l.gradFn();
    Tensor dz = backSum.apply(tensor(1.0))[0];
    Node backMul = backSum.nextFunctions().get(0).node();
    assertEquals("MulBackward0", backMul.name());
    Tensor[] d = backMul.apply(dz);
    Node backX = backMul.nextFunctions().get(0).node();
    assertEquals("AccumulateGrad", backX.name());
    backX.apply(d[0]);
    assertArrayEquals(new float[] {3, 4}, x.grad().toFloatArray());
  }
}
