package dev.panagrad.optim;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.memory.Scope;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * RELIABILITY 36: the same seed and thread count give bitwise-identical parameters after 100 steps
 * of W2 and of W7; 1 and 2 threads agree within float32 tolerance.
 */
class DeterminismTest {
  static Tensor param(long fanIn, long... shape) {
    double bound = 1 / Math.sqrt(fanIn);
    return empty(shape).uniform_(-bound, bound).requiresGrad_(true);
  }

  static float[] flat(List<Tensor> ps) {
    int n = 0;
    for (Tensor p : ps) n += (int) p.numel();
    float[] out = new float[n];
    int at = 0;
    for (Tensor p : ps) {
      float[] v = p.toFloatArray();
      System.arraycopy(v, 0, out, at, v.length);
      at += v.length;
    }
    return out;
  }

  /** W2: MLP 784-512-512-10, batch 128, ReLU, cross-entropy, SGD momentum 0.9. */
  static float[] w2(int steps) {
    manualSeed(0);
    Tensor x = rand(128, 784), y = randint(0, 10, 128);
    List<Tensor> p = new ArrayList<>();
    for (long[] l : new long[][] {{784, 512}, {512, 512}, {512, 10}}) {
      p.add(param(l[0], l[1], l[0]));
      p.add(param(l[0], l[1]));
    }
    var opt = new SGD(p, 0.01, 0.9, 0, 0, false);
    for (int step = 0; step < steps; step++) {
      try (var s = Scope.open()) {
        opt.zeroGrad();
        Tensor h = F.linear(x, p.get(0), p.get(1)).relu();
        h = F.linear(h, p.get(2), p.get(3)).relu();
        F.crossEntropy(F.linear(h, p.get(4), p.get(5)), y).backward();
        opt.step();
      }
    }
    return flat(p);
  }

  /** W7: conv(1->32)-relu-maxpool-conv(32->64)-relu-maxpool-linear(->10), batch 64, 28x28. */
  static float[] w7(int steps) {
    manualSeed(0);
    Tensor x = rand(64, 1, 28, 28), y = randint(0, 10, 64);
    List<Tensor> p = new ArrayList<>();
    p.add(param(9, 32, 1, 3, 3));
    p.add(param(9, 32));
    p.add(param(32 * 9, 64, 32, 3, 3));
    p.add(param(32 * 9, 64));
    p.add(param(1600, 10, 1600));
    p.add(param(1600, 10));
    var opt = new SGD(p, 0.01);
    for (int step = 0; step < steps; step++) {
      try (var s = Scope.open()) {
        opt.zeroGrad();
        Tensor h = F.maxPool2d(F.conv2d(x, p.get(0), p.get(1)).relu(), 2, 2);
        h = F.maxPool2d(F.conv2d(h, p.get(2), p.get(3)).relu(), 2, 2);
        F.crossEntropy(F.linear(h.flatten(1), p.get(4), p.get(5)), y).backward();
        opt.step();
      }
    }
    return flat(p);
  }

  /**
   * 100 steps twice at 2 threads: the same bits. 1 vs 2 threads sum in another order, and 100 steps
   * of SGD amplify a last-bit difference past any fixed tolerance, so that comparison is over 3
   * steps, where float32 rounding is all that separates them.
   */
  static void check(java.util.function.IntFunction<float[]> run) {
    int before = getNumThreads();
    try {
      setNumThreads(2);
      assertArrayEquals(run.apply(100), run.apply(100), "same seed, same threads: the same bits");
      float[] two = run.apply(3);
      setNumThreads(1);
      float[] one = run.apply(3);
      for (int i = 0; i < two.length; i++) {
        assertEquals(two[i], one[i], 1e-6 + 1e-4 * Math.abs(two[i]), "1 vs 2 threads at " + i);
      }
    } finally {
      setNumThreads(before);
    }
  }

  @Test
  void w2IsBitwiseRepeatable() {
    check(DeterminismTest::w2);
  }

  @Test
  void w7IsBitwiseRepeatable() {
    check(DeterminismTest::w7);
  }
}
