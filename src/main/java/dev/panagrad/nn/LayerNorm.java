package dev.panagrad.nn;

import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;

/** Normalizes over the trailing {@code normalizedShape} dims; weight ones, bias zeros. */
public final class LayerNorm extends Module {
  private final long[] normalizedShape;
  private final double eps;
  private final boolean affine;

  public LayerNorm(long... normalizedShape) {
    this(normalizedShape, 1e-5, true);
  }

  public LayerNorm(long[] normalizedShape, double eps, boolean elementwiseAffine) {
    this.normalizedShape = normalizedShape.clone();
    this.eps = eps;
    this.affine = elementwiseAffine;
    registerParameter("weight", elementwiseAffine ? Torch.ones(normalizedShape) : null);
    registerParameter("bias", elementwiseAffine ? Torch.zeros(normalizedShape) : null);
  }

  @Override
  public Tensor forward(Tensor x) {
    return F.layerNorm(x, normalizedShape, param("weight"), param("bias"), eps);
  }

  @Override
  protected String extraRepr() {
    return py(normalizedShape) + ", eps=" + py(eps) + ", elementwise_affine=" + py(affine);
  }
}
