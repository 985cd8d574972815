package dev.panagrad.nn;

import dev.panagrad.Tensor;

/** Batch normalization of [N, C, H, W] input. */
public final class BatchNorm2d extends BatchNorm {
  public BatchNorm2d(long numFeatures) {
    this(numFeatures, 1e-5, 0.1, true, true);
  }

  public BatchNorm2d(
      long numFeatures, double eps, double momentum, boolean affine, boolean trackRunningStats) {
    super(numFeatures, eps, momentum, affine, trackRunningStats);
  }

  @Override
  void checkInputDim(Tensor x) {
    if (x.dim() != 4) {
      throw new IllegalArgumentException("expected 4D input (got " + x.dim() + "D input)");
    }
  }
}
