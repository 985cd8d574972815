package dev.panagrad.optim;

import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.GradMode;
import java.util.ArrayList;
import java.util.List;

/** PyTorch's {@code torch.nn.utils.clip_grad_norm_}. */
public final class ClipGrad {
  private ClipGrad() {}

  /** Scales the gradients so their joint 2-norm is at most {@code maxNorm}; returns the norm. */
  public static Tensor clipGradNorm_(List<Tensor> params, double maxNorm) {
    return clipGradNorm_(params, maxNorm, 2);
  }

  /**
   * Scales the gradients in place by {@code min(1, maxNorm / (total + 1e-6))}, where {@code total}
   * is the {@code normType}-norm of the per-parameter norms ({@code Double.POSITIVE_INFINITY}: the
   * largest absolute element). Returns {@code total}.
   */
  public static Tensor clipGradNorm_(List<Tensor> params, double maxNorm, double normType) {
    List<Tensor> grads = new ArrayList<>();
    for (Tensor p : params) if (p.grad() != null) grads.add(p.grad().detach());
    try (var ng = GradMode.noGrad()) {
      if (grads.isEmpty()) return Torch.tensor(0.0);
      Tensor[] norms = new Tensor[grads.size()];
      for (int i = 0; i < norms.length; i++) norms[i] = norm(grads.get(i), normType);
      Tensor total = norms.length == 1 ? norms[0] : norm(Torch.stack(norms, 0), normType);
      // PyTorch's max_norm / (total + 1e-6) on a tensor is reciprocal() * max_norm.
      Tensor coef = total.add(1e-6).reciprocal().mul(maxNorm).clampMax(1.0);
      for (Tensor g : grads) g.mul_(coef);
      return total;
    }
  }

  private static Tensor norm(Tensor t, double p) {
    if (p == 2) return t.norm();
    if (p == Double.POSITIVE_INFINITY) return t.abs().max();
    return t.abs().pow(p).sum().pow(1 / p);
  }
}
