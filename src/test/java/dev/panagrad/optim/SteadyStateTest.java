package dev.panagrad.optim;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.memory.MemoryStats;
import dev.panagrad.memory.Scope;
import dev.panagrad.nn.Linear;
import dev.panagrad.nn.ReLU;
import dev.panagrad.nn.Sequential;
import org.junit.jupiter.api.Test;

/** A natural training loop stops allocating native memory after its first steps. */
class SteadyStateTest {
  @Test
  void slabsAndLiveBytesAreFlatAfterWarmUp() {
    manualSeed(0);
    var model = new Sequential(new Linear(20, 32), new ReLU(), new Linear(32, 4));
    var opt = new SGD(model.parameters(), 0.05, 0.9, 0, 0, false);
    Tensor x = randn(16, 20), y = randint(0, 4, 16);
    long slabs = 0, live = 0;
    for (int step = 0; step < 60; step++) {
      if (step == 10) {
        slabs = MemoryStats.slabCount();
        live = MemoryStats.liveBytes();
      }
      try (var s = Scope.open()) {
        opt.zeroGrad(); // set to none: the old gradients go back to the pool at once
        F.crossEntropy(model.forward(x), y).backward();
        opt.step();
      }
    }
    assertEquals(slabs, MemoryStats.slabCount(), "no slab allocated after step 10");
    assertEquals(live, MemoryStats.liveBytes(), "live bytes flat after step 10");
  }

  @Test
  void aGradientReleasedByZeroGradFailsLoudly() {
    Tensor w = ones(3).requiresGrad_(true);
    w.mul(2).sum().backward();
    Tensor kept = w.grad();
    Optimizer.zeroGrads(java.util.List.of(w), true);
    assertNull(w.grad());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> kept.get(0));
    assertTrue(e.getMessage().contains("zeroGrad() released this gradient"), e.getMessage());
  }
}
