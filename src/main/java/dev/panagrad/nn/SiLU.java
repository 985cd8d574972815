package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** x * sigmoid(x). */
public final class SiLU extends Module {
  @Override
  public Tensor forward(Tensor x) {
    return F.silu(x);
  }
}
