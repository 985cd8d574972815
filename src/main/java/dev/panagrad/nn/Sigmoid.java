package dev.panagrad.nn;

import dev.panagrad.Tensor;

/** The logistic sigmoid. */
public final class Sigmoid extends Module {
  @Override
  public Tensor forward(Tensor x) {
    return x.sigmoid();
  }
}
