package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** 2-D max pooling; the stride defaults to the kernel size. */
public final class MaxPool2d extends Module {
  private final long kernelSize, stride, padding, dilation;
  private final boolean ceilMode;

  public MaxPool2d(long kernelSize) {
    this(kernelSize, kernelSize, 0, 1, false);
  }

  public MaxPool2d(long kernelSize, long stride) {
    this(kernelSize, stride, 0, 1, false);
  }

  public MaxPool2d(long kernelSize, long stride, long padding, long dilation, boolean ceilMode) {
    this.kernelSize = kernelSize;
    this.stride = stride;
    this.padding = padding;
    this.dilation = dilation;
    this.ceilMode = ceilMode;
  }

  @Override
  public Tensor forward(Tensor x) {
    return F.maxPool2d(
        x,
        new long[] {kernelSize, kernelSize},
        new long[] {stride, stride},
        new long[] {padding, padding},
        new long[] {dilation, dilation},
        ceilMode);
  }

  @Override
  protected String extraRepr() {
    return "kernel_size="
        + kernelSize
        + ", stride="
        + stride
        + ", padding="
        + padding
        + ", dilation="
        + dilation
        + ", ceil_mode="
        + py(ceilMode);
  }
}
