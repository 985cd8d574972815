package dev.panagrad.data;

import dev.panagrad.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Tensors indexed along their first dim: sample {@code i} is {@code (t[0][i], t[1][i], ...)}.
 * Batches of a TensorDataset are gathered row by row with bulk copies ({@link #rows(long[])}).
 */
public final class TensorDataset implements Dataset {
  private final Tensor[] tensors;

  public TensorDataset(Tensor... tensors) {
    if (tensors.length == 0) throw new IllegalArgumentException("at least one tensor is needed");
    long n = tensors[0].size(0);
    for (Tensor t : tensors) {
      if (t.dim() == 0 || t.size(0) != n) {
        throw new IllegalArgumentException("Size mismatch between tensors");
      }
    }
    this.tensors = new Tensor[tensors.length];
    for (int i = 0; i < tensors.length; i++) this.tensors[i] = tensors[i].detach().contiguous();
  }

  @Override
  public long size() {
    return tensors[0].size(0);
  }

  @Override
  public Tensor[] get(long index) {
    Tensor[] out = new Tensor[tensors.length];
    for (int i = 0; i < out.length; i++) out[i] = tensors[i].select(0, index);
    return out;
  }

  /** The underlying tensors (detached, contiguous). */
  public Tensor[] tensors() {
    return tensors.clone();
  }

  public Tensor tensor(int i) {
    return tensors[i];
  }

  /** The samples at {@code indices}, stacked: one new tensor per field, rows in that order. */
  public Tensor[] rows(long[] indices) {
    Tensor[] out = new Tensor[tensors.length];
    for (int i = 0; i < out.length; i++) out[i] = gatherRows(tensors[i], indices);
    return out;
  }

  /** A dataset of the samples at {@code indices} (copies). */
  public TensorDataset subset(long[] indices) {
    return new TensorDataset(rows(indices));
  }

  private static Tensor gatherRows(Tensor t, long[] indices) {
    long n = t.size(0);
    long[] shape = t.shape();
    shape[0] = indices.length;
    Tensor out = Tensor.empty(t.dtype(), shape);
    long rowBytes = (t.numel() / Math.max(1, n)) * t.dtype().byteSize();
    MemorySegment src = t.segment(), dst = out.segment();
    long base = t.storageOffset() * t.dtype().byteSize();
    for (int k = 0; k < indices.length; k++) {
      long i = indices[k];
      if (i < 0 || i >= n) {
        throw new IndexOutOfBoundsException(
            "index " + i + " is out of bounds for a dataset of " + n + " samples");
      }
      MemorySegment.copy(src, base + i * rowBytes, dst, k * rowBytes, rowBytes);
    }
    return out;
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("TensorDataset(");
    for (int i = 0; i < tensors.length; i++) {
      b.append(i == 0 ? "" : ", ").append(Arrays.toString(tensors[i].shape()));
    }
    return b.append(')').toString();
  }
}
