package dev.panagrad.autograd;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.DType;
import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.memory.Scope;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Note [Leaf sums at the end] (in Engine): a backward that nothing can watch hands every leaf its
 * sum when the sweep ends, instead of as soon as the sum is complete. The .grad must not change:
 * each graph's backward is run both ways (counted: as with a hook somewhere) and compared bit for
 * bit.
 */
class LeafSumsAtTheEndTest {
  private boolean leafHooksBefore, userCodeRowsBefore;

  @BeforeEach
  void noHooksSeenYet() {
    // Other tests' hooks (on this thread's tape, or any leaf) would make every backward counted.
    leafHooksBefore = Tape.leafHooksForTests(false);
    userCodeRowsBefore = Tape.current().userCodeRows;
    Tape.current().userCodeRows = false;
  }

  @AfterEach
  void restore() {
    Tape.leafHooksForTests(leafHooksBefore);
    Tape.current().userCodeRows = userCodeRowsBefore;
  }

  /** The leaves' .grad bits after {@code graph}'s backward, counted or at the end. */
  private static List<String> grads(
      boolean counted, long seed, int leaves, Function<Tensor[], Tensor[]> graph) {
    Tape.current().userCodeRows = counted; // as if a hook had been registered
    assertEquals(counted, Tape.current().backwardMayRunUserCode());
    manualSeed(seed);
    try (var s = Scope.open()) {
      Tensor[] x = new Tensor[leaves];
      for (int i = 0; i < leaves; i++) x[i] = randn(3, 4).requiresGrad_(true);
      Tensor[] roots = graph.apply(x);
      for (Tensor r : roots) r.backward(null, true); // retained: run twice, sums accumulate
      roots[0].backward();
      List<String> out = new ArrayList<>();
      for (Tensor leaf : x) {
        Tensor g = leaf.grad();
        StringBuilder b = new StringBuilder(g == null ? "none" : "");
        if (g != null) {
          Tensor flat = g.reshape(-1);
          for (long i = 0; i < flat.numel(); i++) {
            b.append(Integer.toHexString(Float.floatToRawIntBits((float) flat.get(i)))).append(' ');
          }
        }
        out.add(b.toString());
      }
      return out;
    }
  }

  private static void sameBothWays(long seed, int leaves, Function<Tensor[], Tensor[]> graph) {
    List<String> counted = grads(true, seed, leaves, graph);
    List<String> atTheEnd = grads(false, seed, leaves, graph);
    assertEquals(counted, atTheEnd);
    assertTrue(counted.stream().anyMatch(g -> !g.equals("none")));
  }

  @Test
  void everyLeafGetsTheSameGradEitherWay() {
    // a two-layer net (mm, clamp, pow, sum), shared weights, a leaf used by many rows
    sameBothWays(
        1,
        3,
        x -> {
          Tensor h = x[0].t().mm(x[1]).clamp(0).mm(x[2].t());
          return new Tensor[] {h.sub(x[0].sum()).pow(2).sum()};
        });
    sameBothWays(
        2,
        2,
        x -> {
          Tensor h = x[0];
          for (int i = 0; i < 5; i++) h = h.mul(x[1]).tanh().add(x[1]); // x[1] at every step
          return new Tensor[] {F.mseLoss(h, x[0].detach())};
        });
    // cross-entropy over a matrix product, and a second root that is a leaf itself
    sameBothWays(
        3,
        2,
        x -> {
          Tensor logits = x[0].mm(x[1].t()); // [3, 3]
          Tensor loss = F.crossEntropy(logits, tensor(new long[] {0, 2, 1}));
          return new Tensor[] {loss, x[1].sum()};
        });
    // one-element chains in the scalar lane, with a leaf that only some rows reach
    sameBothWays(
        4,
        3,
        x -> {
          Tensor a = x[0].sum().reshape(1), b = x[1].sum().reshape(1);
          Tensor h = a;
          for (int i = 0; i < 50; i++) h = h.add(b).mul(b).tanh();
          Tensor unused = x[2].mul(2); // recorded, not reached by the root
          return new Tensor[] {h.add(a).mul(unused.sum().detach().reshape(1))};
        });
  }

  @Test
  void aHookOnALeafMakesTheBackwardCounted() {
    Tensor a = tensor(new float[] {1f, 2f}).requiresGrad_(true);
    assertFalse(Tape.current().backwardMayRunUserCode());
    List<String> seen = new ArrayList<>();
    Tensor b = tensor(new float[] {3f}).requiresGrad_(true);
    b.registerHook(
        g -> {
          seen.add("b has " + g.item() + "; a.grad " + (a.grad() == null ? "none" : "set"));
          return null;
        });
    assertTrue(Tape.current().backwardMayRunUserCode());
    // b's row was recorded first, so the sweep completes a's sum first: a's AccumulateGrad runs
    // before b's hook, as in PyTorch
    Tensor fromB = b.mul(b).sum();
    fromB.add(a.mul(2).sum()).backward();
    assertEquals(List.of("b has 6.0; a.grad set"), seen);
  }

  @Test
  void aHookOrRetainedGradientOnARowMakesTheBackwardCounted() {
    Tensor a = tensor(new float[] {0.5f}).requiresGrad_(true);
    Tensor y = a.mul(a);
    assertFalse(Tape.current().backwardMayRunUserCode());
    y.retainGrad();
    assertTrue(Tape.current().backwardMayRunUserCode());
    Tape.current().userCodeRows = false;
    y.registerHook(g -> g);
    assertTrue(Tape.current().backwardMayRunUserCode());
    y.tanh().backward();
    assertEquals(DType.FLOAT32, a.grad().dtype());
  }
}
