package dev.panagrad.optim;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.autograd.Tape;
import dev.panagrad.memory.MemoryStats;
import dev.panagrad.memory.Scope;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * RELIABILITY 27: training loops written naturally, with a scope per step, run in constant memory:
 * from step 10 on, no slab is allocated and live bytes and tape rows stay exactly where they were.
 * The benchmarks' W1, W2 and W7.
 */
class SoakTest {
  static Tensor param(long fanIn, long... shape) {
    double bound = 1 / Math.sqrt(fanIn);
    return empty(shape).uniform_(-bound, bound).requiresGrad_(true);
  }

  /** W2: the MLP 784-512-512-10, batch 128, SGD momentum 0.9, for 10,000 steps. */
  @Test
  void mlpTenThousandStepsInConstantMemory() {
    manualSeed(0);
    Tensor x = rand(128, 784), y = randint(0, 10, 128);
    List<Tensor> p = new ArrayList<>();
    for (long[] l : new long[][] {{784, 512}, {512, 512}, {512, 10}}) {
      p.add(param(l[0], l[1], l[0]));
      p.add(param(l[0], l[1]));
    }
    var opt = new SGD(p, 0.01, 0.9, 0, 0, false);
    assertConstantMemory(
        "W2",
        10_000,
        () -> {
          opt.zeroGrad();
          Tensor h = F.linear(x, p.get(0), p.get(1)).relu();
          h = F.linear(h, p.get(2), p.get(3)).relu();
          F.crossEntropy(F.linear(h, p.get(4), p.get(5)), y).backward();
          opt.step();
        });
  }

  /** W1: the seed's two-layer net, SGD by hand, gradients zeroed in place, for 10,000 steps. */
  @Test
  void twoLayerNetTenThousandStepsInConstantMemory() {
    manualSeed(0);
    Tensor x = randn(64, 1000), y = randn(64, 10);
    Tensor w1 = randn(1000, 100).requiresGrad_(true), w2 = randn(100, 10).requiresGrad_(true);
    assertConstantMemory(
        "W1",
        10_000,
        () -> {
          x.mm(w1).clamp(0).mm(w2).sub(y).pow(2).sum().backward();
          try (var ng = noGrad()) {
            w1.sub_(w1.grad().mul(1e-6));
            w2.sub_(w2.grad().mul(1e-6));
            w1.grad().zero_();
            w2.grad().zero_();
          }
        });
  }

  /**
   * W7's layers (conv2d, relu, max_pool2d twice, flatten, linear, cross-entropy, SGD) on a batch of
   * 8 instead of 64, so that 10,000 steps stay quick: the pool serves the same sizes every step
   * whatever the batch.
   */
  @Test
  void smallCnnTenThousandStepsInConstantMemory() {
    manualSeed(0);
    Tensor x = rand(8, 1, 28, 28), y = randint(0, 10, 8);
    List<Tensor> p =
        List.of(
            param(9, 32, 1, 3, 3),
            param(9, 32),
            param(32 * 9, 64, 32, 3, 3),
            param(32 * 9, 64),
            param(64 * 25, 10, 64 * 25),
            param(64 * 25, 10));
    var opt = new SGD(p, 0.01);
    assertConstantMemory(
        "W7",
        10_000,
        () -> {
          Tensor h = F.maxPool2d(F.conv2d(x, p.get(0), p.get(1)).relu(), 2);
          h = F.maxPool2d(F.conv2d(h, p.get(2), p.get(3)).relu(), 2);
          F.crossEntropy(F.linear(h.flatten(1), p.get(4), p.get(5)), y).backward();
          opt.step();
          opt.zeroGrad();
        });
  }

  /** Runs {@code step} {@code steps} times, each in a scope, checking memory from step 10 on. */
  private static void assertConstantMemory(String what, int steps, Runnable step) {
    long slabs = 0, live = 0;
    int rows = 0;
    for (int i = 0; i < steps; i++) {
      if (i == 10) {
        slabs = MemoryStats.slabCount();
        live = MemoryStats.liveBytes();
        rows = Tape.current().size();
      }
      try (var s = Scope.open()) {
        step.run();
      }
      if (i >= 10 && i % 1000 == 0) {
        assertEquals(slabs, MemoryStats.slabCount(), what + ": slabs at step " + i);
        assertEquals(live, MemoryStats.liveBytes(), what + ": live bytes at step " + i);
      }
    }
    assertEquals(slabs, MemoryStats.slabCount(), what + ": no slab allocated from step 10 on");
    assertEquals(live, MemoryStats.liveBytes(), what + ": live bytes flat from step 10 on");
    assertEquals(rows, Tape.current().size(), what + ": tape rows flat");
  }
}
