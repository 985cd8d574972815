package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** x * Phi(x), the exact (erf) form. */
public final class GELU extends Module {
  @Override
  public Tensor forward(Tensor x) {
    return F.gelu(x);
  }

  @Override
  protected String extraRepr() {
    return "approximate='none'";
  }
}
