package dev.panagrad;

import dev.panagrad.ops.Elementwise;
import dev.panagrad.ops.Indexing;
import dev.panagrad.ops.Losses;
import dev.panagrad.ops.Softmax;

/** PyTorch's {@code torch.nn.functional}: activations, softmax, losses and embedding. */
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
}
