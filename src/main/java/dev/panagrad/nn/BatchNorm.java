package dev.panagrad.nn;

import dev.panagrad.DType;
import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;

/**
 * Batch normalization over the channel dim (dim 1) with running statistics: in training it
 * normalizes with the batch's statistics and updates {@code running_mean}, {@code running_var} (by
 * {@code momentum}) and {@code num_batches_tracked}; in evaluation it uses the running ones.
 */
public abstract sealed class BatchNorm extends Module permits BatchNorm1d, BatchNorm2d {
  private final long numFeatures;
  private final double eps, momentum;
  private final boolean affine, trackRunningStats;

  BatchNorm(long numFeatures, double eps, double momentum, boolean affine, boolean track) {
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = track;
    registerParameter("weight", affine ? Torch.ones(numFeatures) : null);
    registerParameter("bias", affine ? Torch.zeros(numFeatures) : null);
    if (track) {
      registerBuffer("running_mean", Torch.zeros(numFeatures));
      registerBuffer("running_var", Torch.ones(numFeatures));
      registerBuffer("num_batches_tracked", Torch.zeros(DType.INT64));
    }
  }

  /** Throws when {@code x} has the wrong number of dims for this layer. */
  abstract void checkInputDim(Tensor x);

  public Tensor runningMean() {
    return buffer("running_mean");
  }

  public Tensor runningVar() {
    return buffer("running_var");
  }

  @Override
  public Tensor forward(Tensor x) {
    checkInputDim(x);
    boolean useBatchStats = isTraining() || !trackRunningStats;
    if (isTraining() && trackRunningStats) {
      Tensor n = buffer("num_batches_tracked");
      n.set(n.getLong() + 1);
    }
    return F.batchNorm(
        x,
        isTraining() && !trackRunningStats ? null : runningMean(),
        isTraining() && !trackRunningStats ? null : runningVar(),
        param("weight"),
        param("bias"),
        useBatchStats,
        momentum,
        eps);
  }

  @Override
  protected String extraRepr() {
    return numFeatures
        + ", eps="
        + py(eps)
        + ", momentum="
        + py(momentum)
        + ", affine="
        + py(affine)
        + ", track_running_stats="
        + py(trackRunningStats);
  }
}
