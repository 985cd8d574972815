package dev.panagrad.optim;

/** Multiplies the learning rate by {@code gamma} (default 0.1) every {@code stepSize} epochs. */
public final class StepLR extends LRScheduler {
  private final int stepSize;
  private final double gamma;

  public StepLR(Optimizer optimizer, int stepSize) {
    this(optimizer, stepSize, 0.1);
  }

  public StepLR(Optimizer optimizer, int stepSize, double gamma) {
    super(init(optimizer, stepSize));
    this.stepSize = stepSize;
    this.gamma = gamma;
  }

  private static Optimizer init(Optimizer o, int stepSize) {
    if (stepSize <= 0) throw new IllegalArgumentException("step_size must be positive");
    return o;
  }

  @Override
  protected double nextLr() {
    // Called once from the base constructor before the fields are set: epoch 0 keeps the lr.
    if (lastEpoch == 0 || lastEpoch % stepSize != 0) return optimizer.lr();
    return optimizer.lr() * gamma;
  }
}
