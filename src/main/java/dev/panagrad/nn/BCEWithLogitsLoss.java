package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** Binary cross-entropy of logits (sigmoid fused in, numerically stable). */
public final class BCEWithLogitsLoss extends Loss {
  public BCEWithLogitsLoss() {
    this("mean");
  }

  public BCEWithLogitsLoss(String reduction) {
    super(reduction);
  }

  @Override
  public Tensor forward(Tensor input, Tensor target) {
    return F.binaryCrossEntropyWithLogits(input, target, reduction);
  }
}
