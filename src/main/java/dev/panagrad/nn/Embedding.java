package dev.panagrad.nn;

import dev.panagrad.DType;
import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.random.Generator;

/** A lookup table of {@code numEmbeddings} rows of size {@code embeddingDim}, init N(0, 1). */
public final class Embedding extends Module {
  private final long numEmbeddings, embeddingDim;

  public Embedding(long numEmbeddings, long embeddingDim) {
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    Tensor w = Tensor.empty(DType.FLOAT32, numEmbeddings, embeddingDim);
    Init.normal_(w, 0, 1, Generator.defaultGenerator());
    registerParameter("weight", w);
  }

  public Tensor weight() {
    return param("weight");
  }

  @Override
  public Tensor forward(Tensor indices) {
    return F.embedding(indices, weight());
  }

  @Override
  protected String extraRepr() {
    return numEmbeddings + ", " + embeddingDim;
  }
}
