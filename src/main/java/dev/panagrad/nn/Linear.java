package dev.panagrad.nn;

import dev.panagrad.DType;
import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.random.Generator;

/**
 * {@code y = x W^T + b} with PyTorch's default init: the weight [out, in] uniform in ±1/sqrt(in)
 * (kaiming_uniform_ with a = sqrt(5)), then the bias in the same bound, both from the default
 * generator.
 */
public final class Linear extends Module {
  private final long inFeatures, outFeatures;

  public Linear(long inFeatures, long outFeatures) {
    this(inFeatures, outFeatures, true);
  }

  public Linear(long inFeatures, long outFeatures, boolean bias) {
    this(inFeatures, outFeatures, bias, Generator.defaultGenerator());
  }

  public Linear(long inFeatures, long outFeatures, boolean bias, Generator g) {
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    Tensor w = Tensor.empty(DType.FLOAT32, outFeatures, inFeatures);
    Tensor b = bias ? Tensor.empty(DType.FLOAT32, outFeatures) : null;
    Init.linearDefault(w, b, g);
    registerParameter("weight", w);
    registerParameter("bias", b);
  }

  public Tensor weight() {
    return param("weight");
  }

  public Tensor bias() {
    return param("bias");
  }

  @Override
  public Tensor forward(Tensor x) {
    return F.linear(x, weight(), bias());
  }

  @Override
  protected String extraRepr() {
    return "in_features="
        + inFeatures
        + ", out_features="
        + outFeatures
        + ", bias="
        + py(bias() != null);
  }
}
