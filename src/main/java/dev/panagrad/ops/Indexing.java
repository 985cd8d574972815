package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Ctx;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;

/** Gathering by integer indices: index_select, gather, embedding, and their backward adds. */
public final class Indexing {
  private Indexing() {}

  static void checkIndexType(Tensor index, String op) {
    if (index.dtype() != DType.INT64) {
      throw new IllegalArgumentException(
          op + "(): Expected dtype int64 for index but got " + index.dtype().pyName());
    }
  }

  /** Sizes around {@code dim}: the product before it, its size, the product after it. */
  static long[] split(long[] shape, int dim) {
    long outer = 1, inner = 1;
    for (int i = 0; i < dim; i++) outer *= shape[i];
    for (int i = dim + 1; i < shape.length; i++) inner *= shape[i];
    return new long[] {outer, shape.length == 0 ? 1 : shape[dim], inner};
  }

  // ------------------------------------------------------------ index_select

  public static Tensor indexSelect(Tensor x, long dim, Tensor index) {
    checkIndexType(index, "index_select");
    if (index.dim() > 1)
      throw new IllegalArgumentException("index_select(): Index is supposed to be a vector");
    int d = Shapes.wrapDim(dim, x.dim());
    long[] idx = index.toLongArray();
    long[] shape = x.shape();
    long[] s = split(shape, d);
    for (long i : idx) {
      if (i < 0 || i >= s[1]) throw new IndexOutOfBoundsException("index out of range in self");
    }
    long[] outShape = shape.clone();
    if (outShape.length > 0) outShape[d] = idx.length;
    double[] v = x.detach().toDoubleArray();
    double[] out = new double[Math.toIntExact(Shapes.numel(outShape))];
    int k = 0;
    for (long o = 0; o < s[0]; o++)
      for (long j : idx)
        for (long i = 0; i < s[2]; i++) out[k++] = v[(int) ((o * s[1] + j) * s[2] + i)];
    Tensor y = Torch.tensor(out, x.dtype(), outShape);
    if (Tape.needsRecord(x))
      Tape.record(
          Op.INDEX_SELECT, y, new Tensor[] {x}, new Tensor[] {index}, new double[] {d}, null);
    return y;
  }

  /**
   * A zero tensor of {@code shape} with the slices of {@code src} along {@code dim} added at {@code
   * index} (PyTorch's index_add on zeros). Not recorded.
   */
  public static Tensor indexAdd(long[] shape, DType dt, int dim, long[] index, Tensor src) {
    long[] s = split(shape, dim);
    double[] acc = new double[Math.toIntExact(Shapes.numel(shape))];
    double[] v = src.detach().toDoubleArray();
    int k = 0;
    for (long o = 0; o < s[0]; o++)
      for (long j : index)
        for (long i = 0; i < s[2]; i++) acc[(int) ((o * s[1] + j) * s[2] + i)] += v[k++];
    return Torch.tensor(acc, dt, shape);
  }

  /** d index_select = index_add(zeros, dim, index, g). */
  public static Tensor indexSelectBackward(Ctx c, Tensor g) {
    return indexAdd(c.inputShape(0), g.dtype(), (int) c.scalar(0), c.saved(0).toLongArray(), g);
  }

  // ------------------------------------------------------------ gather

  public static Tensor gather(Tensor x, long dim, Tensor index) {
    checkIndexType(index, "gather");
    int d = Shapes.wrapDim(dim, x.dim());
    long[] shape = x.shape(), ishape = index.shape();
    if (Math.max(ishape.length, 1) != Math.max(shape.length, 1)) {
      throw new IllegalArgumentException(
          "Index tensor must have the same number of dimensions as input tensor");
    }
    for (int i = 0; i < ishape.length; i++) {
      if (i != d && ishape[i] > shape[i]) {
        throw new IllegalArgumentException(
            "Size does not match at dimension "
                + i
                + " expected index "
                + Shapes.str(ishape)
                + " to be smaller than self "
                + Shapes.str(shape)
                + " apart from dimension "
                + d);
      }
    }
    long[] offsets = offsets(shape, ishape, d, index.toLongArray());
    double[] v = x.detach().toDoubleArray();
    double[] out = new double[offsets.length];
    for (int k = 0; k < out.length; k++) out[k] = v[(int) offsets[k]];
    Tensor y = Torch.tensor(out, x.dtype(), ishape);
    if (Tape.needsRecord(x))
      Tape.record(Op.GATHER, y, new Tensor[] {x}, new Tensor[] {index}, new double[] {d}, null);
    return y;
  }

