package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** Binary cross-entropy of probabilities. */
public final class BCELoss extends Loss {
  public BCELoss() {
    this("mean");
  }

  public BCELoss(String reduction) {
    super(reduction);
  }

  @Override
  public Tensor forward(Tensor input, Tensor target) {
    return F.binaryCrossEntropy(input, target, reduction);
  }
}
