package dev.panagrad.data;

import dev.panagrad.Tensor;

/**
 * PyTorch's map-style dataset: a size and the sample at each index, as a tuple of tensors (for
 * example the features and the label).
 */
public interface Dataset {
  long size();

  /** The sample at {@code index}, one tensor per field. */
  Tensor[] get(long index);
}