  /** For each index element (row-major), the row-major offset into x it reads. */
  static long[] offsets(long[] shape, long[] ishape, int d, long[] idx) {
    long[] xs = Shapes.contiguousStrides(shape);
    long[] out = new long[idx.length];
    long[] pos = new long[ishape.length];
    long size = shape.length == 0 ? 1 : shape[d];
    for (int k = 0; k < idx.length; k++) {
      long j = idx[k];
      if (j < 0 || j >= size) {
        throw new IndexOutOfBoundsException(
            "index " + j + " is out of bounds for dimension " + d + " with size " + size);
      }
      long off = 0;
      for (int i = 0; i < ishape.length; i++) off += (i == d ? j : pos[i]) * xs[i];
      out[k] = off;
      for (int i = ishape.length - 1; i >= 0; i--) {
        if (++pos[i] < ishape[i]) break;
        pos[i] = 0;
      }
    }
    return out;
  }

  /** d gather = scatter_add(zeros, dim, index, g). */
  public static Tensor gatherBackward(Ctx c, Tensor g) {
    long[] shape = c.inputShape(0);
    Tensor index = c.saved(0);
    long[] off = offsets(shape, index.shape(), (int) c.scalar(0), index.toLongArray());
    double[] acc = new double[Math.toIntExact(Shapes.numel(shape))];
    double[] v = g.detach().toDoubleArray();
    for (int k = 0; k < off.length; k++) acc[(int) off[k]] += v[k];
    return Torch.tensor(acc, g.dtype(), shape);
  }

  // ------------------------------------------------------------ embedding

  /** torch.nn.functional.embedding: rows of {@code weight} [V, D] at int64 {@code input}. */
  public static Tensor embedding(Tensor input, Tensor weight) {
    if (input.dtype() != DType.INT64) {
      throw new IllegalArgumentException(
          "Expected tensor for argument #1 'indices' to have one of the following scalar types:"
              + " Long, Int; but got torch."
              + Pointwise.scalarTypeName(input.dtype())
              + "Tensor instead (while checking arguments for embedding)");
    }
    if (weight.dim() != 2) throw new IllegalArgumentException("'weight' must be 2-D");
    long[] idx = input.toLongArray();
    long rows = weight.size(0), cols = weight.size(1);
    for (long i : idx) {
      if (i < 0 || i >= rows) throw new IndexOutOfBoundsException("index out of range in self");
    }
    double[] w = weight.detach().toDoubleArray();
    double[] out = new double[Math.toIntExact(idx.length * cols)];
    for (int k = 0; k < idx.length; k++)
      System.arraycopy(w, (int) (idx[k] * cols), out, (int) (k * cols), (int) cols);
    long[] is = input.shape();
    long[] outShape = java.util.Arrays.copyOf(is, is.length + 1);
    outShape[is.length] = cols;
    Tensor y = Torch.tensor(out, weight.dtype(), outShape);
    if (Tape.needsRecord(weight))
      Tape.record(Op.EMBEDDING, y, new Tensor[] {weight}, new Tensor[] {input}, null, null);
    return y;
  }

  /** d embedding = the rows of g added into a zero weight at the indices. */
  public static Tensor embeddingBackward(Ctx c, Tensor g) {
    long[] shape = c.inputShape(0);
    return indexAdd(shape, g.dtype(), 0, c.saved(0).toLongArray(), g);
  }
}
