package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** Softmax along {@code dim}. */
public final class Softmax extends Module {
  private final long dim;

  public Softmax(long dim) {
    this.dim = dim;
  }

  @Override
  public Tensor forward(Tensor x) {
    return F.softmax(x, dim);
  }

  @Override
  protected String extraRepr() {
    return "dim=" + dim;
  }
}
