package dev.panagrad.replay;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.DType;
import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.memory.MemoryStats;
import dev.panagrad.memory.Scope;
import dev.panagrad.nn.Dropout;
import dev.panagrad.optim.Adam;
import dev.panagrad.optim.AdamW;
import dev.panagrad.optim.Optimizer;
import dev.panagrad.optim.RMSprop;
import dev.panagrad.optim.SGD;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Captured steps against the eager loop they come from: the oracle is the eager loop itself (same
 * seed, same batch), which must match bit for bit, step by step.
 */
class TrainStepTest {
  /** The benchmark's W2: MLP 784-512-512-10, batch 128, ReLU, cross-entropy, SGD momentum. */
  static final class Mlp {
    final Tensor x, target;
    final List<Tensor> params = new ArrayList<>();
    final Optimizer opt;

    Mlp() {
      this(ps -> new SGD(ps, 0.01, 0.9, 0, 0, false));
    }

    Mlp(Function<List<Tensor>, Optimizer> optimizer) {
      this(optimizer, 128, 784, 512);
    }

    /** in-hidden-hidden-10 on a batch of {@code batch}. */
    Mlp(Function<List<Tensor>, Optimizer> optimizer, int batch, int in, int hidden) {
      manualSeed(0);
      x = rand(batch, in);
      target = randint(0, 10, batch);
      long[][] layers = {{in, hidden}, {hidden, hidden}, {hidden, 10}};
      for (long[] l : layers) {
        double bound = 1 / Math.sqrt(l[0]);
        params.add(empty(l[1], l[0]).uniform_(-bound, bound).requiresGrad_(true));
        params.add(empty(l[1]).uniform_(-bound, bound).requiresGrad_(true));
      }
      opt = optimizer.apply(params);
    }

    Tensor step(Tensor... in) {
      Tensor h = F.linear(in[0], params.get(0), params.get(1)).relu();
      h = F.linear(h, params.get(2), params.get(3)).relu();
      Tensor loss = F.crossEntropy(F.linear(h, params.get(4), params.get(5)), in[1]);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss;
    }

    double eagerStep() {
      try (var s = Scope.open()) {
        return step(x, target).item();
      }
    }
  }

  /** The seed's net (W1): SGD by hand under noGrad, gradients kept and zeroed in place. */
  static final class TwoLayer {
    final Tensor x, y, w1, w2;

    TwoLayer() {
      manualSeed(0);
      x = randn(64, 1000);
      y = randn(64, 10);
      w1 = randn(1000, 100).requiresGrad_(true);
      w2 = randn(100, 10).requiresGrad_(true);
    }

    Tensor step(Tensor... in) {
      Tensor loss = in[0].mm(w1).clamp(0).mm(w2).sub(in[1]).pow(2).sum();
      loss.backward();
      try (var ng = noGrad()) {
        w1.sub_(w1.grad().mul(1e-6));
        w2.sub_(w2.grad().mul(1e-6));
        w1.grad().zero_();
        w2.grad().zero_();
      }
      return loss;
    }
  }

  @Test
  void replayMatchesTheEagerLoopBitForBitOver100Steps() {
    replayMatchesTheEagerLoop(ps -> new SGD(ps, 0.01, 0.9, 0, 0, false));
  }

  /**
   * Adam's bias correction changes every step: the captured update advances the optimizer's step
   * count and corrects from it, so 100 replayed steps are the eager loop's, loss for loss.
   */
  @Test
  void adamReplaysTheEagerLoopBitForBit() {
    replayMatchesTheEagerLoop(ps -> new Adam(ps, 1e-3));
    replayMatchesTheEagerLoop(ps -> new AdamW(ps, 1e-3, 0.9, 0.999, 1e-8, 1e-2, true));
  }

  @Test
  void rmspropReplaysTheEagerLoopBitForBit() {
    replayMatchesTheEagerLoop(ps -> new RMSprop(ps, 1e-3));
    replayMatchesTheEagerLoop(ps -> new RMSprop(ps, 1e-3, 0.99, 1e-8, 1e-4, 0.9, true));
  }

