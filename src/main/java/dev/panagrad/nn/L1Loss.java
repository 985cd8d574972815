package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** The mean absolute error. */
public final class L1Loss extends Loss {
  public L1Loss() {
    this("mean");
  }

  public L1Loss(String reduction) {
    super(reduction);
  }

  @Override
  public Tensor forward(Tensor input, Tensor target) {
    return F.l1Loss(input, target, reduction);
  }
}
