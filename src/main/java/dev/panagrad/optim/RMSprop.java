package dev.panagrad.optim;

import dev.panagrad.Tensor;
import java.util.List;

/**
 * RMSprop with PyTorch's update and defaults (lr 1e-2, alpha 0.99, eps 1e-8): {@code s = a s + (1 -
 * a) g²}, {@code p -= lr * g / (sqrt(s) + eps)}; centered subtracts the squared running mean of g
 * inside the root, momentum keeps a buffer {@code b = mu b + g / (sqrt(s) + eps)}.
 */
public final class RMSprop extends Optimizer {
  private final double alpha, eps, weightDecay, momentum;
  private final boolean centered;

  public RMSprop(List<Tensor> params) {
    this(params, 1e-2);
  }

  public RMSprop(List<Tensor> params, double lr) {
    this(params, lr, 0.99, 1e-8, 0, 0, false);
  }

  public RMSprop(
      List<Tensor> params,
      double lr,
      double alpha,
      double eps,
      double weightDecay,
      double momentum,
      boolean centered) {
    super(params, lr);
    if (eps < 0) throw new IllegalArgumentException("Invalid epsilon value: " + eps);
    if (momentum < 0) throw new IllegalArgumentException("Invalid momentum value: " + momentum);
    if (weightDecay < 0) {
      throw new IllegalArgumentException("Invalid weight_decay value: " + weightDecay);
    }
    if (alpha < 0) throw new IllegalArgumentException("Invalid alpha value: " + alpha);
    this.alpha = alpha;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.momentum = momentum;
    this.centered = centered;
  }

  @Override
  protected void update(int i, Tensor p, Tensor grad) {
    Tensor sq0 = state(i, "square_avg");
    Tensor ga0 = centered ? state(i, "grad_avg") : null;
    Tensor buf0 = momentum > 0 ? state(i, "momentum_buffer") : null;
    if (FusedUpdates.applies(p, grad, sq0, ga0, buf0)) {
      FusedUpdates.rmsprop(p, grad, sq0, ga0, buf0, lr, alpha, eps, weightDecay, momentum);
      return;
    }
    if (weightDecay != 0) grad = grad.add(p, weightDecay);
    Tensor sq = state(i, "square_avg");
    sq.mul_(alpha).add_(grad.mul(grad), 1 - alpha);
    Tensor avg;
    if (centered) {
      Tensor gAvg = state(i, "grad_avg");
      gAvg.mul_(alpha).add_(grad, 1 - alpha);
      avg = sq.sub(gAvg.mul(gAvg)).sqrt();
    } else {
      avg = sq.sqrt();
    }
    avg.add_(eps);
    if (momentum > 0) {
      Tensor buf = state(i, "momentum_buffer");
      buf.mul_(momentum).add_(grad.div(avg));
      p.add_(buf, -lr);
    } else {
      p.add_(grad.div(avg), -lr);
    }
  }
}
