package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** Negative log-likelihood of log-probabilities [N, C] at int64 class targets [N]. */
public final class NLLLoss extends Loss {
  private final long ignoreIndex;

  public NLLLoss() {
    this("mean", -100);
  }

  public NLLLoss(String reduction, long ignoreIndex) {
    super(reduction);
    this.ignoreIndex = ignoreIndex;
  }

  @Override
  public Tensor forward(Tensor input, Tensor target) {
    return F.nllLoss(input, target, reduction, ignoreIndex);
  }
}
