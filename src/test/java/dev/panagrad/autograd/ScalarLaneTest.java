package dev.panagrad.autograd;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.memory.Scope;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The scalar lane (Note [Scalar lane] in ScalarLane) against the tensor rules it stands in for: the
 * same graph's backward with the lane and without it must give the same gradients, bit for bit, the
 * same shapes, and the same errors.
 */
class ScalarLaneTest {
  @AfterEach
  void laneBackOn() {
    ScalarLane.enabled = true;
  }

  /**
   * Runs {@code graph} on fresh leaves made from {@code values} (each [1] of dtype, needing grad),
   * backward from its result, once with the lane and once without; asserts both give every leaf's
   * .grad with the same bits and shape, and that the lane's backward made fewer tensors; returns
   * the lane's gradients.
   */
  private static List<String> sameBothWays(
      DType dtype, double[] values, Function<Tensor[], Tensor> graph) {
    List<String> withLane = run(true, dtype, values, graph);
    List<String> without = run(false, dtype, values, graph);
    // the lane ran: its backward made fewer tensors (the last entry: tensors made)
    long madeWith = Long.parseLong(withLane.removeLast());
    long madeWithout = Long.parseLong(without.removeLast());
    assertTrue(madeWith < madeWithout, "tensors made: " + madeWith + " against " + madeWithout);
    assertEquals(without, withLane);
    return withLane;
  }

  /** Every leaf's .grad as raw bits, then the number of tensors the backward made. */
  private static List<String> run(
      boolean lane, DType dtype, double[] values, Function<Tensor[], Tensor> graph) {
    ScalarLane.enabled = lane;
    try (var s = Scope.open()) {
      Tensor[] leaves = new Tensor[values.length];
      for (int i = 0; i < values.length; i++) {
        leaves[i] = full(dtype, new long[] {1}, values[i]).requiresGrad_(true);
      }
      Tensor root = graph.apply(leaves);
      // tensors made: storages, and one-element tensors' slots (Note [Scalar slots] in Storage)
      long before = dev.panagrad.memory.MemoryStats.liveCount() + s.slotsTaken();
      root.backward();
      long made = dev.panagrad.memory.MemoryStats.liveCount() + s.slotsTaken() - before;
      List<String> out = new ArrayList<>();
      for (Tensor leaf : leaves) out.add(bits(leaf.grad()));
      out.add(Long.toString(made));
      return out;
    } finally {
      ScalarLane.enabled = true;
    }
  }

  /** A gradient's dtype, shape and every element's raw bits (null when there is none). */
  private static String bits(Tensor g) {
    if (g == null) return "none";
    StringBuilder b = new StringBuilder(g.dtype() + " " + java.util.Arrays.toString(g.shape()));
    Tensor flat = g.reshape(-1);
    for (long i = 0; i < flat.numel(); i++) {
      double v = flat.get(i);
      b.append(' ')
          .append(
              g.dtype() == DType.FLOAT32
                  ? Integer.toHexString(Float.floatToRawIntBits((float) v))
                  : Long.toHexString(Double.doubleToRawLongBits(v)));
    }
    return b.toString();
  }

  private static final double[] VALUES = {0.7309677, -1.3862944, 0.125, 2.5};

