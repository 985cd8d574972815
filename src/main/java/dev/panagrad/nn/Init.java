package dev.panagrad.nn;

import dev.panagrad.Tensor;
import dev.panagrad.autograd.GradMode;
import dev.panagrad.random.Generator;

/**
 * PyTorch's {@code nn.init}: the bounds are computed with the same double arithmetic as PyTorch's
 * Python code, so a layer built after {@code manualSeed} holds PyTorch's exact values.
 */
public final class Init {
  private Init() {}

  /** fan_in: size(1) times the receptive field (every dim after the first two). */
  public static long fanIn(Tensor t) {
    if (t.dim() < 2) {
      throw new IllegalArgumentException(
          "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
    }
    long receptive = 1;
    for (int i = 2; i < t.dim(); i++) receptive *= t.size(i);
    return t.size(1) * receptive;
  }

  /** PyTorch's calculate_gain('leaky_relu', a). */
  public static double leakyReluGain(double a) {
    return Math.sqrt(2.0 / (1 + a * a));
  }

  /** kaiming_uniform_(t, a, mode='fan_in', nonlinearity='leaky_relu'). */
  public static Tensor kaimingUniform_(Tensor t, double a, Generator g) {
    double std = leakyReluGain(a) / Math.sqrt(fanIn(t));
    double bound = Math.sqrt(3.0) * std;
    return uniform_(t, -bound, bound, g);
  }

  /** uniform_(t, from, to) without recording. */
  public static Tensor uniform_(Tensor t, double from, double to, Generator g) {
    try (var ng = GradMode.noGrad()) {
      return t.uniform_(from, to, g);
    }
  }

  /** normal_(t, mean, std) without recording. */
  public static Tensor normal_(Tensor t, double mean, double std, Generator g) {
    try (var ng = GradMode.noGrad()) {
      return t.normal_(mean, std, g);
    }
  }

  /**
   * The default init of Linear and Conv2d: kaiming_uniform_(weight, a=sqrt(5)), then the bias
   * uniform in ±1/sqrt(fan_in), both from {@code g} in that order.
   */
  static void linearDefault(Tensor weight, Tensor bias, Generator g) {
    kaimingUniform_(weight, Math.sqrt(5), g);
    if (bias != null) {
      long fanIn = fanIn(weight);
      double bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(bias, -bound, bound, g);
    }
  }
}
