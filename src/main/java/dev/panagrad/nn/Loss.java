package dev.panagrad.nn;

import dev.panagrad.Tensor;

/**
 * A loss module: {@code forward(input, target)} with PyTorch's {@code reduction} ("none", "mean",
 * the default, or "sum").
 */
public abstract class Loss extends Module {
  protected final String reduction;

  protected Loss(String reduction) {
    if (!reduction.equals("none") && !reduction.equals("mean") && !reduction.equals("sum")) {
      throw new IllegalArgumentException(reduction + " is not a valid value for reduction");
    }
    this.reduction = reduction;
  }

  public String reduction() {
    return reduction;
  }

  public abstract Tensor forward(Tensor input, Tensor target);

  /** A loss needs a target: use {@link #forward(Tensor, Tensor)}. */
  @Override
  public Tensor forward(Tensor input) {
    throw new UnsupportedOperationException(
        name() + " needs a target: call forward(input, target)");
  }
}
