package dev.panagrad.replay;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.Tensor;
import dev.panagrad.blas.Gemm;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.Recorder;
import dev.panagrad.memory.Recorder.Elementwise;
import dev.panagrad.memory.Recorder.Operand;
import dev.panagrad.memory.Scope;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
   * A product that splits by rows takes the elementwise kernels that follow over its output, but
   * not one that writes what the product reads, nor one that reads C shifted; a product whose B is
   * large beside A (each thread would read all of it) stays whole, and so does one whose row blocks
   * would not give the whole product's bits with the loaded BLAS.
   */
  @Test
  void aProductTakesTheKernelsThatUseItsRows() {
    org.junit.jupiter.api.Assumptions.assumeTrue(Gemm.concurrentProducts(1 << 20));
    try (Arena arena = Arena.ofShared()) {
      int m = 1000, n = 100, k = 64; // W1's weight gradient: x^T (1000x64) @ g (64x100)
      MemorySegment x = arena.allocate(4L * k * m, 64), g = arena.allocate(4L * k * n, 64);
      MemorySegment c = arena.allocate(4L * m * n, 64), w = arena.allocate(4L * m * n, 64);
      Gemm.Prepared product =
          new Gemm.Prepared(true, true, false, m, n, k, 1, x, 0, m, g, 0, n, 0, c, 0, n);
      long mn = (long) m * n;
      Elementwise update =
          kernel(mn, floats(w.address()), floats(w.address()), floats(c.address()));
      // writes over g, which every row block reads
      Elementwise writesB = kernel(mn, floats(g.address()), floats(c.address()));
      Elementwise shifted = kernel(mn, floats(w.address()), floats(c.address() + 4));
      Recorder.Instruction[] fused = Fusion.fuse(new Recorder.Instruction[] {product, update});
      if (!product.rowBlocksKeepBits(16)) { // this BLAS's row blocks change bits: no split
        assertEquals(2, fused.length);
        assertSame(product, fused[0]);
        return;
      }
      assertEquals(1, fused.length);
      assertInstanceOf(SplitProduct.class, fused[0]);
      assertEquals(1, ((SplitProduct) fused[0]).kernels());
      assertEquals(16, ((SplitProduct) fused[0]).rowUnit(), "16 rows of 100 are 25 x 64 elements");
      for (Elementwise hazard : new Elementwise[] {writesB, shifted}) {
        fused = Fusion.fuse(new Recorder.Instruction[] {product, hazard});
        assertEquals(2, fused.length);
        assertSame(product, fused[0]);
        assertSame(hazard, fused[1]);
      }
      // x @ w1 (64x1000 @ 1000x100): each thread would read all 400 KB of w1, more than its x
      MemorySegment out = arena.allocate(4L * 64 * n, 64);
      Gemm.Prepared forward =
          new Gemm.Prepared(true, false, false, 64, n, 1000, 1, x, 0, 1000, w, 0, n, 0, out, 0, n);
      Elementwise relu = kernel(64L * n, floats(out.address()), floats(out.address()));
      fused = Fusion.fuse(new Recorder.Instruction[] {forward, relu});
      assertSame(forward, fused[0]);
    }
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