  /** W2 with {@code optimizer}: 100 steps eager against capture-then-replay, bit for bit. */
  static void replayMatchesTheEagerLoop(Function<List<Tensor>, Optimizer> optimizer) {
    int steps = 100;
    Mlp eager = new Mlp(optimizer);
    double[] expected = new double[steps];
    for (int i = 0; i < steps; i++) expected[i] = eager.eagerStep();

    Mlp replayed = new Mlp(optimizer);
    double[] got = new double[steps];
    try (TrainStep step = TrainStep.capture(replayed::step, replayed.x, replayed.target)) {
      double[] first = step.captureLosses();
      System.arraycopy(first, 0, got, 0, first.length);
      for (int i = first.length; i < steps; i++) got[i] = step.run(replayed.x, replayed.target);
    }
    for (int i = 0; i < steps; i++) {
      assertEquals(
          Double.doubleToRawLongBits(expected[i]), Double.doubleToRawLongBits(got[i]), "step " + i);
    }
    for (int p = 0; p < eager.params.size(); p++) {
      assertArrayEquals(
          eager.params.get(p).toFloatArray(), replayed.params.get(p).toFloatArray(), "param " + p);
      assertNull(replayed.params.get(p).grad(), "zeroGrad leaves no gradient, as eager does");
    }
    if (replayed.opt instanceof Adam adam) {
      assertEquals(steps, adam.stepCount(0), "every replayed step counts");
    }
  }

  /**
   * Whether the loaded BLAS gives W1's weight gradient, x^T g (1000x100, over the batch of 64), the
   * whole product's bits in row blocks: only then may the step split it (SplitProduct.splits).
   */
  private static boolean weightGradientBlocksKeepBits() {
    if (!dev.panagrad.blas.Gemm.concurrentProducts(1 << 20)) return false;
    try (var arena = java.lang.foreign.Arena.ofConfined()) {
      var x = arena.allocate(4L * 64 * 1000, 64);
      var g = arena.allocate(4L * 64 * 100, 64);
      var c = arena.allocate(4L * 1000 * 100, 64);
      return new dev.panagrad.blas.Gemm.Prepared(
              true, true, false, 1000, 100, 64, 1, x, 0, 1000, g, 0, 100, 0, c, 0, 100)
          .rowBlocksKeepBits(16);
    }
  }

  @Test
  void theTwoLayerNetReplaysBitForBit() {
    int steps = 20;
    TwoLayer eager = new TwoLayer();
    double[] expected = new double[steps];
    for (int i = 0; i < steps; i++) {
      try (var s = Scope.open()) {
        expected[i] = eager.step(eager.x, eager.y).item();
      }
    }
    TwoLayer replayed = new TwoLayer();
    double[] got = new double[steps];
    try (TrainStep step = TrainStep.capture(replayed::step, replayed.x, replayed.y)) {
      if (weightGradientBlocksKeepBits()) {
        assertTrue(
            java.util.Arrays.stream(step.program()).anyMatch(i -> i instanceof SplitProduct),
            "the weight gradient and its update run as a split product");
      }
      double[] first = step.captureLosses();
      System.arraycopy(first, 0, got, 0, first.length);
      for (int i = first.length; i < steps; i++) got[i] = step.run(replayed.x, replayed.y);
    }
    assertArrayEquals(expected, got);
    assertArrayEquals(eager.w1.toFloatArray(), replayed.w1.toFloatArray());
    assertArrayEquals(eager.w2.toFloatArray(), replayed.w2.toFloatArray());
  }

  @Test
  void aSmallCnnReplaysBitForBit() {
    // W7's layers on a batch of 8: conv2d, relu, max_pool2d twice, flatten, linear, cross-entropy.
    int steps = 6;
    double[] expected = new double[steps], got = new double[steps];
    float[][] eagerParams = null;
    for (boolean replay : new boolean[] {false, true}) {
      manualSeed(0);
      Tensor x = rand(8, 1, 28, 28), target = randint(0, 10, 8);
      List<Tensor> ps = cnnParams();
      TrainStep.Body body = cnnStep(ps);
      if (!replay) {
        for (int i = 0; i < steps; i++) {
          try (var s = Scope.open()) {
            expected[i] = body.step(x, target).item();
          }
        }
        eagerParams = ps.stream().map(Tensor::toFloatArray).toArray(float[][]::new);
      } else {
        try (TrainStep step = TrainStep.capture(body, x, target)) {
          double[] first = step.captureLosses();
          System.arraycopy(first, 0, got, 0, first.length);
          for (int i = first.length; i < steps; i++) got[i] = step.run(x, target);
        }
        for (int p = 0; p < ps.size(); p++) {
          assertArrayEquals(eagerParams[p], ps.get(p).toFloatArray(), "param " + p);
        }
      }
    }
    assertArrayEquals(expected, got);
  }

