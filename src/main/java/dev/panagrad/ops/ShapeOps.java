package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.SharedDims;
import dev.panagrad.Tensor;
import dev.panagrad.autograd.GradMode;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;
import java.util.Arrays;

/** Views and copies that change shape: every one shares storage unless it says it copies. */
public final class ShapeOps {
  private ShapeOps() {}

  static Tensor record(Op op, Tensor in, Tensor out, double[] sc, Object attr) {
    if (Tape.needsRecord(in)) {
      if (sc == null) Tape.record(op, out, in, attr);
      else Tape.record(op, out, new Tensor[] {in}, null, sc, attr);
    }
    return out;
  }

  /**
   * PyTorch's computeStride: strides that view {@code a} as {@code shape} without copying, or null
   * when some dim would span two non-contiguous chunks.
   */
  static long[] viewStrides(long[] oldShape, long[] oldStrides, long[] shape) {
    long[] out = new long[shape.length];
    if (Shapes.numel(oldShape) == 0) return Shapes.contiguousStrides(shape);
    int viewD = shape.length - 1;
    long chunkBase = oldStrides.length > 0 ? oldStrides[oldStrides.length - 1] : 1;
    long tensorNumel = 1, viewNumel = 1;
    for (int d = oldShape.length - 1; d >= 0; d--) {
      tensorNumel *= oldShape[d];
      if (d == 0 || (oldShape[d - 1] != 1 && oldStrides[d - 1] != tensorNumel * chunkBase)) {
        while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] == 1)) {
          out[viewD] = viewNumel * chunkBase;
          viewNumel *= shape[viewD];
          viewD--;
        }
        if (viewNumel != tensorNumel) return null;
        if (d > 0) {
          chunkBase = oldStrides[d - 1];
          tensorNumel = 1;
          viewNumel = 1;
        }
      }
    }
    if (viewD != -1) return null;
    return out;
  }

  /** {@link #viewStrides} for a; a row-major tensor's are the new shape's row-major strides. */
  private static long[] viewStridesOf(Tensor a, long[] shape) {
    long[] st = a.strideArray();
    if (st == SharedDims.rowMajorStrides(a.shapeArray())) return SharedDims.rowMajorStrides(shape);
    return viewStrides(a.shapeArray(), a.strideArray(), shape);
  }

  public static Tensor view(Tensor a, long... shape) {
    long[] sh = Shapes.inferSize(shape, a.numel());
    long[] st = viewStridesOf(a, sh);
    if (st == null) {
      throw new IllegalArgumentException(
          "view size is not compatible with input tensor's size and stride (at least one"
              + " dimension spans across two contiguous subspaces). Use .reshape(...) instead.");
    }
    return record(Op.VIEW, a, a.rawView(sh, st, a.storageOffset()), null, null);
  }

  public static Tensor reshape(Tensor a, long... shape) {
    long[] sh = Shapes.inferSize(shape, a.numel());
    long[] st = viewStridesOf(a, sh);
    if (st != null) {
      return record(Op.RESHAPE_ALIAS, a, a.rawView(sh, st, a.storageOffset()), null, null);
    }
    Tensor c;
    try (var ng = GradMode.noGrad()) {
      c = clone(a);
    }
    Tensor out = c.rawView(sh, Shapes.contiguousStrides(sh), 0).detach();
    return record(Op.UNSAFE_VIEW, a, out, null, null);
  }

  /** A view with a new shape that the caller knows is contiguous-compatible (matmul, linear). */
  static Tensor unsafeView(Tensor a, long... shape) {
    Tensor c = a.isContiguous() ? a : contiguousNoGrad(a);
    Tensor out =
        c.detach().rawView(shape, Shapes.contiguousStrides(shape), c.storageOffset()).detach();
    return record(Op.UNSAFE_VIEW, a, out, null, null);
  }

  static Tensor contiguousNoGrad(Tensor a) {
    try (var ng = GradMode.noGrad()) {
      return clone(a);
    }
  }

  public static Tensor flatten(Tensor a, long startDim, long endDim) {
    int r = a.dim();
    if (r == 0) return reshape(a, 1);
    int s = Shapes.wrapDim(startDim, r), e = Shapes.wrapDim(endDim, r);
    if (s > e)
      throw new IllegalArgumentException(
          "flatten() has invalid args: start_dim cannot come after end_dim");
    if (s == e) return a;
    long[] sh = a.shapeArray(); // read only
    long m = 1;
    for (int i = s; i <= e; i++) m *= sh[i];
    // one or two dimensions left (a batch's features, flatten(1)): the shared shape, no array
    int n = r - (e - s);
    if (n == 1) return reshape(a, SharedDims.of(m));
    if (n == 2) return reshape(a, s == 0 ? SharedDims.of(m, sh[r - 1]) : SharedDims.of(sh[0], m));
    long[] out = new long[n];
    int j = 0;
    for (int i = 0; i < s; i++) out[j++] = sh[i];
    out[j++] = m;
    for (int i = e + 1; i < r; i++) out[j++] = sh[i];
    return reshape(a, out);
  }

  public static Tensor t(Tensor a) {
    if (a.dim() > 2) {
      throw new IllegalArgumentException(
          "t() expects a tensor with <= 2 dimensions, but self is " + a.dim() + "D");
    }
    if (a.dim() < 2)
      return record(
          Op.T, a, a.rawView(a.shapeArray(), a.strideArray(), a.storageOffset()), null, null);
    return record(Op.T, a, swapped(a, 0, 1), null, null);
  }

  static Tensor swapped(Tensor a, int d0, int d1) {
    long[] sh = a.shapeArray(), st = a.strideArray();
    if (sh.length == 2 && d0 != d1) { // a matrix's transpose, found without making arrays
      return a.rawView(SharedDims.of(sh[1], sh[0]), SharedDims.of(st[1], st[0]), a.storageOffset());
    }
    sh = sh.clone();
    st = st.clone();
    long x = sh[d0];
    sh[d0] = sh[d1];
    sh[d1] = x;
    x = st[d0];
    st[d0] = st[d1];
    st[d1] = x;
    return a.rawView(sh, st, a.storageOffset());
  }

  public static Tensor transpose(Tensor a, long dim0, long dim1) {
    int d0 = Shapes.wrapDim(dim0, a.dim()), d1 = Shapes.wrapDim(dim1, a.dim());
    Tensor out =
        a.dim() == 0 ? a.rawView(a.shape(), a.stride(), a.storageOffset()) : swapped(a, d0, d1);
    return record(Op.TRANSPOSE, a, out, new double[] {d0, d1}, null);
  }

  public static Tensor permute(Tensor a, long... dims) {
    int r = a.dim();
    if (dims.length != r) {
      throw new IllegalArgumentException(
          "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = "
              + r
              + " is not equal to len(dims) = "
              + dims.length);
    }
    long[] sh = a.shape(), st = a.stride(), nsh = new long[r], nst = new long[r];
    int[] perm = new int[r];
    boolean[] seen = new boolean[r];
    for (int i = 0; i < r; i++) {
      int d = Shapes.wrapDim(dims[i], r);
      if (seen[d]) throw new IllegalArgumentException("permute(): duplicate dims are not allowed.");
      seen[d] = true;
      perm[i] = d;
      nsh[i] = sh[d];
      nst[i] = st[d];
    }
    return record(Op.PERMUTE, a, a.rawView(nsh, nst, a.storageOffset()), null, perm);
  }

  public static Tensor unsqueeze(Tensor a, long dim) {
    int d = Shapes.wrapDim(dim, a.dim() + 1);
    long[] sh = a.shape(), st = a.stride();
    long[] nsh = new long[sh.length + 1], nst = new long[sh.length + 1];
    for (int i = 0, j = 0; i <= sh.length; i++) {
      if (i == d) {
        nsh[i] = 1;
        nst[i] = d < sh.length ? sh[d] * st[d] : 1;
      } else {
        nsh[i] = sh[j];
        nst[i] = st[j++];
      }
    }
    return record(Op.UNSQUEEZE, a, a.rawView(nsh, nst, a.storageOffset()), new double[] {d}, null);
  }

  public static Tensor squeeze(Tensor a) {
    return record(Op.SQUEEZE, a, squeezed(a, -1), null, null);
  }

  public static Tensor squeeze(Tensor a, long dim) {
    int d = Shapes.wrapDim(dim, a.dim());
    Tensor out =
        a.dim() == 0 || a.shapeArray()[d] != 1
            ? a.rawView(a.shape(), a.stride(), a.storageOffset())
            : squeezed(a, d);
    return record(Op.SQUEEZE_DIM, a, out, null, null);
  }

  /** Dim i's size after expanding {@code sh} to {@code size}, with PyTorch's errors. */
  private static long expandedSize(long[] sh, long[] size, int i) {
    int j = i - (size.length - sh.length);
    long want = size[i];
    if (j < 0) {
      if (want < 0)
        throw new IllegalArgumentException(
            "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension "
                + i);
      return want;
    }
    if (want == -1) want = sh[j];
    if (sh[j] == want || sh[j] == 1) return want;
    throw new IllegalArgumentException(
        "The expanded size of the tensor ("
            + want
            + ") must match the existing size ("
            + sh[j]
            + ") at non-singleton dimension "
            + i
            + ".  Target sizes: "
            + Shapes.str(size)
            + ".  Tensor sizes: "
            + Shapes.str(sh));
  }

  /** Dim i's stride after expanding (0 where a dim is new or broadcast); size checked first. */
  private static long expandedStride(long[] sh, long[] st, long[] size, int i) {
    int j = i - (size.length - sh.length);
    if (j < 0) return 0;
    long want = size[i] == -1 ? sh[j] : size[i];
    return sh[j] == want ? st[j] : 0;
  }

  /** Drops size-1 dim {@code only}, or every size-1 dim when {@code only} is -1. */
  static Tensor squeezed(Tensor a, int only) {
    long[] sh = a.shape(), st = a.stride();
    int n = 0;
    for (int i = 0; i < sh.length; i++) if (!(sh[i] == 1 && (only < 0 || only == i))) n++;
    long[] nsh = new long[n], nst = new long[n];
    for (int i = 0, j = 0; i < sh.length; i++) {
      if (sh[i] == 1 && (only < 0 || only == i)) continue;
      nsh[j] = sh[i];
      nst[j++] = st[i];
    }
    return a.rawView(nsh, nst, a.storageOffset());
  }

  public static Tensor expand(Tensor a, long... size) {
    long[] sh = a.shapeArray(), st = a.strideArray();
    if (size.length < sh.length) {
      throw new IllegalArgumentException(
          "expand("
              + Tensor.class.getSimpleName()
              + "{"
              + Shapes.str(sh)
              + "}, size="
              + Shapes.str(size)
              + "): the number of sizes provided ("
              + size.length
              + ") must be greater or equal to the number of dimensions in the tensor ("
              + sh.length
              + ")");
    }
    long[] nsh, nst;
    if (size.length == 2) { // a matrix (a gradient broadcast back): no arrays made
      nsh = SharedDims.of(expandedSize(sh, size, 0), expandedSize(sh, size, 1));
      nst = SharedDims.of(expandedStride(sh, st, size, 0), expandedStride(sh, st, size, 1));
    } else {
      nsh = new long[size.length];
      nst = new long[size.length];
      for (int i = size.length - 1; i >= 0; i--) {
        nsh[i] = expandedSize(sh, size, i);
        nst[i] = expandedStride(sh, st, size, i);
      }
    }
    return record(Op.EXPAND, a, a.rawView(nsh, nst, a.storageOffset()), null, null);
  }

  public static Tensor narrow(Tensor a, long dim, long start, long length) {
    if (a.dim() == 0)
      throw new IllegalArgumentException("narrow() cannot be applied to a 0-dim tensor.");
    int d = Shapes.wrapDim(dim, a.dim());
    long size = a.shapeArray()[d];
    if (start < 0) start += size;
    if (start < 0 || start > size) {
      throw new IndexOutOfBoundsException(
          "start out of range (expected to be in range of ["
              + (-size)
              + ", "
              + size
              + "], but got "
              + start
              + ")");
    }
    if (length < 0 || start + length > size) {
      throw new IndexOutOfBoundsException(
          "start (" + start + ") + length (" + length + ") exceeds dimension size (" + size + ").");
    }
    long[] sh = a.shape();
    sh[d] = length;
    Tensor out = a.rawView(sh, a.stride(), a.storageOffset() + start * a.strideArray()[d]);
    return record(Op.SLICE, a, out, new double[] {d, start, length}, null);
  }

  public static Tensor select(Tensor a, long dim, long index) {
    if (a.dim() == 0)
      throw new IndexOutOfBoundsException("select() cannot be applied to a 0-dim tensor.");
    int d = Shapes.wrapDim(dim, a.dim());
    long size = a.shapeArray()[d];
    if (index < -size || index >= size) {
      throw new IndexOutOfBoundsException(
          "select(): index "
              + index
              + " out of range for tensor of size "
              + Shapes.str(a.shape())
              + " at dimension "
              + d);
    }
    if (index < 0) index += size;
    long[] sh = a.shape(), st = a.stride();
    long[] nsh = new long[sh.length - 1], nst = new long[sh.length - 1];
    for (int i = 0, j = 0; i < sh.length; i++) {
      if (i == d) continue;
      nsh[j] = sh[i];
      nst[j++] = st[i];
    }
    Tensor out = a.rawView(nsh, nst, a.storageOffset() + index * st[d]);
    return record(Op.SELECT, a, out, new double[] {d, index}, null);
  }

  /** A contiguous copy; records CloneBackward0. */
  public static Tensor clone(Tensor a) {
    Tensor out = Tensor.emptyShaped(a.dtype(), a); // contiguous, sharing a's shape array
    Pointwise.copyInto(out, a);
    return record(Op.CLONE, a, out, null, null);
  }

  public static Tensor contiguous(Tensor a) {
    return a.isContiguous() ? a : clone(a);
  }

  /** A copy converted to {@code dt} (the same tensor when it already has that dtype). */
  public static Tensor to(Tensor a, DType dt) {
    if (a.dtype() == dt) return a;
    Tensor out = Tensor.empty(dt, a.shape());
    Pointwise.copyInto(out, a);
    if (dt.isFloatingPoint()) return record(Op.TO_COPY, a, out, null, null);
    return out;
  }

  public static Tensor cat(Tensor[] ts, long dim) {
    if (ts.length == 0)
      throw new IllegalArgumentException("torch.cat(): expected a non-empty list of Tensors");
    Tensor first = ts[0];
    int d = Shapes.wrapDim(dim, first.dim());
    long[] sh = first.shape();
    DType dt = first.dtype();
    long total = 0;
    long[] sizes = new long[ts.length];
    for (int i = 0; i < ts.length; i++) {
      long[] s = ts[i].shape();
      if (s.length != sh.length) {
        throw new IllegalArgumentException(
            "Tensors must have same number of dimensions: got " + sh.length + " and " + s.length);
      }
      for (int k = 0; k < s.length; k++) {
        if (k != d && s[k] != sh[k]) {
          throw new IllegalArgumentException(
              "Sizes of tensors must match except in dimension "
                  + d
                  + ". Expected size "
                  + sh[k]
                  + " but got size "
                  + s[k]
                  + " for tensor number "
                  + i
                  + " in the list.");
        }
      }
      sizes[i] = s[d];
      total += s[d];
      dt = DType.promote(dt, ts[i].dtype());
    }
    sh[d] = total;
    Tensor out = Tensor.empty(dt, sh);
    long at = 0;
    for (int i = 0; i < ts.length; i++) {
      long[] osh = out.shape();
      osh[d] = sizes[i];
      Tensor dst = out.rawView(osh, out.stride(), at * out.strideArray()[d]);
      Pointwise.copyInto(dst, ts[i]);
      at += sizes[i];
    }
    if (Tape.needsRecord(ts)) Tape.record(Op.CAT, out, ts.clone(), null, new double[] {d}, sizes);
    return out;
  }

  public static Tensor stack(Tensor[] ts, long dim) {
    if (ts.length == 0) throw new IllegalArgumentException("stack expects a non-empty TensorList");
    int d = Shapes.wrapDim(dim, ts[0].dim() + 1);
    for (Tensor t : ts) {
      if (!Arrays.equals(t.shape(), ts[0].shape())) {
        throw new IllegalArgumentException(
            "stack expects each tensor to be equal size, but got "
                + Shapes.str(ts[0].shape())
                + " at entry 0 and "
                + Shapes.str(t.shape())
                + " at entry "
                + Arrays.asList(ts).indexOf(t));
      }
    }
    boolean record = Tape.needsRecord(ts);
    Tensor[] parts = new Tensor[ts.length];
    Tensor out;
    try (var ng = GradMode.noGrad()) {
      for (int i = 0; i < ts.length; i++) parts[i] = unsqueeze(ts[i], d);
      out = cat(parts, d);
    }
    if (record) Tape.record(Op.STACK, out, ts.clone(), null, new double[] {d}, null);
    return out;
  }
}
