package dev.panagrad;

import dev.panagrad.ops.Convolution;
import dev.panagrad.ops.Elementwise;
import dev.panagrad.ops.Indexing;
import dev.panagrad.ops.Losses;
import dev.panagrad.ops.Normalization;
import dev.panagrad.ops.Pooling;
import dev.panagrad.ops.Softmax;

/**
 * PyTorch's {@code torch.nn.functional}: activations, softmax, losses, embedding, linear,
 * convolution, pooling and normalization.
 */
public final class F {
  private F() {}

  public static Tensor relu(Tensor x) {
    return x.relu();
  }

  public static Tensor sigmoid(Tensor x) {
    return x.sigmoid();
  }

  public static Tensor tanh(Tensor x) {
    return x.tanh();
  }

  public static Tensor gelu(Tensor x) {
    return Elementwise.gelu(x);
  }

  public static Tensor silu(Tensor x) {
    return Elementwise.silu(x);
  }

  public static Tensor leakyRelu(Tensor x, double negativeSlope) {
    return Elementwise.leakyRelu(x, negativeSlope);
  }

  public static Tensor elu(Tensor x, double alpha) {
    return Elementwise.elu(x, alpha);
  }

  public static Tensor softplus(Tensor x) {
    return Elementwise.softplus(x, 1, 20);
  }

  public static Tensor softmax(Tensor x, long dim) {
    return Softmax.softmax(x, dim);
  }

  public static Tensor logSoftmax(Tensor x, long dim) {
    return Softmax.logSoftmax(x, dim);
  }

  public static Tensor mseLoss(Tensor input, Tensor target) {
    return mseLoss(input, target, "mean");
  }

  public static Tensor mseLoss(Tensor input, Tensor target, String reduction) {
    return Losses.mseLoss(input, target, reduction);
  }

  public static Tensor l1Loss(Tensor input, Tensor target) {
    return l1Loss(input, target, "mean");
  }

  public static Tensor l1Loss(Tensor input, Tensor target, String reduction) {
    return Losses.l1Loss(input, target, reduction);
  }

  public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target) {
    return binaryCrossEntropyWithLogits(input, target, "mean");
  }

  public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target, String reduction) {
    return Losses.binaryCrossEntropyWithLogits(input, target, reduction);
  }

  public static Tensor binaryCrossEntropy(Tensor input, Tensor target) {
    return binaryCrossEntropy(input, target, "mean");
  }

  public static Tensor binaryCrossEntropy(Tensor input, Tensor target, String reduction) {
    return Losses.binaryCrossEntropy(input, target, reduction);
  }

  public static Tensor nllLoss(Tensor input, Tensor target) {
    return nllLoss(input, target, "mean");
  }

  public static Tensor nllLoss(Tensor input, Tensor target, String reduction) {
    return Losses.nllLoss(input, target, reduction);
  }

  public static Tensor nllLoss(Tensor input, Tensor target, String reduction, long ignoreIndex) {
    return Losses.nllLoss(input, target, reduction, ignoreIndex);
  }

  public static Tensor crossEntropy(Tensor input, Tensor target) {
    return crossEntropy(input, target, "mean");
  }

  public static Tensor crossEntropy(Tensor input, Tensor target, String reduction) {
    return Losses.crossEntropy(input, target, reduction);
  }

  public static Tensor embedding(Tensor input, Tensor weight) {
    return Indexing.embedding(input, weight);
  }

  /** F.linear: x W^T + b (b may be null). */
  public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
    return dev.panagrad.ops.LinearAlgebra.linear(x, weight, bias);
  }

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
    return Pooling.maxPool2d(input, kernelSize, stride, padding, dilation, ceilMode);
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
    return Pooling.avgPool2d(
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
