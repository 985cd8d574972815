package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/**
 * Cross-entropy of logits [N, C] (or [C], or [N, C, d1, ...]) at int64 class targets, with
 * PyTorch's {@code ignore_index} and {@code label_smoothing}: with smoothing {@code s} over {@code
 * C} classes the loss is {@code (1 - s) * nll + s / C * sum_c(-log p_c)}, targets equal to {@code
 * ignoreIndex} counting for neither term.
 */
public final class CrossEntropyLoss extends Loss {
  private final long ignoreIndex;
  private final double labelSmoothing;

  public CrossEntropyLoss() {
    this("mean", -100, 0);
  }

  public CrossEntropyLoss(String reduction) {
    this(reduction, -100, 0);
  }

  public CrossEntropyLoss(String reduction, long ignoreIndex, double labelSmoothing) {
    super(reduction);
    if (labelSmoothing < 0 || labelSmoothing > 1) {
      throw new IllegalArgumentException(
          "label_smoothing must be between 0.0 and 1.0. Got: " + labelSmoothing);
    }
    this.ignoreIndex = ignoreIndex;
    this.labelSmoothing = labelSmoothing;
  }

  @Override
  public Tensor forward(Tensor input, Tensor target) {
    if (input.dim() > 2) {
      // [N, C, d1, ...]: classes last, then one row per position.
      long c = input.size(1);
      long[] perm = new long[input.dim()];
      perm[0] = 0;
      for (int i = 2; i < perm.length; i++) perm[i - 1] = i;
      perm[perm.length - 1] = 1;
      Tensor rows = input.permute(perm).reshape(-1, c);
      Tensor loss = forward2d(rows, target.reshape(-1));
      return reduction.equals("none") ? loss.reshape(target.shape()) : loss;
    }
    return forward2d(input, target);
  }

  private Tensor forward2d(Tensor input, Tensor target) {
    long classDim = input.dim() == 1 ? 0 : 1;
    Tensor logp = F.logSoftmax(input, classDim);
    Tensor nll = F.nllLoss(logp, target, reduction, ignoreIndex);
    if (labelSmoothing == 0) return nll;
    Tensor ignored = target.eq(ignoreIndex);
    Tensor smooth = logp.sum(classDim).neg().maskedFill(ignored, 0.0);
    Tensor reduced =
        switch (reduction) {
          case "none" -> smooth;
          case "sum" -> smooth.sum();
          default -> smooth.sum().div(target.numel() - countTrue(ignored));
        };
    long classes = input.size(classDim);
    return nll.mul(1 - labelSmoothing).add(reduced.mul(labelSmoothing / classes));
  }

  private static long countTrue(Tensor mask) {
    long n = 0;
    for (boolean b : mask.toBooleanArray()) if (b) n++;
    return n;
  }
}
