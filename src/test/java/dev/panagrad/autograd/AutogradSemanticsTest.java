package dev.panagrad.autograd;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.Tensor;
import dev.panagrad.memory.Scope;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** PyTorch's autograd semantics beyond single ops, and RELIABILITY.md items 10-13. */
class AutogradSemanticsTest {
  /** d(x^2)/dx = 2x, written as a custom Function. */
  static final class Square extends Function {
    @Override
    public Tensor forward(FunctionCtx ctx, Tensor... in) {
      ctx.saveForBackward(in[0]);
      return in[0].mul(in[0]);
    }

    @Override
    public Tensor[] backward(FunctionCtx ctx, Tensor g) {
      return new Tensor[] {g.mul(ctx.savedTensors()[0]).mul(2)};
    }
  }

  static final class Broken extends Function {
    @Override
    public Tensor forward(FunctionCtx ctx, Tensor... in) {
      return in[0].mul(2);
    }

    @Override
    public Tensor[] backward(FunctionCtx ctx, Tensor g) {
      throw new ArithmeticException("backward failed on purpose");
    }
  }

  @Test
  void aLeafUsedTwiceRunsItsHookOnceOnTheSum() {
    // PyTorch 2.13: x.register_hook(calls.append); (x*2 + x*3).backward(); (x*4).backward()
    // gives calls [5.0, 4.0] and x.grad 9.0: the hook sees each backward's whole gradient.
    Tensor x = tensor(new float[] {1f}).requiresGrad_(true);
    java.util.List<Double> calls = new java.util.ArrayList<>();
    x.registerHook(
        g -> {
          calls.add(g.item());
          return null;
        });
    x.mul(2).add(x.mul(3)).backward();
    x.mul(4).backward();
    assertEquals(java.util.List.of(5.0, 4.0), calls);
    assertEquals(9.0, x.grad().item());
  }

  @Test
  void aLeafsHookRunsAsSoonAsItsLastRowHasRun() {
    // PyTorch 2.13: hooks on a, b and h = a*2; (h.tanh()*b).backward() runs them in the order
    // b, h, a: b's gradient is complete after the product's row, before h's row runs.
    for (boolean lane : new boolean[] {true, false}) {
      ScalarLane.enabled = lane;
      try {
        Tensor a = tensor(new float[] {0.5f}).requiresGrad_(true);
        Tensor b = tensor(new float[] {2f}).requiresGrad_(true);
        java.util.List<String> order = new java.util.ArrayList<>();
        a.registerHook(
            g -> {
              order.add("a");
              return null;
            });
        b.registerHook(
            g -> {
              order.add("b");
              return null;
            });
        Tensor h = a.mul(2);
        h.registerHook(
            g -> {
              order.add("h");
              return null;
            });
        h.tanh().mul(b).backward();
        assertEquals(java.util.List.of("b", "h", "a"), order, "lane " + lane);
      } finally {
        ScalarLane.enabled = true;
      }
    }
  }

  @Test
  void aWeightUsedAtEveryStepIsSummedInOneBuffer() {
    // w is used by 50 products; their 50 gradients are summed in one buffer (the first sum is a
    // new tensor, the engine's alone, and the rest are added into it), as PyTorch's input buffer
    // does. The backward makes the seed, one gradient per product and that sum: 52 storages.
    Tensor w = randn(1000).requiresGrad_(true);
    Tensor[] xs = new Tensor[50];
    for (int i = 0; i < xs.length; i++) xs[i] = randn(1000);
    try (var step = Scope.open()) {
      Tensor loss = xs[0].mul(w);
      for (int i = 1; i < xs.length; i++) loss = loss.add(xs[i].mul(w));
      loss = loss.sum();
      long before = dev.panagrad.memory.MemoryStats.liveCount();
      loss.backward();
      long made = dev.panagrad.memory.MemoryStats.liveCount() - before;
      assertTrue(made <= 52, "storages the backward made: " + made); // 100 with a sum per use
      Tensor expected = xs[0];
      for (int i = 1; i < xs.length; i++) expected = expected.add(xs[i]);
      // d(sum x_i w)/dw = sum x_i, summed here in another order
      assertArrayEquals(expected.toFloatArray(), w.grad().toFloatArray(), 1e-4f);
    }
  }

  @Test
  void aLeafsGradientsAreSummedBeforeTheyReachItsGrad() {
    // PyTorch 2.13: x.grad = [1.]; c = 2**-24; (x*c + x*c).backward() gives 1 + 2**-23, which is
    // 1 + (c + c); adding each c to .grad in turn would round back to 1 twice.
    double c = Math.scalb(1.0, -24);
    for (Tensor x :
        new Tensor[] {tensor(new float[] {1f}), tensor(new float[] {1f, 1f}).reshape(1, 2)}) {
      x.requiresGrad_(true);
      x.setGrad(onesLike(x));
      x.mul(c).add(x.mul(c)).sum().backward();
      assertEquals(1 + Math.scalb(1.0, -23), x.grad().reshape(-1).get(0), 0); // [1]: the lane
    }
  }

