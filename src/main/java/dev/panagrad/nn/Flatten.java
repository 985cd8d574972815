package dev.panagrad.nn;

import dev.panagrad.Tensor;

/** Flattens dims {@code startDim..endDim} (default 1..-1: everything but the batch). */
public final class Flatten extends Module {
  private final long startDim, endDim;

  public Flatten() {
    this(1, -1);
  }

  public Flatten(long startDim, long endDim) {
    this.startDim = startDim;
    this.endDim = endDim;
  }

  @Override
  public Tensor forward(Tensor x) {
    return x.flatten(startDim, endDim);
  }

  @Override
  protected String extraRepr() {
    return "start_dim=" + startDim + ", end_dim=" + endDim;
  }
}
