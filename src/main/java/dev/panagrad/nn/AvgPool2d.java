package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** 2-D average pooling; the stride defaults to the kernel size, padding is counted. */
public final class AvgPool2d extends Module {
  private final long kernelSize, stride, padding;

  public AvgPool2d(long kernelSize) {
    this(kernelSize, kernelSize, 0);
  }

  public AvgPool2d(long kernelSize, long stride, long padding) {
    this.kernelSize = kernelSize;
    this.stride = stride;
    this.padding = padding;
  }

  @Override
  public Tensor forward(Tensor x) {
    return F.avgPool2d(
        x,
        new long[] {kernelSize, kernelSize},
        new long[] {stride, stride},
        new long[] {padding, padding});
  }

  @Override
  protected String extraRepr() {
    return "kernel_size=" + kernelSize + ", stride=" + stride + ", padding=" + padding;
  }
}