  @Test
  void customFunction() {
    Tensor x = tensor(1f, 2f, 3f).requiresGrad_(true);
    Tensor y = new Square().apply(x);
    assertEquals("SquareBackward", y.gradFn().name());
    assertArrayEquals(new float[] {1, 4, 9}, y.toFloatArray());
    y.sum().backward();
    assertArrayEquals(new float[] {2, 4, 6}, x.grad().toFloatArray()); // 2x
  }

  @Test
  void anExceptionInBackwardReachesTheCallerAndTheNextStepRuns() {
    Tensor w = tensor(1f, 2f).requiresGrad_(true);
    try (var step = Scope.open()) {
      Tensor loss = new Broken().apply(w.mul(3)).sum();
      assertThrows(ArithmeticException.class, loss::backward);
    }
    try (var step = Scope.open()) {
      w.mul(3).sum().backward(); // d(3w)/dw = 3, nothing left over from the failed step
    }
    assertArrayEquals(new float[] {3, 3}, w.grad().toFloatArray());
  }

  @Test
  void anomalyModeNamesTheOpThatMadeANaN() {
    Autograd.setDetectAnomaly(true);
    try {
      Tensor x = tensor(0f).requiresGrad_(true);
      Tensor y = x.div(x).sum(); // 0/0; DivBackward0's second output is -g x / x^2 = NaN
      IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
      assertTrue(
          e.getMessage().contains("Function 'DivBackward0' returned nan values in its"),
          e.getMessage());
      assertTrue(e.getMessage().contains("AutogradSemanticsTest.java"), e.getMessage());
    } finally {
      Autograd.setDetectAnomaly(false);
    }
  }

  @Test
  void gradLeavesDotGradAlone() {
    Tensor x = tensor(1f, 2f).requiresGrad_(true);
    Tensor y = x.mul(x).sum();
    Tensor[] g = Autograd.grad(y, x);
    assertArrayEquals(new float[] {2, 4}, g[0].toFloatArray());
    assertNull(x.grad());
  }

  @Test
  void hooksSeeAndReplaceGradients() {
    Tensor x = tensor(1f, 2f).requiresGrad_(true);
    x.registerHook(g -> g.mul(10)); // leaf hook: scales what accumulates
    Tensor h = x.mul(2);
    float[][] seen = new float[1][];
    h.registerHook(
        g -> {
          seen[0] = g.toFloatArray();
          return null; // observe only
        });
    h.sum().backward();
    assertArrayEquals(new float[] {1, 1}, seen[0]);
    assertArrayEquals(new float[] {20, 20}, x.grad().toFloatArray());
  }

  @Test
  void gradModes() {
    Tensor x = ones(2).requiresGrad_(true);
    try (var ng = noGrad()) {
      assertFalse(x.mul(2).requiresGrad());
      try (var eg = enableGrad()) {
        assertTrue(x.mul(2).requiresGrad());
      }
      assertFalse(isGradEnabled() && x.mul(2).requiresGrad());
    }
    assertTrue(x.mul(2).requiresGrad());
  }

  @Test
  void detachSharesStorage() {
    Tensor x = ones(3).requiresGrad_(true);
    Tensor d = x.detach();
    assertFalse(d.requiresGrad());
    d.set(5, 1);
    assertEquals(5, x.get(1));
    x.setGrad(ones(3));
    x.setGrad(null);
    assertNull(x.grad());
  }

