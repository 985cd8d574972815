package dev.panagrad.nn;

import dev.panagrad.Tensor;
import dev.panagrad.autograd.GradMode;
import dev.panagrad.random.Generator;

/**
 * Zeroes each element with probability {@code p} in training and scales the rest by 1/(1-p), as
 * PyTorch does: a mask drawn with {@code bernoulli_(1 - p)} from the default generator, divided by
 * 1 - p, multiplied in. The identity in evaluation.
 */
public final class Dropout extends Module {
  private final double p;

  public Dropout() {
    this(0.5);
  }

  public Dropout(double p) {
    if (p < 0 || p > 1) {
      throw new IllegalArgumentException(
          "dropout probability has to be between 0 and 1, but got " + p);
    }
    this.p = p;
  }

  @Override
  public Tensor forward(Tensor x) {
    if (!isTraining() || p == 0) return x;
    if (p == 1) return x.mul(0.0);
    Tensor noise;
    try (var ng = GradMode.noGrad()) {
      noise = Tensor.empty(x.dtype(), x.shape()).bernoulli_(1 - p, Generator.defaultGenerator());
      noise.div_(1 - p);
    }
    return x.mul(noise);
  }

  @Override
  protected String extraRepr() {
    return "p=" + py(p) + ", inplace=False";
  }
}
