package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** x for x > 0, else negativeSlope * x (default 0.01). */
public final class LeakyReLU extends Module {
  private final double negativeSlope;

  public LeakyReLU() {
    this(0.01);
  }

  public LeakyReLU(double negativeSlope) {
    this.negativeSlope = negativeSlope;
  }

  @Override
  public Tensor forward(Tensor x) {
    return F.leakyRelu(x, negativeSlope);
  }

  @Override
  protected String extraRepr() {
    return "negative_slope=" + py(negativeSlope);
  }
}