  @Test
  void emptyTensorsBroadcastSumAndBackward() {
    Tensor a = zeros(4, 0).requiresGrad_(true);
    Tensor b = zeros(4, 1).requiresGrad_(true);
    Tensor s = a.add(b).sum();
    assertEquals(0, s.item());
    s.backward();
    assertArrayEquals(new long[] {4, 0}, a.grad().shape());
    assertArrayEquals(new float[] {0, 0, 0, 0}, b.grad().toFloatArray());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> zeros(0).max());
    assertTrue(e.getMessage().contains("Expected reduction dim to be specified"), e.getMessage());
  }

  @Test
  void aGraphDiesWithItsScope() {
    Tensor x = ones(2).requiresGrad_(true);
    Tensor kept;
    try (var s = Scope.open("step")) {
      kept = s.keep(x.mul(x).sum());
    }
    assertEquals(2, kept.item()); // the value survives
    IllegalStateException e = assertThrows(IllegalStateException.class, kept::backward);
    assertTrue(e.getMessage().contains("released"), e.getMessage());
  }

  @Test
  void historyBelongsToItsThread() throws Exception {
    Tensor x = ones(2).requiresGrad_(true);
    Tensor y = x.mul(2);
    CompletableFuture<Void> other = CompletableFuture.runAsync(() -> y.mul(3).sum().backward());
    ExecutionException e = assertThrows(ExecutionException.class, other::get);
    assertInstanceOf(IllegalStateException.class, e.getCause());
    assertTrue(e.getCause().getMessage().contains("detach()"), e.getCause().getMessage());
    // detached, the value crosses threads freely
    Tensor d = y.detach();
    assertEquals(4.0, CompletableFuture.supplyAsync(() -> d.sum().item()).get());
  }

  @Test
  void tapeRowsAreReusedStepAfterStep() {
    Tensor w = randn(4, 3).requiresGrad_(true);
    int rows = -1;
    for (int step = 0; step < 20; step++) {
      try (var s = Scope.open()) {
        randn(2, 4).mm(w).relu().sum().backward();
      }
      if (step == 1) rows = Tape.current().size();
    }
    assertEquals(rows, Tape.current().size());
  }

  // Note [Gradient stealing]: a leaf's first .grad may be the engine's own gradient buffer, never
  // one anything else can see or write.

  /** x^T 1 (the gradient of sum(x w) for w), in double, from the values. */
  private static double[] columnSums(Tensor x, int cols) {
    long[] s = x.shape();
    double[] want = new double[(int) s[1] * cols];
    double[] xv = x.toDoubleArray();
    for (int i = 0; i < s[1]; i++) {
      double sum = 0;
      for (int r = 0; r < s[0]; r++) sum += xv[r * (int) s[1] + i];
      for (int j = 0; j < cols; j++) want[i * cols + j] = sum;
    }
    return want;
  }

  @Test
  void aLeafUsedTwiceSumsIntoItsFirstGradient() {
    manualSeed(3);
    Tensor x = randn(5, 4), w = randn(4, 3).requiresGrad_(true);
    x.mm(w).add(x.mm(w)).sum().backward();
    double[] once = columnSums(x, 3);
    for (int i = 0; i < once.length; i++)
      assertEquals(2 * once[i], w.grad().toDoubleArray()[i], 1e-5);
    // through linear's transposed view, and again: the second backward adds into the first .grad
    Tensor v = randn(3, 4).requiresGrad_(true), b = randn(3).requiresGrad_(true);
    dev.panagrad.F.linear(x, v, b).sum().backward();
    dev.panagrad.F.linear(x, v, b).sum().backward();
    double[] vWant = columnSums(x, 3); // [4, 3]: the transpose of v's gradient
    double[] vGot = v.grad().toDoubleArray();
    for (int r = 0; r < 3; r++) {
      for (int c = 0; c < 4; c++) assertEquals(2 * vWant[c * 3 + r], vGot[r * 4 + c], 1e-5);
    }
    assertArrayEquals(new double[] {10, 10, 10}, b.grad().toDoubleArray(), 1e-6);
  }

  @Test
  void gradientsOneRuleSharesAreCopiedPerLeaf() {
    manualSeed(4);
    // add passes one gradient to both leaves: each .grad must be its own
    Tensor a = randn(3, 2).requiresGrad_(true), b = randn(3, 2).requiresGrad_(true);
    a.add(b).mul(3).sum().backward();
    a.grad().add_(1);
    assertArrayEquals(new double[] {3, 3, 3, 3, 3, 3}, b.grad().toDoubleArray(), 0);
    // addmm with a full-size bias hands the bias its incoming gradient itself: the bias's .grad is
    // a copy, and writing to it changes no other gradient
    Tensor x = randn(3, 4), w = randn(4, 2).requiresGrad_(true), bias = randn(3, 2);
    bias.requiresGrad_(true);
    Tensor h = dev.panagrad.ops.LinearAlgebra.addmm(bias, x, w);
    h.add(h).sum().backward();
    bias.grad().add_(100);
    double[] wGrad = w.grad().toDoubleArray(), want = columnSums(x, 2);
    for (int i = 0; i < want.length; i++) assertEquals(2 * want[i], wGrad[i], 1e-5);
    assertArrayEquals(new double[] {102, 102, 102, 102, 102, 102}, bias.grad().toDoubleArray(), 0);
  }

  @Test
  void aHookThatKeepsTheGradientGetsItsOwnCopy() {
    manualSeed(5);
    Tensor x = randn(5, 4), w = randn(4, 3).requiresGrad_(true);
    Tensor[] seen = new Tensor[1];
    w.registerHook(
        g -> {
          seen[0] = g;
          return null;
        });
    x.mm(w).sum().backward();
    double[] before = seen[0].toDoubleArray();
    w.grad().mul_(0);
    assertArrayEquals(before, seen[0].toDoubleArray(), 0);
    assertArrayEquals(columnSums(x, 3), before, 1e-5);
  }
}
