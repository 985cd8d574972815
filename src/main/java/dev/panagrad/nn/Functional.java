package dev.panagrad.nn;

import dev.panagrad.Tensor;
import dev.panagrad.ops.Convolution;
import dev.panagrad.ops.Normalization;

/**
 * PyTorch's {@code torch.nn.functional} convolution, pooling and normalization functions, with its
 * defaults. Sizes are given as one int (both dims) or a pair.
 */
public final class Functional {
  private Functional() {}

  private static final long[] ONE = {1}, ZERO = {0};

  /** F.conv2d(input, weight): stride 1, no padding, dilation 1, one group, no bias. */
  public static Tensor conv2d(Tensor input, Tensor weight) {
    return conv2d(input, weight, null, ONE, ZERO, ONE, 1);
  }

  public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias) {
    return conv2d(input, weight, bias, ONE, ZERO, ONE, 1);
  }

  public static Tensor conv2d(
      Tensor input, Tensor weight, Tensor bias, long[] stride, long[] padding) {
    return conv2d(input, weight, bias, stride, padding, ONE, 1);
  }

  /** F.conv2d(input, weight, bias, stride, padding, dilation, groups); bias may be null. */
  public static Tensor conv2d(
      Tensor input,
      Tensor weight,
      Tensor bias,
      long[] stride,
      long[] padding,
      long[] dilation,
      long groups) {
    return Convolution.conv2d(input, weight, bias, stride, padding, dilation, groups);
  }

  /** F.max_pool2d(input, kernel_size): stride = kernel_size, no padding. */
  public static Tensor maxPool2d(Tensor input, long... kernelSize) {
    return maxPool2d(input, kernelSize, null, ZERO, ONE, false);
  }

  public static Tensor maxPool2d(Tensor input, long[] kernelSize, long[] stride, long[] padding) {
    return maxPool2d(input, kernelSize, stride, padding, ONE, false);
  }

  /** F.max_pool2d in full; stride null means kernel_size. */
  public static Tensor maxPool2d(
      Tensor input,
      long[] kernelSize,
      long[] stride,
      long[] padding,
      long[] dilation,
      boolean ceilMode) {
    return Convolution.maxPool2d(input, kernelSize, stride, padding, dilation, ceilMode);
  }

  /** F.avg_pool2d(input, kernel_size): stride = kernel_size, no padding, padding counted. */
  public static Tensor avgPool2d(Tensor input, long... kernelSize) {
    return avgPool2d(input, kernelSize, null, ZERO, false, true, 0);
  }

  public static Tensor avgPool2d(Tensor input, long[] kernelSize, long[] stride, long[] padding) {
    return avgPool2d(input, kernelSize, stride, padding, false, true, 0);
  }

  /** F.avg_pool2d in full; stride null means kernel_size, divisorOverride 0 means none. */
  public static Tensor avgPool2d(
      Tensor input,
      long[] kernelSize,
      long[] stride,
      long[] padding,
      boolean ceilMode,
      boolean countIncludePad,
      long divisorOverride) {
    return Convolution.avgPool2d(
        input, kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride);
  }

  /** F.layer_norm(input, normalized_shape): no affine parameters, eps 1e-5. */
  public static Tensor layerNorm(Tensor input, long... normalizedShape) {
    return layerNorm(input, normalizedShape, null, null, 1e-5);
  }

  /** F.layer_norm(input, normalized_shape, weight, bias, eps); weight and bias may be null. */
  public static Tensor layerNorm(
      Tensor input, long[] normalizedShape, Tensor weight, Tensor bias, double eps) {
    return Normalization.layerNorm(input, normalizedShape, weight, bias, eps);
  }

  /**
   * F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps); the
   * running statistics, weight and bias may be null (the statistics not in evaluation).
   */
  public static Tensor batchNorm(
      Tensor input,
      Tensor runningMean,
      Tensor runningVar,
      Tensor weight,
      Tensor bias,
      boolean training,
      double momentum,
      double eps) {
    return Normalization.batchNorm(
        input, runningMean, runningVar, weight, bias, training, momentum, eps);
  }

  /** F.batch_norm with momentum 0.1 and eps 1e-5. */
  public static Tensor batchNorm(
      Tensor input,
      Tensor runningMean,
      Tensor runningVar,
      Tensor weight,
      Tensor bias,
      boolean training) {
    return batchNorm(input, runningMean, runningVar, weight, bias, training, 0.1, 1e-5);
  }
}