  /** W7's parameters: conv(1->32, 3x3), conv(32->64, 3x3), linear(64*5*5 -> 10). */
  static List<Tensor> cnnParams() {
    return List.of(
        uniformParam(9, 32, 1, 3, 3),
        uniformParam(9, 32),
        uniformParam(32 * 9, 64, 32, 3, 3),
        uniformParam(32 * 9, 64),
        uniformParam(64 * 25, 10, 64 * 25),
        uniformParam(64 * 25, 10));
  }

  /** W7's step: conv2d, relu, max_pool2d twice, flatten, linear, cross-entropy, SGD. */
  static TrainStep.Body cnnStep(List<Tensor> ps) {
    SGD opt = new SGD(ps, 0.01);
    return in -> {
      Tensor h = F.maxPool2d(F.conv2d(in[0], ps.get(0), ps.get(1)).relu(), 2, 2);
      h = F.maxPool2d(F.conv2d(h, ps.get(2), ps.get(3)).relu(), 2, 2);
      Tensor loss = F.crossEntropy(F.linear(h.flatten(1), ps.get(4), ps.get(5)), in[1]);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss;
    };
  }

  static Tensor uniformParam(long fanIn, long... shape) {
    double bound = 1 / Math.sqrt(fanIn);
    return empty(shape).uniform_(-bound, bound).requiresGrad_(true);
  }

  @Test
  void aChangedInputShapeOrDtypeIsRefused() {
    Mlp m = new Mlp();
    try (TrainStep step = TrainStep.capture(m::step, m.x, m.target)) {
      var e = assertThrows(IllegalArgumentException.class, () -> step.run(rand(64, 784), m.target));
      assertTrue(e.getMessage().contains("[128, 784]"), e.getMessage());
      assertTrue(e.getMessage().contains("[64, 784]"), e.getMessage());
      e =
          assertThrows(
              IllegalArgumentException.class,
              () -> step.run(rand(DType.FLOAT64, 128, 784), m.target));
      assertTrue(
          e.getMessage().contains("FLOAT64") || e.getMessage().contains("float64"), e.getMessage());
    }
  }

  @Test
  void aRandomOpIsRefusedNamingIt() {
    Tensor w = randn(8, 4).requiresGrad_(true);
    Tensor x = randn(2, 8);
    var e =
        assertThrows(
            IllegalStateException.class,
            () ->
                TrainStep.capture(
                    in -> {
                      Tensor loss = new Dropout(0.5).forward(in[0].mm(w)).sum();
                      loss.backward();
                      w.setGrad(null);
                      return loss;
                    },
                    x));
    assertTrue(e.getMessage().contains("random ops are not capturable"), e.getMessage());
  }

  @Test
  void aStepThatIsNotStaticIsRefused() {
    Tensor w = randn(300, 300).requiresGrad_(true);
    Tensor x = randn(300, 300);
    int[] calls = {0};
    var e =
        assertThrows(
            IllegalStateException.class,
            () ->
                TrainStep.capture(
                    in -> {
                      // Control flow that changes between steps: an extra op every other call.
                      Tensor h = in[0].mm(w);
                      if (calls[0]++ % 2 == 1) h = h.relu();
                      Tensor loss = h.sum();
                      loss.backward();
                      w.setGrad(null);
                      return loss;
                    },
                    x));
    assertTrue(e.getMessage().contains("the step is not static"), e.getMessage());
  }

  @Test
  void aTensorFromTheCapturedStepIsStale() {
    Mlp m = new Mlp();
    Tensor[] made = new Tensor[1];
    try (TrainStep step =
        TrainStep.capture(
            in -> {
              Tensor loss = m.step(in);
              made[0] = loss;
              return loss;
            },
            m.x,
            m.target)) {
      step.run(m.x, m.target);
      assertThrows(IllegalStateException.class, () -> made[0].item());
      assertThrows(IllegalStateException.class, () -> made[0].add(1));
    }
  }

  @Test
  void closingReturnsTheMemory() {
    Mlp m = new Mlp();
    m.eagerStep(); // the momentum buffers exist before the step is captured
    long live = MemoryStats.liveBytes();
    TrainStep step = TrainStep.capture(m::step, m.x, m.target);
    assertTrue(MemoryStats.liveBytes() > live, "the input copies are live");
    step.close();
    assertEquals(live, MemoryStats.liveBytes());
    assertThrows(IllegalStateException.class, () -> step.run(m.x, m.target));
  }
}
