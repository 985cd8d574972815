package dev.panagrad.replay;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.Tensor;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.Recorder;
import dev.panagrad.memory.Recorder.Elementwise;
import dev.panagrad.memory.Recorder.Operand;
import dev.panagrad.memory.Scope;
import org.junit.jupiter.api.Test;

/**
 * Replay's elementwise chains: which instructions may run block by block, and that a fused program
 * gives the eager loop's bits.
 */
class FusionTest {
  private static final Recorder.Span NOTHING = (from, to) -> {};

  /** An elementwise instruction of {@code n} floats writing {@code out} from {@code in}. */
  private static Elementwise kernel(long n, Operand out, Operand... in) {
    return new Elementwise(n, NOTHING, () -> {}, out, in);
  }

  private static Operand floats(long address) {
    return new Operand(address, 4, 4);
  }

  private static Operand scalar(long address) {
    return new Operand(address, 4, 0);
  }

  @Test
  void chainsFormOnlyWhereBlockOrderCannotMatter() {
    long n = 1000, a = 1 << 20, b = 2 << 20, c = 3 << 20;
    // tmp = a * 2, then out = b - tmp: the second reads what the first wrote, element for element.
    assertTrue(kernel(n, floats(c), floats(a)).commutesBlockwise(kernel(n, floats(b), floats(c))));
    // In place on the same elements (w -= g), after a kernel that only reads w.
    assertTrue(kernel(n, floats(c), floats(a)).commutesBlockwise(kernel(n, floats(a), floats(a))));
    // Disjoint memory.
    assertTrue(kernel(n, floats(a), floats(b)).commutesBlockwise(kernel(n, floats(c), floats(c))));
    // A scalar broadcast along the run that nobody writes.
    assertTrue(kernel(n, floats(a), scalar(b)).commutesBlockwise(kernel(n, floats(c), scalar(b))));

    // Reading the first's output shifted by one element: element i needs element i+1.
    assertFalse(
        kernel(n, floats(c), floats(a)).commutesBlockwise(kernel(n, floats(b), floats(c + 4))));
    // Writing memory the first read shifted: the first would see some new values.
    assertFalse(
        kernel(n, floats(c), floats(a)).commutesBlockwise(kernel(n, floats(a + 4), floats(b))));
    // Broadcasting a scalar the other writes.
    assertFalse(kernel(n, floats(c), scalar(a)).commutesBlockwise(kernel(n, floats(a), floats(b))));
    assertFalse(
        kernel(n, floats(a), floats(b)).commutesBlockwise(kernel(n, floats(c), scalar(a + 8))));
    // The same bytes read as another element size.
    assertFalse(
        kernel(n, floats(c), floats(a))
            .commutesBlockwise(kernel(n, floats(b), new Operand(c, 8, 8))));
    // Different lengths never chain.
    assertFalse(kernel(n, floats(a), floats(b)).commutesBlockwise(kernel(n + 1, floats(c))));
  }

  @Test
  void fuseKeepsOrderAndReplacesOnlyChains() {
    long n = 1000, a = 1 << 20, b = 2 << 20, c = 3 << 20;
    Recorder.Instruction other = () -> {};
    Recorder.Instruction[] program = {
      kernel(n, floats(c), floats(a)),
      kernel(n, floats(b), floats(c)),
      other,
      kernel(n, floats(c), floats(a)),
      kernel(n, floats(b), floats(c + 4)) // a hazard: stays apart
    };
    Recorder.Instruction[] fused = Fusion.fuse(program);
    assertEquals(4, fused.length);
    assertInstanceOf(Fusion.Chain.class, fused[0]);
    assertEquals(2, ((Fusion.Chain) fused[0]).size());
    assertSame(other, fused[1]);
    assertSame(program[3], fused[2]);
    assertSame(program[4], fused[3]);
  }

  /**
   * A step of long elementwise chains (several blocks, several intra-op chunks, SIMD tails, exp and
   * tanh) replays with the eager loop's bits, and runs fewer instructions than it recorded.
   */
  @Test
  void aFusedStepGivesTheEagerBits() {
    int steps = 5;
    long n = Parallel.MIN_ELEMENTS + 3 * Fusion.BLOCK + 37; // split over threads, then blocks
    double[] expected = new double[steps], got = new double[steps];
    Tensor eagerW = chainParam(n);
    Tensor x = randn(n);
    for (int i = 0; i < steps; i++) {
      try (var s = Scope.open()) {
        expected[i] = chainStep(eagerW, x).item();
      }
    }
    Tensor w = chainParam(n);
    try (TrainStep step = TrainStep.capture(in -> chainStep(w, in[0]), x)) {
      double[] first = step.captureLosses();
      System.arraycopy(first, 0, got, 0, first.length);
      for (int i = first.length; i < steps; i++) got[i] = step.run(x);
      assertTrue(
          step.instructionCount() < step.instructionSignatures().size(),
          "fused "
              + step.instructionSignatures().size()
              + " recorded instructions into "
              + step.instructionCount());
    }
    for (int i = 0; i < steps; i++) {
      assertEquals(
          Double.doubleToRawLongBits(expected[i]), Double.doubleToRawLongBits(got[i]), "step " + i);
    }
    assertArrayEquals(eagerW.toFloatArray(), w.toFloatArray());
  }

  private static Tensor chainParam(long n) {
    manualSeed(1);
    return randn(n).mul(0.1).requiresGrad_(true);
  }

  private static Tensor chainStep(Tensor w, Tensor x) {
    Tensor loss = x.mul(w).add(0.5).tanh().mul(x).exp().sub(w).pow(2).sum();
    loss.backward();
    try (var ng = noGrad()) {
      w.sub_(w.grad().mul(1e-3));
      w.grad().zero_();
    }
    return loss;
  }
}
