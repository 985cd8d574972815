package dev.panagrad.optim;

import dev.panagrad.Tensor;
import java.util.List;

/**
 * Stochastic gradient descent with PyTorch's update: weight decay, then momentum (with dampening,
 * optionally Nesterov), then {@code p -= lr * d}. The first momentum buffer is the gradient itself.
 *
 * {@snippet :
 * var opt = new SGD(List.of(w, b), 0.1);
 * loss.backward();
 * opt.step();
 * opt.zeroGrad();
 * }
 */
public final class SGD extends Optimizer {
  private final double momentum, dampening, weightDecay;
  private final boolean nesterov;
  private final FusedUpdates.SgdPass pass = new FusedUpdates.SgdPass(); // reused every step

  public SGD(List<Tensor> params, double lr) {
    this(params, lr, 0, 0, 0, false);
  }

  public SGD(List<Tensor> params, double lr, double momentum) {
    this(params, lr, momentum, 0, 0, false);
  }

  public SGD(
      List<Tensor> params,
      double lr,
      double momentum,
      double dampening,
      double weightDecay,
      boolean nesterov) {
    super(params, lr);
    if (momentum < 0) throw new IllegalArgumentException("Invalid momentum value: " + momentum);
    if (weightDecay < 0) {
      throw new IllegalArgumentException("Invalid weight_decay value: " + weightDecay);
    }
    if (nesterov && (momentum <= 0 || dampening != 0)) {
      throw new IllegalArgumentException(
          "Nesterov momentum requires a momentum and zero dampening");
    }
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }

  @Override
  protected void update(int i, Tensor p, Tensor d) {
    Tensor buf0 = momentum != 0 ? stateOrNull(i, "momentum_buffer") : null;
    if ((momentum == 0 || buf0 != null) && FusedUpdates.applies(p, d, buf0)) {
      FusedUpdates.sgd(p, d, buf0, lr, momentum, dampening, weightDecay, nesterov, pass);
      return;
    }
    if (weightDecay != 0) d = d.add(p, weightDecay);
    if (momentum != 0) {
      Tensor buf = stateOrNull(i, "momentum_buffer");
      if (buf == null) {
        buf = putState(i, "momentum_buffer", d.clone());
      } else {
        buf.mul_(momentum).add_(d, 1 - dampening);
      }
      d = nesterov ? d.add(buf, momentum) : buf;
    }
    p.add_(d, -lr);
  }
}
