package dev.panagrad.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Autograd;
import java.util.function.Function;

/**
 * Float64 gradient checks by central differences, as PyTorch's {@code gradcheck}: the analytic
 * gradient of {@code sum(f(x) * gOut)} (from {@link Autograd#grad}) against {@code (F(x + eps) -
 * F(x - eps)) / 2 eps}, element by element, within {@code atol + rtol * |numeric|}.
 */
public final class Gradcheck {
  private Gradcheck() {}

  public static final double EPS = 1e-6, ATOL = 1e-5, RTOL = 1e-3;

  /**
   * {@code sum(f(inputs) * gOut)} with input {@code k} replaced by a float64 tensor of its shape
   * holding {@code data} (row-major), under no-grad; the other inputs are detached.
   */
  public static double weighted(
      Function<Tensor[], Tensor> f, Tensor[] inputs, int k, double[] data, Tensor gOut) {
    try (var ng = Torch.noGrad()) {
      Tensor[] in = inputs.clone();
      for (int j = 0; j < in.length; j++) in[j] = in[j].detach();
      in[k] = Torch.tensor(data, DType.FLOAT64, inputs[k].shape());
      return dot(f.apply(in), gOut);
    }
  }

  /** The sum of the elementwise product of two tensors of one shape, in double. */
  public static double dot(Tensor y, Tensor g) {
    assertArrayEquals(g.shape(), y.shape(), "output shape");
    double[] a = y.toDoubleArray(), b = g.toDoubleArray();
    double s = 0;
    for (int i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  }

  /** The central-difference gradient of {@code sum(f(inputs) * gOut)} for input {@code k}. */
  public static double[] numeric(
      Function<Tensor[], Tensor> f, Tensor[] inputs, int k, Tensor gOut) {
    double[] base = inputs[k].detach().toDoubleArray();
    double[] out = new double[base.length];
    for (int i = 0; i < base.length; i++) {
      double[] plus = base.clone(), minus = base.clone();
      plus[i] += EPS;
      minus[i] -= EPS;
      double fp = weighted(f, inputs, k, plus, gOut), fm = weighted(f, inputs, k, minus, gOut);
      out[i] = (fp - fm) / (2 * EPS);
    }
    return out;
  }

  /**
   * Checks {@code Autograd.grad} of {@code f} at {@code inputs} (those at {@code diff} must require
   * grad) against central differences, with upstream gradient {@code gOut}.
   */
  public static void check(Function<Tensor[], Tensor> f, Tensor[] inputs, int[] diff, Tensor gOut) {
    Tensor out = f.apply(inputs);
    Tensor[] wrt = new Tensor[diff.length];
    for (int i = 0; i < diff.length; i++) wrt[i] = inputs[diff[i]];
    Tensor[] grads =
        Autograd.grad(new Tensor[] {out}, wrt, new Tensor[] {gOut}, false, false, false);
    for (int i = 0; i < diff.length; i++) {
      int k = diff[i];
      assertArrayEquals(inputs[k].shape(), grads[i].shape(), "grad shape of input " + k);
      assertEquals(inputs[k].dtype(), grads[i].dtype(), "grad dtype of input " + k);
      double[] analytic = grads[i].toDoubleArray();
      double[] numeric = numeric(f, inputs, k, gOut);
      for (int j = 0; j < analytic.length; j++) {
        if (!(Math.abs(analytic[j] - numeric[j]) <= ATOL + RTOL * Math.abs(numeric[j]))) {
          fail(
              "input "
                  + k
                  + " element "
                  + j
                  + ": analytic "
                  + analytic[j]
                  + ", numeric "
                  + numeric[j]);
        }
      }
    }
  }
}
