package dev.panagrad.optim;

/**
 * Anneals the learning rate from its initial value to {@code etaMin} along half a cosine over
 * {@code tMax} epochs, with PyTorch's recursive formula (so it composes with other changes of the
 * learning rate as PyTorch's does).
 */
public final class CosineAnnealingLR extends LRScheduler {
  private final int tMax;
  private final double etaMin;

  public CosineAnnealingLR(Optimizer optimizer, int tMax) {
    this(optimizer, tMax, 0);
  }

  public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin) {
    super(optimizer);
    if (tMax <= 0) throw new IllegalArgumentException("T_max must be positive");
    this.tMax = tMax;
    this.etaMin = etaMin;
  }

  @Override
  protected double nextLr() {
    double lr = optimizer.lr();
    if (lastEpoch == 0) return lr;
    if ((lastEpoch - 1 - tMax) % (2 * tMax) == 0) {
      return lr + (baseLr - etaMin) * (1 - Math.cos(Math.PI / tMax)) / 2;
    }
    return (1 + Math.cos(Math.PI * lastEpoch / tMax))
            / (1 + Math.cos(Math.PI * (lastEpoch - 1) / tMax))
            * (lr - etaMin)
        + etaMin;
  }
}
