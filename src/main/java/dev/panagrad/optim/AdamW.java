package dev.panagrad.optim;

import dev.panagrad.Tensor;
import java.util.List;

/**
 * Adam with decoupled weight decay (PyTorch's AdamW, default weight decay 1e-2): each step first
 * scales the parameter by {@code 1 - lr * wd}, then applies Adam's update without L2.
 */
public final class AdamW extends Adam {
  public AdamW(List<Tensor> params) {
    this(params, 1e-3);
  }

  public AdamW(List<Tensor> params, double lr) {
    this(params, lr, 0.9, 0.999, 1e-8, 1e-2, false);
  }

  public AdamW(
      List<Tensor> params,
      double lr,
      double beta1,
      double beta2,
      double eps,
      double weightDecay,
      boolean amsgrad) {
    super(params, lr, beta1, beta2, eps, weightDecay, amsgrad);
  }

  @Override
  protected double l2() {
    return 0;
  }

  @Override
  protected double weightScale() {
    return 1 - lr * weightDecay;
  }

  @Override
  protected Tensor decay(Tensor p, Tensor grad) {
    p.mul_(1 - lr * weightDecay);
    return grad;
  }
}
