package dev.panagrad.nn;

import dev.panagrad.Tensor;

/** Batch normalization of [N, C] or [N, C, L] input. */
public final class BatchNorm1d extends BatchNorm {
  public BatchNorm1d(long numFeatures) {
    this(numFeatures, 1e-5, 0.1, true, true);
  }

  public BatchNorm1d(
      long numFeatures, double eps, double momentum, boolean affine, boolean trackRunningStats) {
    super(numFeatures, eps, momentum, affine, trackRunningStats);
  }

  @Override
  void checkInputDim(Tensor x) {
    if (x.dim() != 2 && x.dim() != 3) {
      throw new IllegalArgumentException("expected 2D or 3D input (got " + x.dim() + "D input)");
    }
  }
}
