package dev.panagrad.nn;

import dev.panagrad.DType;
import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.random.Generator;
import java.util.Arrays;

/**
 * A 2-D convolution over [N, C, H, W] with PyTorch's default init (kaiming_uniform_ with a =
 * sqrt(5), then the bias uniform in ±1/sqrt(fan_in)). Zero padding, one group.
 */
public final class Conv2d extends Module {
  private final long inChannels, outChannels;
  private final long[] kernelSize, stride, padding, dilation;

  public Conv2d(long inChannels, long outChannels, long kernelSize) {
    this(inChannels, outChannels, kernelSize, 1, 0);
  }

  public Conv2d(long inChannels, long outChannels, long kernelSize, long stride, long padding) {
    this(
        inChannels,
        outChannels,
        new long[] {kernelSize, kernelSize},
        new long[] {stride, stride},
        new long[] {padding, padding},
        new long[] {1, 1},
        true,
        Generator.defaultGenerator());
  }

  public Conv2d(
      long inChannels,
      long outChannels,
      long[] kernelSize,
      long[] stride,
      long[] padding,
      long[] dilation,
      boolean bias,
      Generator g) {
    for (long[] a : new long[][] {kernelSize, stride, padding, dilation}) {
      if (a.length != 2) throw new IllegalArgumentException("expected 2 values, got " + a.length);
    }
    if (inChannels <= 0 || outChannels <= 0) {
      throw new IllegalArgumentException("in_channels and out_channels must be positive");
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize.clone();
    this.stride = stride.clone();
    this.padding = padding.clone();
    this.dilation = dilation.clone();
    Tensor w = Tensor.empty(DType.FLOAT32, outChannels, inChannels, kernelSize[0], kernelSize[1]);
    Tensor b = bias ? Tensor.empty(DType.FLOAT32, outChannels) : null;
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
    return F.conv2d(x, weight(), bias(), stride, padding, dilation, 1);
  }

  @Override
  protected String extraRepr() {
    StringBuilder s =
        new StringBuilder()
            .append(inChannels)
            .append(", ")
            .append(outChannels)
            .append(", kernel_size=")
            .append(py(kernelSize))
            .append(", stride=")
            .append(py(stride));
    if (!Arrays.equals(padding, new long[] {0, 0})) s.append(", padding=").append(py(padding));
    if (!Arrays.equals(dilation, new long[] {1, 1})) s.append(", dilation=").append(py(dilation));
    if (bias() == null) s.append(", bias=False");
    return s.toString();
  }
}
