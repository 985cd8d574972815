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
 * RELIABILITY 27: 10,000 steps of the W2 MLP (784-512-512-10, batch 128, SGD momentum 0.9) with a
 * scope per step: from step 10 on, no slab is allocated and live bytes and tape rows stay exactly
 * where they were.
 */
class SoakTest {
  static Tensor param(long fanIn, long... shape) {
    double bound = 1 / Math.sqrt(fanIn);
    return empty(shape).uniform_(-bound, bound).requiresGrad_(true);
  }

  @Test
  void tenThousandStepsInConstantMemory() {
    manualSeed(0);
    Tensor x = rand(128, 784), y = randint(0, 10, 128);
    List<Tensor> p = new ArrayList<>();
    for (long[] l : new long[][] {{784, 512}, {512, 512}, {512, 10}}) {
      p.add(param(l[0], l[1], l[0]));
      p.add(param(l[0], l[1]));
    }
    var opt = new SGD(p, 0.01, 0.9, 0, 0, false);
    long slabs = 0, live = 0;
    int rows = 0;
    for (int step = 0; step < 10_000; step++) {
      if (step == 10) {
        slabs = MemoryStats.slabCount();
        live = MemoryStats.liveBytes();
        rows = Tape.current().size();
      }
      try (var s = Scope.open()) {
        opt.zeroGrad();
        Tensor h = F.linear(x, p.get(0), p.get(1)).relu();
        h = F.linear(h, p.get(2), p.get(3)).relu();
        F.crossEntropy(F.linear(h, p.get(4), p.get(5)), y).backward();
        opt.step();
      }
      if (step >= 10 && step % 1000 == 0) {
        assertEquals(slabs, MemoryStats.slabCount(), "slabs at step " + step);
        assertEquals(live, MemoryStats.liveBytes(), "live bytes at step " + step);
      }
    }
    assertEquals(slabs, MemoryStats.slabCount(), "no slab allocated from step 10 to 10,000");
    assertEquals(live, MemoryStats.liveBytes(), "live bytes flat from step 10 to 10,000");
    assertEquals(rows, Tape.current().size(), "tape rows flat");
  }
}
