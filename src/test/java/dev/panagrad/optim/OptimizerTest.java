package dev.panagrad.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.memory.Scope;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Each optimizer minimises f(p) = sum(p^2 * c) for a few steps; the expected values come from the
 * update rule written out in doubles beside each test (PyTorch's formulas).
 */
class OptimizerTest {
  static final double[] START = {1.5, -0.5, 0.25};
  static final double[] C = {1, 2, 3};

  /** Runs {@code steps} steps of {@code opt} on p, returns p. */
  static double[] run(Tensor p, Optimizer opt, int steps) {
    Tensor c = Torch.tensor(C, DType.FLOAT64, 3);
    for (int s = 0; s < steps; s++) {
      try (var scope = Scope.open()) {
        opt.zeroGrad();
        p.mul(p).mul(c).sum().backward();
        opt.step();
      }
    }
    return p.toDoubleArray();
  }

  static Tensor param() {
    return Torch.tensor(START, DType.FLOAT64, 3).requiresGrad_(true);
  }

  interface Rule {
    /** One update of element {@code j} at step {@code t} (1-based) with gradient g. */
    double apply(int j, int t, double p, double g);
  }

  static double[] reference(Rule rule, int steps) {
    double[] p = START.clone();
    for (int t = 1; t <= steps; t++)
      for (int j = 0; j < p.length; j++) p[j] = rule.apply(j, t, p[j], 2 * C[j] * p[j]);
    return p;
  }

  static void assertClose(double[] want, double[] got) {
    for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-12, "element " + i);
  }

  @Test
  void sgdMomentumNesterovWeightDecay() {
    double lr = 0.05, mu = 0.9, wd = 0.01;
    double[] buf = new double[3];
    double[] want =
        reference(
            (j, t, p, g) -> {
              double d = g + wd * p;
              buf[j] = t == 1 ? d : mu * buf[j] + d;
              return p - lr * (d + mu * buf[j]);
            },
            5);
    Tensor p = param();
    assertClose(want, run(p, new SGD(List.of(p), lr, mu, 0, wd, true), 5));
  }

  @Test
  void adamAndAmsgrad() {
    for (boolean ams : new boolean[] {false, true}) {
      double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
      double[] m = new double[3], v = new double[3], vmax = new double[3];
      double[] want =
          reference(
              (j, t, p, g) -> {
                g += wd * p;
                m[j] = b1 * m[j] + (1 - b1) * g;
                v[j] = b2 * v[j] + (1 - b2) * g * g;
                vmax[j] = Math.max(vmax[j], v[j]);
                double second = ams ? vmax[j] : v[j];
                double denom = Math.sqrt(second) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                return p - lr / (1 - Math.pow(b1, t)) * m[j] / denom;
              },
              6);
      Tensor p = param();
      assertClose(want, run(p, new Adam(List.of(p), lr, b1, b2, eps, wd, ams), 6));
    }
  }

  @Test
  void adamWDecaysTheWeight() {
    double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
    double[] m = new double[3], v = new double[3];
    double[] want =
        reference(
            (j, t, p, g) -> {
              p *= 1 - lr * wd;
              m[j] = b1 * m[j] + (1 - b1) * g;
              v[j] = b2 * v[j] + (1 - b2) * g * g;
              double denom = Math.sqrt(v[j]) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
              return p - lr / (1 - Math.pow(b1, t)) * m[j] / denom;
            },
            4);
    Tensor p = param();
    assertClose(want, run(p, new AdamW(List.of(p), lr), 4));
  }

  @Test
  void rmspropCenteredWithMomentum() {
    double lr = 0.01, a = 0.99, eps = 1e-8, mu = 0.5;
    double[] s = new double[3], ga = new double[3], buf = new double[3];
    double[] want =
        reference(
            (j, t, p, g) -> {
              s[j] = a * s[j] + (1 - a) * g * g;
              ga[j] = a * ga[j] + (1 - a) * g;
              double avg = Math.sqrt(s[j] - ga[j] * ga[j]) + eps;
              buf[j] = mu * buf[j] + g / avg;
              return p - lr * buf[j];
            },
            5);
    Tensor p = param();
    assertClose(want, run(p, new RMSprop(List.of(p), lr, a, eps, 0, mu, true), 5));
    Tensor q = param();
    double[] s2 = new double[3];
    double[] want2 =
        reference(
            (j, t, pp, g) -> {
              s2[j] = a * s2[j] + (1 - a) * g * g;
              return pp - lr * g / (Math.sqrt(s2[j]) + eps);
            },
            3);
    assertClose(want2, run(q, new RMSprop(List.of(q)), 3));
  }

  @Test
  void zeroGradSetsToNullAndNonLeafIsRefused() {
    Tensor p = param();
    var opt = new SGD(List.of(p), 0.1);
    p.sum().backward();
    opt.zeroGrad();
    assertNull(p.grad());
    Tensor nonLeaf = param().mul(2);
    var e = assertThrows(IllegalArgumentException.class, () -> new Adam(List.of(nonLeaf), 0.1));
    assertEquals("can't optimize a non-leaf Tensor", e.getMessage());
  }

  @Test
  void stateLivesAsLongAsItsParameter() {
    try (var outer = Scope.open()) {
      Tensor p = param();
      var opt = new Adam(List.of(p), 0.1);
      run(p, opt, 3); // state made in the steps' inner scopes must survive them
      assertEquals(3, opt.stepCount(0));
    }
  }

  @Test
  void schedulers() {
    Tensor p = param();
    var opt = new SGD(List.of(p), 1.0);
    var step = new StepLR(opt, 2, 0.5);
    double[] want = {1, 0.5, 0.5, 0.25, 0.25};
    for (double w : want) {
      step.step();
      assertEquals(w, opt.lr(), 1e-15);
    }
    var opt2 = new SGD(List.of(p), 0.1);
    var cos = new CosineAnnealingLR(opt2, 10, 0.001);
    DoubleUnaryOperator closed = e -> 0.001 + (0.1 - 0.001) * (1 + Math.cos(Math.PI * e / 10)) / 2;
    for (int e = 1; e <= 10; e++) {
      cos.step();
      assertEquals(closed.applyAsDouble(e), opt2.lr(), 1e-12, "epoch " + e);
    }
  }

  @Test
  void clipGradNorm() {
    Tensor a = Torch.tensor(new double[] {1, 2}, DType.FLOAT64, 2).requiresGrad_(true);
    Tensor b = Torch.tensor(new double[] {3}, DType.FLOAT64, 1).requiresGrad_(true);
    a.mul(Torch.tensor(new double[] {3, 0}, DType.FLOAT64, 2)).sum().backward(); // grad [3, 0]
    b.mul(4.0).sum().backward(); // grad [4]
    Tensor total = ClipGrad.clipGradNorm_(List.of(a, b), 1.0);
    assertEquals(5, total.item(), 1e-12);
    double k = 1 / (5 + 1e-6);
    assertEquals(3 * k, a.grad().get(0), 1e-12);
    assertEquals(4 * k, b.grad().get(0), 1e-12);
    assertEquals(
        4 * k, ClipGrad.clipGradNorm_(List.of(a, b), 10, Double.POSITIVE_INFINITY).item(), 1e-12);
  }
}
