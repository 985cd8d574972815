package dev.panagrad.optim;

import dev.panagrad.Tensor;
import java.util.List;

/**
 * Adam with PyTorch's update and defaults (lr 1e-3, betas 0.9 and 0.999, eps 1e-8, no weight
 * decay): {@code m = b1 m + (1 - b1) g}, {@code v = b2 v + (1 - b2) g²}, {@code p -= lr / (1 -
 * b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)}; weight decay adds {@code wd * p} to the gradient
 * (L2), and amsgrad keeps the running maximum of {@code v}.
 */
public class Adam extends Optimizer {
  protected final double beta1, beta2, eps, weightDecay;
  private final boolean amsgrad;
  private final long[] steps;

  public Adam(List<Tensor> params) {
    this(params, 1e-3);
  }

  public Adam(List<Tensor> params, double lr) {
    this(params, lr, 0.9, 0.999, 1e-8, 0, false);
  }

  public Adam(
      List<Tensor> params,
      double lr,
      double beta1,
      double beta2,
      double eps,
      double weightDecay,
      boolean amsgrad) {
    super(params, lr);
    if (eps < 0) throw new IllegalArgumentException("Invalid epsilon value: " + eps);
    if (beta1 < 0 || beta1 >= 1) {
      throw new IllegalArgumentException("Invalid beta parameter at index 0: " + beta1);
    }
    if (beta2 < 0 || beta2 >= 1) {
      throw new IllegalArgumentException("Invalid beta parameter at index 1: " + beta2);
    }
    if (weightDecay < 0) {
      throw new IllegalArgumentException("Invalid weight_decay value: " + weightDecay);
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.amsgrad = amsgrad;
    this.steps = new long[params.size()];
  }

  /** The L2 coefficient folded into the gradient: Adam's weight decay; AdamW's is 0. */
  protected double l2() {
    return weightDecay;
  }

  /** What the weight is multiplied by before the step: 1; AdamW's 1 - lr wd. */
  protected double weightScale() {
    return 1;
  }

  /** Adam's weight decay is L2 on the gradient; AdamW overrides this to decay the weight. */
  protected Tensor decay(Tensor p, Tensor grad) {
    return weightDecay != 0 ? grad.add(p, weightDecay) : grad;
  }

  @Override
  protected void update(int i, Tensor p, Tensor grad) {
    Tensor m = state(i, "exp_avg"), v = state(i, "exp_avg_sq");
    Tensor vmax = amsgrad ? state(i, "max_exp_avg_sq") : null;
    if (FusedUpdates.applies(p, grad, m, v, vmax)) {
      // The fused step advances steps[i] itself: a captured step replays that too.
      new FusedUpdates.AdamStep(
              p, grad, m, v, vmax, lr, beta1, beta2, eps, l2(), weightScale(), steps, i)
          .runAndRecord();
      return;
    }
    long t = ++steps[i];
    grad = decay(p, grad);
    m.mul_(beta1).add_(grad, 1 - beta1);
    v.mul_(beta2).add_(grad.mul(grad), 1 - beta2);
    double bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
    double stepSize = lr / bc1, bc2Sqrt = Math.sqrt(bc2);
    Tensor second = v;
    if (amsgrad) {
      Tensor max = state(i, "max_exp_avg_sq");
      max.copy_(max.maximum(v));
      second = max;
    }
    Tensor denom = second.sqrt().div(bc2Sqrt).add_(eps);
    p.add_(m.div(denom), -stepSize);
  }

  /** The number of steps taken for parameter {@code i}. */
  public long stepCount(int i) {
    return steps[i];
  }
}
