package dev.panagrad.nn;

import dev.panagrad.Tensor;

/** The hyperbolic tangent. */
public final class Tanh extends Module {
  @Override
  public Tensor forward(Tensor x) {
    return x.tanh();
  }
}