  @Test
  void everyOpInTheLaneGivesTheTensorRulesBits() {
    List<Function<Tensor[], Tensor>> graphs =
        List.of(
            t -> t[0].add(t[1]).mul(t[2]).tanh().mul(t[3]),
            t -> t[0].add(t[1], 0.3).sub(t[2], 1.7).sub(t[3]),
            t -> t[0].mul(t[1]).sigmoid().mul(t[0]).neg().mul(t[2]),
            t -> t[0].mul(t[3]).relu().add(t[1].relu()).add(t[2].neg().relu()),
            t -> t[0].add(0.1).sub(2.3).mul(1.9).mul(t[1]).add(t[2].mul(-0.7)).tanh(),
            t -> t[0].mul(t[0]).mul(t[0]).add(t[1].mul(t[1])), // one leaf, many uses
            t -> t[0].mul(t[1].detach()).add(t[2].mul(3)), // a factor needing no grad
            t -> t[0].div(t[1]).add(t[2].exp()).mul(t[3].log()).div(t[0].mul(t[1])),
            t -> t[1].detach().div(t[0]).add(t[2].div(t[3].detach())),
            t -> // x^2 and x^3 (kernels), x^0.5 and x^1 (Math.pow), x^0 (a zero gradient)
            t[0].pow(2)
                    .add(t[1].pow(3))
                    .add(t[2].pow(0.5))
                    .add(t[3].pow(1))
                    .add(t[0].pow(0))
                    .add(t[1].pow(-1.5).mul(t[2])),
            t -> { // a long chain, as W3
              Tensor h = t[0];
              for (int i = 0; i < 300; i++) h = h.add(t[1]).mul(t[1]).tanh();
              return h.add(t[2]).mul(t[3]);
            });
    for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      for (Function<Tensor[], Tensor> g : graphs) {
        List<String> grads = sameBothWays(dtype, VALUES, g);
        assertTrue(grads.stream().anyMatch(s -> !s.equals("none")), grads.toString());
      }
    }
  }

  @Test
  void theLaneMatchesTheMathsOfItsRules() {
    // d/da tanh((a + b) b) = b (1 - tanh^2), d/db = (a + 2b)(1 - tanh^2), in float64.
    double a = 0.3, b = -0.8;
    List<String> grads =
        sameBothWays(DType.FLOAT64, new double[] {a, b}, t -> t[0].add(t[1]).mul(t[1]).tanh());
    double y = Math.tanh((a + b) * b);
    double da = b * (1 - y * y), db = (a + 2 * b) * (1 - y * y);
    ScalarLane.enabled = true;
    Tensor ta = tensor(new double[] {a}, DType.FLOAT64, 1).requiresGrad_(true);
    Tensor tb = tensor(new double[] {b}, DType.FLOAT64, 1).requiresGrad_(true);
    ta.add(tb).mul(tb).tanh().backward();
    assertEquals(da, ta.grad().item(), 1e-15);
    assertEquals(db, tb.grad().item(), 1e-15);
    assertEquals(bits(ta.grad()), grads.get(0));
  }

  @Test
  void gradientsCrossingInAndOutOfTheLaneAgree() {
    for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      // exp and sum are outside the lane: h gets one gradient as a tensor and one as a number
      sameBothWays(
          dtype,
          VALUES,
          t -> {
            Tensor h = t[0].mul(t[1]);
            return h.exp().add(h.tanh()).mul(t[2]);
          });
      sameBothWays(
          dtype,
          VALUES,
          t -> {
            Tensor v = t[0].expand(5).mul(arange(5).to(t[0].dtype())); // [5]: outside the lane
            return v.sum().reshape(1).mul(t[1]).tanh().add(t[0]);
          });
    }
  }

  @Test
  void aZeroDimOperandGetsAZeroDimGradient() {
    for (boolean lane : new boolean[] {true, false}) {
      ScalarLane.enabled = lane;
      Tensor a = tensor(0.5).requiresGrad_(true); // shape []
      Tensor b = tensor(new float[] {2f}).requiresGrad_(true); // shape [1]
      a.mul(b).add(a).tanh().backward();
      assertArrayEquals(new long[0], a.grad().shape(), "lane " + lane);
      assertArrayEquals(new long[] {1}, b.grad().shape(), "lane " + lane);
    }
  }

  @Test
  void mixedDtypesStayOnTheTensorPath() {
    for (boolean lane : new boolean[] {true, false}) {
      ScalarLane.enabled = lane;
      Tensor a = tensor(new float[] {0.5f}).requiresGrad_(true);
      Tensor b = tensor(new double[] {0.25}, DType.FLOAT64, 1).requiresGrad_(true);
      a.mul(b).tanh().backward();
      assertEquals(DType.FLOAT32, a.grad().dtype());
      assertEquals(DType.FLOAT64, b.grad().dtype());
    }
    List<String> one =
        run(
            true,
            DType.FLOAT32,
            new double[] {0.5, 0.25},
            t -> t[0].mul(t[1].to(DType.FLOAT64)).tanh());
    assertEquals(
        run(
            false,
            DType.FLOAT32,
            new double[] {0.5, 0.25},
            t -> t[0].mul(t[1].to(DType.FLOAT64)).tanh()),
        one);
  }

  @Test
  void hooksRetainedGradientsAndAccumulationSeeTensors() {
    for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      List<String> seen = new ArrayList<>();
      List<String> withLane = new ArrayList<>(), without = new ArrayList<>();
      for (boolean lane : new boolean[] {true, false}) {
        ScalarLane.enabled = lane;
        List<String> out = lane ? withLane : without;
        try (var s = Scope.open()) {
          Tensor a = full(dtype, new long[] {1}, 0.4).requiresGrad_(true);
          Tensor b = full(dtype, new long[] {1}, -1.1).requiresGrad_(true);
          b.registerHook(
              g -> {
                seen.add(bits(g));
                return g.mul(2);
              });
          Tensor h = a.mul(b);
          h.retainGrad();
          Tensor k = h.tanh();
          k.registerHook(g -> g.add(1));
          k.mul(a).backward();
          k = a.mul(b).tanh(); // a second backward accumulates into .grad
          k.backward();
          out.add(bits(a.grad()));
          out.add(bits(b.grad()));
          out.add(bits(h.grad()));
        }
      }
      assertEquals(without, withLane);
      assertEquals(4, seen.size()); // b's hook ran once a backward, with and without the lane
      assertEquals(seen.get(2), seen.get(0));
    }
  }

  @Test
  void aBackwardStartedFromALeafsHookLeavesTheOuterRowsGradientsAlone() {
    // d(ab)/da = b and d(ab)/db = a. a's sum is complete first, and its hook runs another lane
    // backward (c d) while the outer row still has b's gradient to hand over.
    Tensor a = tensor(new float[] {3f}).requiresGrad_(true);
    Tensor b = tensor(new float[] {5f}).requiresGrad_(true);
    Tensor c = tensor(new float[] {7f}).requiresGrad_(true);
    Tensor d = tensor(new float[] {11f}).requiresGrad_(true);
    a.registerHook(
        g -> {
          try (var on = enableGrad()) { // a backward runs its hooks with grad mode off
            c.mul(d).backward();
          }
          return null;
        });
    a.mul(b).backward();
    assertEquals(5.0, a.grad().item());
    assertEquals(3.0, b.grad().item());
    assertEquals(11.0, c.grad().item());
    assertEquals(7.0, d.grad().item());
  }

  @Test
  void anInPlaceChangeToASavedTensorFailsInTheLaneToo() {
    for (boolean lane : new boolean[] {true, false}) {
      ScalarLane.enabled = lane;
      Tensor a = tensor(0.5f).requiresGrad_(true);
      Tensor y = a.mul(2).tanh();
      Tensor z = y.mul(3);
      try (var ng = noGrad()) {
        y.add_(1); // tanh saved y
      }
      IllegalStateException e = assertThrows(IllegalStateException.class, z::backward);
      assertTrue(e.getMessage().contains("modified by an inplace operation"), e.getMessage());
    }
  }

  @Test
  void aSecondBackwardWithoutRetainGraphFailsInTheLaneToo() {
    for (boolean lane : new boolean[] {true, false}) {
      ScalarLane.enabled = lane;
      Tensor a = tensor(0.5f).requiresGrad_(true);
      Tensor y = a.mul(a).tanh();
      y.backward();
      IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
      assertTrue(e.getMessage().contains("backward through the graph a second time"));
      Tensor r = a.mul(a).tanh();
      r.backward(null, true);
      r.backward(); // retained: runs again, and the gradients add up
      double d = 2 * 0.5 * (1 - Math.pow(Math.tanh(0.25), 2)); // d tanh(a^2)/da, three backwards
      assertEquals(3 * d, a.grad().item(), 1e-6);
    }
  }
}
