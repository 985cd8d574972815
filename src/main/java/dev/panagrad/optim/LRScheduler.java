package dev.panagrad.optim;

/**
 * The base of the learning-rate schedulers: {@link #step()} once per epoch, after the optimizer's
 * steps. As in PyTorch, building a scheduler counts as epoch 0 and leaves the learning rate at its
 * initial value.
 */
public abstract class LRScheduler {
  protected final Optimizer optimizer;
  protected final double baseLr;
  protected int lastEpoch = -1;

  protected LRScheduler(Optimizer optimizer) {
    this.optimizer = optimizer;
    this.baseLr = optimizer.lr();
    step();
  }

  /** The learning rate for {@link #lastEpoch}, from the optimizer's current one. */
  protected abstract double nextLr();

  public void step() {
    lastEpoch++;
    optimizer.setLr(nextLr());
  }

  /** The learning rate the last step set (PyTorch's {@code get_last_lr()[0]}). */
  public double lastLr() {
    return optimizer.lr();
  }

  public int lastEpoch() {
    return lastEpoch;
  }
}
