package dev.panagrad.optim;

import dev.panagrad.Tensor;
import dev.panagrad.autograd.GradMode;
import java.util.List;

/**
 * Stochastic gradient descent with PyTorch's update: weight decay, then momentum (with dampening,
 * optionally Nesterov), then {@code p -= lr * d}.
 *
 * {@snippet :
 * var opt = new SGD(List.of(w, b), 0.1);
 * loss.backward();
 * opt.step();
 * opt.zeroGrad();
 * }
 */
public final class SGD {
  private final List<Tensor> params;
  private final double lr, momentum, dampening, weightDecay;
  private final boolean nesterov;
  private final Tensor[] buffers;

  public SGD(List<Tensor> params, double lr) {
    this(params, lr, 0, 0, 0, false);
  }

  public SGD(
      List<Tensor> params,
      double lr,
      double momentum,
      double dampening,
      double weightDecay,
      boolean nesterov) {
    if (lr < 0) throw new IllegalArgumentException("Invalid learning rate: " + lr);
    if (momentum < 0) throw new IllegalArgumentException("Invalid momentum value: " + momentum);
    if (nesterov && (momentum <= 0 || dampening != 0)) {
      throw new IllegalArgumentException(
          "Nesterov momentum requires a momentum and zero dampening");
    }
    for (Tensor p : params) {
      if (!p.isLeaf()) throw new IllegalArgumentException("can't optimize a non-leaf Tensor");
    }
    this.params = List.copyOf(params);
    this.lr = lr;
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
    this.buffers = new Tensor[params.size()];
  }

  /** One update of every parameter that has a gradient. */
  public void step() {
    try (var ng = GradMode.noGrad()) {
      for (int i = 0; i < params.size(); i++) {
        Tensor p = params.get(i), d = p.grad();
        if (d == null) continue;
        if (weightDecay != 0) d = d.add(p, weightDecay);
        if (momentum != 0) {
          Tensor buf = buffers[i];
          if (buf == null) {
            buf = d.clone();
            buf.storage().shareLifetimeWith(p.storage());
            buffers[i] = buf;
          } else {
            buf.mul_(momentum).add_(d, 1 - dampening);
          }
          d = nesterov ? d.add(buf, momentum) : buf;
        }
        p.add_(d, -lr);
      }
    }
  }

  /** Clears the gradients: sets them to null, as PyTorch 2 does by default. */
  public void zeroGrad() {
    zeroGrad(true);
  }

  public void zeroGrad(boolean setToNone) {
    for (Tensor p : params) {
      if (p.grad() == null) continue;
      if (setToNone) p.setGrad(null);
      else {
        try (var ng = GradMode.noGrad()) {
          p.grad().zero_();
        }
      }
    }
  }
}
