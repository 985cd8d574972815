package dev.panagrad;

import dev.panagrad.autograd.Autograd;
import dev.panagrad.autograd.CopySlices;
import dev.panagrad.autograd.GradMode;
import dev.panagrad.autograd.Node;
import dev.panagrad.autograd.Tape;
import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.UnaryOp;
import dev.panagrad.memory.HasStorage;
import dev.panagrad.memory.Recorder;
import dev.panagrad.memory.Scope;
import dev.panagrad.memory.Storage;
import dev.panagrad.ops.Elementwise;
import dev.panagrad.ops.LinearAlgebra;
import dev.panagrad.ops.Pointwise;
import dev.panagrad.ops.Reductions;
import dev.panagrad.ops.ShapeOps;
import dev.panagrad.random.Generator;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.logging.Logger;

/**
 * An n-dimensional array in native memory: a view (shape, strides, offset, dtype) over a {@link
 * Storage}. Views share their storage and its version counter with the tensor they came from.
 *
 * {@snippet :
 * import static dev.panagrad.Torch.*;
 * Tensor w = randn(3, 2);
 * Tensor row = w.select(0, 1);   // a view: writes to row are seen in w
 * System.out.println(w.t());     // tensor([[...]]) as PyTorch prints it
 * }
 */
public final class Tensor implements HasStorage {
  private final Storage storage;

  /** The storage's generation this handle was made under (Note [Storage generations]). */
  private final int storageGen;

  private final long[] shape;
  private final long[] strides;
  private final long offset;
  private final DType dtype;

  /** The tensor whose storage this one views, or null when this is not a view. */
  private final Tensor base;

  // Autograd state. A tensor with a tape row is a non-leaf; see Tape, Note [Tape lifetime].
  private Tape tape;
  private int entry = -1;
  private int gen;
  private Tape.Handle handle;

  /** What few tensors need (leaves that require grad, retained or hooked tensors), or null. */
  private LeafState leafState;

  /**
   * The autograd fields most results never set, kept apart so that a plain result handle stays
   * within 64 bytes: an eager op allocates one handle per result, and this is most of its size.
   */
  private static final class LeafState {
    boolean requiresGrad;
    boolean retainsGrad;
    Tensor grad;
    List<UnaryOperator<Tensor>> hooks;
    java.lang.ref.WeakReference<Tensor> weakSelf;
  }

  private LeafState leafState() {
    if (leafState == null) leafState = new LeafState();
    return leafState;
  }

  private static final Logger LOG = Logger.getLogger("dev.panagrad");
  private static volatile boolean warnedNonLeafGrad;

  /** A handle on fresh {@code storage}, or a view of live {@code base}'s storage. */
  Tensor(Storage storage, long[] shape, long[] strides, long offset, DType dtype, Tensor base) {
    this(storage, storage.generation(), shape, strides, offset, dtype, base);
  }

  private Tensor(
      Storage storage,
      int storageGen,
      long[] shape,
      long[] strides,
      long offset,
      DType dtype,
      Tensor base) {
    this.storage = storage;
    this.storageGen = storageGen;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    this.dtype = dtype;
    this.base = base == null ? null : (base.base != null ? base.base : base);
  }

  /** A new contiguous, uninitialised tensor. */
  public static Tensor empty(DType dtype, long... shape) {
    return emptyWithRoom(dtype, shape, 0);
  }

  /**
   * {@link #empty(DType, long...)} whose storage has {@code roomBytes} more after the elements: for
   * data an op keeps with its output for its backward (max pooling's argmax), so that it lives and
   * dies with the output's storage and costs no tensor handle of its own. The room is not part of
   * the tensor: no op on the tensor reads or writes it.
   */
  public static Tensor emptyWithRoom(DType dtype, long[] shape, long roomBytes) {
    Storage storage = allocate(dtype, shape, roomBytes); // checks the shape before it is shared
    long[] sh = SharedDims.of(shape);
    return new Tensor(storage, sh, SharedDims.rowMajorStrides(sh), 0, dtype, null);
  }

  /** {@link #empty(DType, long...)} for a matrix, finding its shape without making an array. */
  public static Tensor empty(DType dtype, long rows, long cols) {
    long[] sh = SharedDims.of(rows, cols);
    return new Tensor(allocate(dtype, sh), sh, SharedDims.rowMajorStrides(sh), 0, dtype, null);
  }

  /**
   * A new contiguous, uninitialised tensor of {@code like}'s shape, for the elementwise fast paths.
   * It shares {@code like}'s shape array, and its strides when they are the default ones: both are
   * never modified after construction, so a result of the same shape as its input allocates no
   * arrays.
   */
  public static Tensor emptyShaped(DType dtype, Tensor like) {
    long[] sh = like.shape;
    long[] st = like.hasDefaultStrides() ? like.strides : SharedDims.rowMajorStrides(sh);
    return new Tensor(allocate(dtype, sh), sh, st, 0, dtype, null);
  }

  /** True when the strides are exactly {@link Shapes#contiguousStrides} of the shape. */
  boolean hasDefaultStrides() {
    long expected = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      if (strides[i] != expected) return false;
      expected *= Math.max(shape[i], 1);
    }
    return true;
  }

  /** Storage for a tensor of {@code sh}, with the shape and dtype in any failure's message. */
  private static Storage allocate(DType dtype, long[] sh) {
    return allocate(dtype, sh, 0);
  }

  /** {@link #allocate(DType, long[])} with {@code roomBytes} more (see {@link #emptyWithRoom}). */
  private static Storage allocate(DType dtype, long[] sh, long roomBytes) {
    long n = Shapes.numel(sh);
    if (n == 1 && roomBytes == 0) {
      // One element made in a scope: the next slot of the scope's slot block (Note [Scalar slots]
      // in Storage); none outside scopes or while a step is captured.
      Scope scope = Scope.current();
      Storage slot = scope == null ? null : scope.takeSlot(dtype.byteSize());
      if (slot != null) return slot;
    }
    long bytes;
    try {
      bytes = Math.addExact(Math.multiplyExact(n, (long) dtype.byteSize()), roomBytes);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(
          "shape " + Shapes.str(sh) + " of " + dtype + " needs more bytes than fit in a long");
    }
    Storage storage;
    try {
      storage = Storage.allocate(bytes);
    } catch (OutOfMemoryError e) {
      throw new OutOfMemoryError(
          "cannot allocate a tensor of shape "
              + Shapes.str(sh)
              + " ("
              + dtype
              + "): "
              + e.getMessage());
    }
    return storage;
  }

  /**
   * A new contiguous, uninitialised tensor that no scope owns, whatever scope is open: the garbage
   * collector releases it, or its owner does at once through {@code storage().releaseIfUnscoped}.
   */
  public static Tensor emptyUnscoped(DType dtype, long... shape) {
    Storage storage =
        Storage.allocateUnscoped(Math.multiplyExact(Shapes.numel(shape), dtype.byteSize()));
    long[] sh = SharedDims.of(shape);
    return new Tensor(storage, sh, SharedDims.rowMajorStrides(sh), 0, dtype, null);
  }

  /**
   * A view of this tensor's storage with another geometry, recording nothing: the primitive the
   * view ops in {@code dev.panagrad.ops} build on. Checks the geometry stays inside the storage.
   */
  public Tensor rawView(long[] shape, long[] strides, long offset) {
    segment();
    long lo = offset, hi = offset;
    boolean empty = false;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] == 0) empty = true;
      long span = (shape[i] - 1) * strides[i];
      if (span < 0) lo += span;
      else hi += span;
    }
    if (!empty && (lo < 0 || (hi + 1) * dtype.byteSize() > storage.byteSize())) {
      throw new IllegalArgumentException(
          "view of shape "
              + Shapes.str(shape)
              + " with strides "
              + Shapes.str(strides)
              + " and offset "
              + offset
              + " is out of bounds for a storage of "
              + storage.byteSize() / dtype.byteSize()
              + " elements");
    }
    // Shared arrays, not copies: the caller may go on changing its own (SharedDims keeps copies).
    return new Tensor(
        storage, storageGen, SharedDims.of(shape), SharedDims.of(strides), offset, dtype, this);
  }

  // ---------------------------------------------------------------- geometry

  /** The storage; throws, as every access does, when this handle's generation of it ended. */
  @Override
  public Storage storage() {
    live();
    return storage;
  }

  public DType dtype() {
    return dtype;
  }

  /** The sizes; a copy (PyTorch's {@code t.shape}). */
  public long[] shape() {
    return shape.clone();
  }

  /** Same as {@link #shape()}, PyTorch's {@code t.size()}; pass it to factories. */
  public long[] size() {
    return shape.clone();
  }

  public long size(long dim) {
    return shape[Shapes.wrapDim(dim, shape.length)];
  }

  public long[] stride() {
    return strides.clone();
  }

  public long stride(long dim) {
    return strides[Shapes.wrapDim(dim, shape.length)];
  }

  public long storageOffset() {
    return offset;
  }

  public int dim() {
    return shape.length;
  }

  public long numel() {
    return Shapes.numel(shape);
  }

  /** The tensor this one is a view of (PyTorch's {@code ._base}), or null. */
  public Tensor base() {
    return base;
  }

  public boolean isView() {
    return base != null;
  }

  public boolean isContiguous() {
    long expected = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      if (shape[i] == 1) continue;
      if (shape[i] == 0) return true;
      if (strides[i] != expected) return false;
      expected *= shape[i];
    }
    return true;
  }

  /** True when writing to this tensor could write one memory location twice (an expand). */
  boolean hasInternalOverlap() {
    for (long d : shape) if (d == 0) return false; // nothing to write, nothing to overlap
    for (int i = 0; i < shape.length; i++) if (strides[i] == 0 && shape[i] > 1) return true;
    return false;
  }

  // Internal access for kernels and ops: the shape and strides arrays without copying.
  long[] shapeRef() {
    return shape;
  }

  long[] stridesRef() {
    return strides;
  }

  /**
   * This tensor, its storage given the lifetime of {@code other}'s (for a leaf's gradient or an
   * optimizer's state, which live as long as the leaf); a tensor on a slot block's slot (Note
   * [Scalar slots] in Storage), which cannot leave its block alone, comes back as a copy with a
   * storage of its own.
   */
  public Tensor withLifetimeOf(Tensor other) {
    Storage target = other.storage();
    Tensor t = this;
    if (storage().isSlot()) {
      t = emptyUnscoped(dtype, shape);
      try (var off = GradMode.noGrad()) {
        t.copy_(this);
      }
      if (!isLeaf()) CopySlices.moveHistory(this, t); // the copy is the op's result now
      else if (requiresGrad()) t.requiresGrad_(true);
    }
    t.storage.shareLifetimeWith(target);
    return t;
  }

  /** The segment, or {@link IllegalStateException} naming this tensor if it was released. */
  public MemorySegment segment() {
    MemorySegment s = storage.segmentIfLive(storageGen);
    if (s == null) throw usedAfterRelease();
    return s;
  }

  /**
   * The bytes, when the storage's version is still {@code version}, else null: autograd's check of
   * a saved tensor and its read in one generation check. Refuses a released tensor, as {@link
   * #segment()} does.
   */
  public MemorySegment segmentAtVersion(int version) {
    MemorySegment s = segment();
    return storage.version() == version ? s : null;
  }

  /**
   * This tensor, after checking its storage was not released: every op starts here. A released
   * storage may already serve another tensor; the generation check is what keeps this handle from
   * reaching it (Note [Storage generations] in {@code Storage}).
   */
  Tensor live() {
    if (storage.generation() != storageGen) throw usedAfterRelease();
    return this;
  }

  IllegalStateException usedAfterRelease() {
    return new IllegalStateException(
        "a tensor of shape "
            + Shapes.str(shape)
            + " ("
            + dtype
            + ") was used after its storage was released: "
            + storage.releasedBy(storageGen)
            + ". Keep it with scope.keep(t), or copy what you need before the scope closes.");
  }

  // ---------------------------------------------------------------- elements

  private long elementOffset(long[] index) {
    if (index.length != shape.length) {
      throw new IndexOutOfBoundsException(
          "expected "
              + shape.length
              + " indices for a tensor of shape "
              + Shapes.str(shape)
              + ", got "
              + index.length);
    }
    long off = offset;
    for (int i = 0; i < index.length; i++) {
      long ix = index[i] < 0 ? index[i] + shape[i] : index[i];
      if (ix < 0 || ix >= shape[i]) {
        throw new IndexOutOfBoundsException(
            "index "
                + index[i]
                + " is out of bounds for dimension "
                + i
                + " with size "
                + shape[i]);
      }
      off += ix * strides[i];
    }
    return off;
  }

  /** The element at {@code index} as a double (PyTorch's {@code t[i, j].item()}). */
  public double get(long... index) {
    return Elements.get(segment(), dtype, elementOffset(index));
  }

  /** The element at {@code index} as a long (exact for int64). */
  public long getLong(long... index) {
    return Elements.getLong(segment(), dtype, elementOffset(index));
  }

  /** Writes one element in place; bumps the version counter like any in-place write. */
  public Tensor set(double value, long... index) {
    MemorySegment s = segment();
    Elements.put(s, dtype, elementOffset(index), value);
    storage.bumpVersion();
    return this;
  }

  /** The value of a one-element tensor, PyTorch's {@code item()}. */
  public double item() {
    MemorySegment s = segment(); // checks the storage is live first, as every access does
    if (!Shapes.isOneElement(shape)) {
      throw new IllegalArgumentException(
          "a Tensor with " + numel() + " elements cannot be converted to Scalar");
    }
    return Elements.get(s, dtype, offset);
  }

  /** The element at row-major position {@code i}, whatever the strides. */
  double getFlat(long i) {
    return Elements.get(segment(), dtype, flatToOffset(i));
  }

  long getLongFlat(long i) {
    return Elements.getLong(segment(), dtype, flatToOffset(i));
  }

  long flatToOffset(long i) {
    long off = offset;
    for (int d = shape.length - 1; d >= 0; d--) {
      long n = shape[d];
      off += (i % n) * strides[d];
      i /= n;
    }
    return off;
  }

  /** The elements in row-major order. */
  public float[] toFloatArray() {
    Recorder.refuse(
        "an op reading tensor data into Java", "its result would keep the captured values");
    float[] out = new float[Math.toIntExact(numel())];
    Tensor c = isContiguous() ? this : ShapeOps.contiguous(detach());
    MemorySegment s = c.segment();
    long o = c.offset;
    if (dtype == DType.FLOAT32) {
      MemorySegment.copy(s, java.lang.foreign.ValueLayout.JAVA_FLOAT, o * 4, out, 0, out.length);
    } else {
      for (int i = 0; i < out.length; i++) out[i] = (float) Elements.get(s, dtype, o + i);
    }
    return out;
  }

  public double[] toDoubleArray() {
    Recorder.refuse(
        "an op reading tensor data into Java", "its result would keep the captured values");
    double[] out = new double[Math.toIntExact(numel())];
    Tensor c = isContiguous() ? this : ShapeOps.contiguous(detach());
    MemorySegment s = c.segment();
    long o = c.offset;
    switch (dtype) {
      case FLOAT64 ->
          MemorySegment.copy(
              s, java.lang.foreign.ValueLayout.JAVA_DOUBLE, o * 8, out, 0, out.length);
      case FLOAT32 -> {
        for (int i = 0; i < out.length; i++) {
          out[i] = s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, o + i);
        }
      }
      default -> {
        for (int i = 0; i < out.length; i++) out[i] = Elements.get(s, dtype, o + i);
      }
    }
    return out;
  }

  public long[] toLongArray() {
    Recorder.refuse(
        "an op reading tensor data into Java", "its result would keep the captured values");
    long[] out = new long[Math.toIntExact(numel())];
    Tensor c = isContiguous() ? this : ShapeOps.contiguous(detach());
    MemorySegment s = c.segment();
    for (int i = 0; i < out.length; i++) out[i] = Elements.getLong(s, dtype, c.offset + i);
    return out;
  }

  public boolean[] toBooleanArray() {
    Recorder.refuse(
        "an op reading tensor data into Java", "its result would keep the captured values");
    boolean[] out = new boolean[Math.toIntExact(numel())];
    for (int i = 0; i < out.length; i++) out[i] = getFlat(i) != 0;
    return out;
  }

  /** A tensor over a fresh storage big enough for {@code shape} at {@code strides}. */
  public static Tensor emptyStrided(DType dtype, long[] shape, long[] strides) {
    long extent = 1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] == 0) {
        extent = 0;
        break;
      }
      extent += (shape[i] - 1) * Math.abs(strides[i]);
    }
    Tensor flat = empty(dtype, extent); // a fresh tensor, at offset 0 of its storage or slot
    return new Tensor(flat.storage, shape.clone(), strides.clone(), 0, dtype, null);
  }

  // ---------------------------------------------------------------- views and shape

  public Tensor view(long... shape) {
    return ShapeOps.view(live(), shape);
  }

  public Tensor reshape(long... shape) {
    return ShapeOps.reshape(live(), shape);
  }

  public Tensor flatten() {
    return ShapeOps.flatten(live(), 0, -1);
  }

  public Tensor flatten(long startDim, long endDim) {
    return ShapeOps.flatten(live(), startDim, endDim);
  }

  public Tensor flatten(long startDim) {
    return ShapeOps.flatten(live(), startDim, -1);
  }

  public Tensor t() {
    return ShapeOps.t(live());
  }

  public Tensor transpose(long dim0, long dim1) {
    return ShapeOps.transpose(live(), dim0, dim1);
  }

  public Tensor permute(long... dims) {
    return ShapeOps.permute(live(), dims);
  }

  public Tensor unsqueeze(long dim) {
    return ShapeOps.unsqueeze(live(), dim);
  }

  public Tensor squeeze() {
    return ShapeOps.squeeze(live());
  }

  public Tensor squeeze(long dim) {
    return ShapeOps.squeeze(live(), dim);
  }

  public Tensor expand(long... size) {
    return ShapeOps.expand(live(), size);
  }

  public Tensor expandAs(Tensor other) {
    return ShapeOps.expand(live(), other.shape);
  }

  public Tensor narrow(long dim, long start, long length) {
    return ShapeOps.narrow(live(), dim, start, length);
  }

  public Tensor select(long dim, long index) {
    return ShapeOps.select(live(), dim, index);
  }

  /** PyTorch's {@code t[i, j, ...]} with integer indices: a view, one select per index. */
  public Tensor index(long... indices) {
    Tensor r = this;
    for (long i : indices) r = r.select(0, i);
    return r;
  }

  /**
   * PyTorch's {@code t[i, j, ...] = value}: writes into the indexed view; with autograd, this
   * tensor's grad_fn becomes {@code CopySlices}.
   */
  public Tensor indexPut_(Tensor value, long... indices) {
    Tensor view;
    try (var ng = GradMode.noGrad()) {
      view = index(indices);
    }
    view.copy_(value);
    return this;
  }

  public Tensor contiguous() {
    return ShapeOps.contiguous(live());
  }

  public Tensor clone() {
    return ShapeOps.clone(live());
  }

  /** A copy converted to {@code dtype} (this tensor when it already has it). */
  public Tensor to(DType dtype) {
    return ShapeOps.to(live(), dtype);
  }

  public Tensor float_() {
    return to(DType.FLOAT32);
  }

  public Tensor double_() {
    return to(DType.FLOAT64);
  }

  public Tensor long_() {
    return to(DType.INT64);
  }

  // ---------------------------------------------------------------- pointwise

  public Tensor neg() {
    return Elementwise.neg(live());
  }

  public Tensor exp() {
    return Elementwise.exp(live());
  }

  public Tensor log() {
    return Elementwise.log(live());
  }

  public Tensor sqrt() {
    return Elementwise.sqrt(live());
  }

  public Tensor abs() {
    return Elementwise.abs(live());
  }

  public Tensor tanh() {
    return Elementwise.tanh(live());
  }

  public Tensor sigmoid() {
    return Elementwise.sigmoid(live());
  }

  public Tensor relu() {
    return Elementwise.relu(live());
  }

  public Tensor sin() {
    return Elementwise.sin(live());
  }

  public Tensor cos() {
    return Elementwise.cos(live());
  }

  public Tensor reciprocal() {
    return Elementwise.reciprocal(live());
  }

  /** The sign (-1, 0, 1), as PyTorch's sgn for real tensors; not differentiable. */
  public Tensor sgn() {
    return Pointwise.unary(this, dtype, v -> Double.isNaN(v) ? v : Math.signum(v));
  }

  /** erf, not differentiable here (used by GELU's backward). */
  public Tensor erf() {
    return Pointwise.unary(this, dtype.isFloatingPoint() ? dtype : DType.FLOAT32, Elementwise::erf);
  }

  public Tensor add(Tensor other) {
    return Elementwise.add(live(), other, 1);
  }

  public Tensor add(Tensor other, double alpha) {
    return Elementwise.add(live(), other, alpha);
  }

  public Tensor add(double other) {
    return Elementwise.add(live(), other);
  }

  public Tensor sub(Tensor other) {
    return Elementwise.sub(live(), other, 1);
  }

  public Tensor sub(Tensor other, double alpha) {
    return Elementwise.sub(live(), other, alpha);
  }

  public Tensor sub(double other) {
    return Elementwise.sub(live(), other);
  }

  /** {@code other - this}: PyTorch's rsub, what {@code 2 - t} means in Python. */
  public Tensor rsub(double other) {
    return Elementwise.rsub(live(), other);
  }

  public Tensor mul(Tensor other) {
    return Elementwise.mul(live(), other);
  }

  public Tensor mul(double other) {
    return Elementwise.mul(live(), other);
  }

  public Tensor div(Tensor other) {
    return Elementwise.div(live(), other);
  }

  public Tensor div(double other) {
    return Elementwise.div(live(), other);
  }

  public Tensor pow(double exponent) {
    return Elementwise.pow(live(), exponent);
  }

  public Tensor pow(Tensor exponent) {
    return Elementwise.pow(live(), exponent);
  }

  public Tensor clamp(double min) {
    return Elementwise.clamp(live(), min, Double.POSITIVE_INFINITY);
  }

  public Tensor clamp(double min, double max) {
    return Elementwise.clamp(live(), min, max);
  }

  public Tensor clampMax(double max) {
    return Elementwise.clamp(live(), Double.NEGATIVE_INFINITY, max);
  }

  public Tensor maximum(Tensor other) {
    return Elementwise.maximum(live(), other);
  }

  public Tensor minimum(Tensor other) {
    return Elementwise.minimum(live(), other);
  }

  public Tensor maskedFill(Tensor mask, double value) {
    return Elementwise.maskedFill(live(), mask, value);
  }

  // comparisons: bool results, no gradient
  public Tensor eq(Tensor o) {
    return Elementwise.compare(live(), o, (x, y) -> x == y ? 1 : 0);
  }

  public Tensor eq(double o) {
    return Pointwise.unary(this, DType.BOOL, x -> x == o ? 1 : 0);
  }

  public Tensor gt(Tensor o) {
    return Elementwise.compare(live(), o, (x, y) -> x > y ? 1 : 0);
  }

  public Tensor gt(double o) {
    return Pointwise.unary(this, DType.BOOL, x -> x > o ? 1 : 0);
  }

  public Tensor ge(Tensor o) {
    return Elementwise.compare(live(), o, (x, y) -> x >= y ? 1 : 0);
  }

  public Tensor ge(double o) {
    return Pointwise.unary(this, DType.BOOL, x -> x >= o ? 1 : 0);
  }

  public Tensor lt(Tensor o) {
    return Elementwise.compare(live(), o, (x, y) -> x < y ? 1 : 0);
  }

  public Tensor lt(double o) {
    return Pointwise.unary(this, DType.BOOL, x -> x < o ? 1 : 0);
  }

  public Tensor le(Tensor o) {
    return Elementwise.compare(live(), o, (x, y) -> x <= y ? 1 : 0);
  }

  public Tensor le(double o) {
    return Pointwise.unary(this, DType.BOOL, x -> x <= o ? 1 : 0);
  }

  public Tensor logicalAnd(Tensor o) {
    return Elementwise.compare(live(), o, (x, y) -> x != 0 && y != 0 ? 1 : 0);
  }

  public Tensor isnan() {
    return Pointwise.unary(this, DType.BOOL, x -> Double.isNaN(x) ? 1 : 0);
  }

  /** True when any element is non-zero. */
  public boolean any() {
    long n = numel();
    for (long i = 0; i < n; i++) if (getFlat(i) != 0) return true;
    return false;
  }

  // ---------------------------------------------------------------- linear algebra

  public Tensor mm(Tensor other) {
    return LinearAlgebra.mm(live(), other);
  }

  public Tensor mv(Tensor other) {
    return LinearAlgebra.mv(live(), other);
  }

  public Tensor bmm(Tensor other) {
    return LinearAlgebra.bmm(live(), other);
  }

  public Tensor dot(Tensor other) {
    return LinearAlgebra.dot(live(), other);
  }

  public Tensor matmul(Tensor other) {
    return LinearAlgebra.matmul(live(), other);
  }

  // ---------------------------------------------------------------- reductions

  public Tensor sum() {
    return Reductions.sum(live());
  }

  public Tensor sum(long[] dims, boolean keepdim) {
    return Reductions.sum(live(), dims, keepdim);
  }

  public Tensor sum(long dim) {
    return Reductions.sum(live(), new long[] {dim}, false);
  }

  public Tensor mean() {
    return Reductions.mean(live());
  }

  public Tensor mean(long[] dims, boolean keepdim) {
    return Reductions.mean(live(), dims, keepdim);
  }

  public Tensor mean(long dim) {
    return Reductions.mean(live(), new long[] {dim}, false);
  }

  public Tensor amax(long[] dims, boolean keepdim) {
    return dev.panagrad.ops.Extrema.amax(live(), dims, keepdim);
  }

  public Tensor amin(long[] dims, boolean keepdim) {
    return dev.panagrad.ops.Extrema.amin(live(), dims, keepdim);
  }

  /** The largest element (NaN if any is NaN). */
  public Tensor max() {
    return dev.panagrad.ops.Extrema.max(live());
  }

  /** The smallest element (NaN if any is NaN). */
  public Tensor min() {
    return dev.panagrad.ops.Extrema.min(live());
  }

  /** The 2-norm of all elements. */
  public Tensor norm() {
    return dev.panagrad.ops.Extrema.norm(live());
  }

  public Tensor var(long[] dims, boolean unbiased, boolean keepdim) {
    return dev.panagrad.ops.Extrema.var(live(), dims, unbiased, keepdim);
  }

  /** Unbiased variance of all elements. */
  public Tensor var() {
    return dev.panagrad.ops.Extrema.var(live(), null, true, false);
  }

  public Tensor logsumexp(long[] dims, boolean keepdim) {
    return dev.panagrad.ops.Extrema.logsumexp(live(), dims, keepdim);
  }

  public Tensor softmax(long dim) {
    return dev.panagrad.ops.Softmax.softmax(live(), dim);
  }

  public Tensor logSoftmax(long dim) {
    return dev.panagrad.ops.Softmax.logSoftmax(live(), dim);
  }

  public Tensor indexSelect(long dim, Tensor index) {
    return dev.panagrad.ops.Indexing.indexSelect(live(), dim, index);
  }

  public Tensor gather(long dim, Tensor index) {
    return dev.panagrad.ops.Indexing.gather(live(), dim, index);
  }

  // ---------------------------------------------------------------- in place

  /**
   * Finishes an in-place op whose value was computed out of place as {@code result}: copies it in,
   * bumps the version, and moves the result's history to this tensor (CopySlices for a view).
   */
  private Tensor writeResult(String op, Tensor result) {
    checkInplace(op);
    if (!canCast(result.dtype, dtype)) {
      throw new IllegalArgumentException(
          "result type "
              + Pointwise.scalarTypeName(result.dtype)
              + " can't be cast to the desired output type "
              + Pointwise.scalarTypeName(dtype));
    }
    if (!Arrays.equals(Shapes.broadcast(shape, result.shape), shape)) {
      throw new IllegalArgumentException(
          "output with shape "
              + Shapes.str(shape)
              + " doesn't match the broadcast shape "
              + Shapes.str(Shapes.broadcast(shape, result.shape)));
    }
    boolean record = result.requiresGrad() && GradMode.isEnabled();
    if (record && base != null) return copy_(result);
    Pointwise.copyInto(this, result);
    storage.bumpVersion();
    if (record) CopySlices.moveHistory(result, this);
    return this;
  }

  /**
   * c10's canCast, the rule for in-place results: no floating to integral, nothing but bool to
   * bool. (copy_ converts freely.)
   */
  private static boolean canCast(DType from, DType to) {
    if (from.isFloatingPoint() && !to.isFloatingPoint()) return false;
    return from == DType.BOOL || to != DType.BOOL;
  }

  /** Copies {@code src} (broadcast, converted) into this tensor. */
  public Tensor copy_(Tensor src) {
    checkInplace("copy_");
    checkNoPartialOverlap(src);
    if (!Arrays.equals(Shapes.broadcast(shape, src.shape), shape)) {
      throw new IllegalArgumentException(
          "output with shape "
              + Shapes.str(shape)
              + " doesn't match the broadcast shape "
              + Shapes.str(Shapes.broadcast(shape, src.shape)));
    }
    src.segment();
    Pointwise.copyInto(this, src);
    storage.bumpVersion();
    if (GradMode.isEnabled() && (src.requiresGrad() || requiresGrad())) {
      if (base != null) {
        CopySlices.recordWrite(this, src);
      } else {
        // Every element is overwritten: the old history is dropped, src's flows through.
        Tape.record(
            dev.panagrad.autograd.Op.COPY_BACKWARDS, this, new Tensor[] {src}, null, null, null);
      }
    }
    return this;
  }

  public Tensor add_(Tensor other) {
    checkNoPartialOverlap(other);
    // Gradient accumulation's path among others: straight into this tensor when it can be.
    if (writesDirectly(other)) return writeDirectly("add_", other, BinaryOp.ADD, 1);
    return writeResult("add_", add(other));
  }

  /** this = this (op) other, in place, with no out-of-place temporary (see writesDirectly). */
  private Tensor writeDirectly(String op, Tensor other, BinaryOp k, double p) {
    checkInplace(op);
    Pointwise.binaryInto(this, this, other, k, p);
    storage.bumpVersion();
    return this;
  }

  /**
   * this = this (op) scalar, in place, with no out-of-place temporary (see writesScalarDirectly).
   */
  private Tensor writeDirectly(String op, UnaryOp k, double p) {
    checkInplace(op);
    Pointwise.unaryInto(this, this, k, p, 0);
    storage.bumpVersion();
    return this;
  }

  /**
   * True when an in-place op with a scalar can write its result straight into this tensor and give
   * what {@link #writeResult} gives: nothing to record, one contiguous run of a floating dtype
   * (which a scalar does not promote, so the out-of-place result has this dtype and these bits).
   * Otherwise x.mul_(0.9) would make and copy back a temporary as large as x.
   */
  private boolean writesScalarDirectly() {
    return !(GradMode.isEnabled() && requiresGrad()) && dtype.isFloatingPoint() && isContiguous();
  }

  /**
   * True when an in-place op with {@code other} can write its result straight into this tensor and
   * give what {@link #writeResult} gives: nothing to record, one contiguous float run of one dtype
   * on both sides, and no partial overlap between the two.
   */
  private boolean writesDirectly(Tensor other) {
    return !(GradMode.isEnabled() && (requiresGrad() || other.requiresGrad()))
        && Pointwise.isContiguousRun(this, other)
        && (other.storage != storage || other.offset == offset);
  }

  public Tensor add_(Tensor other, double alpha) {
    checkNoPartialOverlap(other);
    if (writesDirectly(other)) return writeDirectly("add_", other, BinaryOp.ADD, alpha);
    return writeResult("add_", add(other, alpha));
  }

  public Tensor add_(double other) {
    if (writesScalarDirectly()) return writeDirectly("add_", UnaryOp.ADD_SCALAR, other);
    return writeResult("add_", add(other));
  }

  public Tensor sub_(Tensor other) {
    checkNoPartialOverlap(other);
    if (writesDirectly(other)) return writeDirectly("sub_", other, BinaryOp.SUB, 1);
    return writeResult("sub_", sub(other));
  }

  public Tensor sub_(double other) {
    // sub(s) is add(-s), as the out-of-place op computes it
    if (writesScalarDirectly()) return writeDirectly("sub_", UnaryOp.ADD_SCALAR, -other);
    return writeResult("sub_", sub(other));
  }

  public Tensor mul_(Tensor other) {
    checkNoPartialOverlap(other);
    if (writesDirectly(other)) return writeDirectly("mul_", other, BinaryOp.MUL, 1);
    return writeResult("mul_", mul(other));
  }

  public Tensor mul_(double other) {
    if (writesScalarDirectly()) return writeDirectly("mul_", UnaryOp.MUL_SCALAR, other);
    return writeResult("mul_", mul(other));
  }

  public Tensor div_(Tensor other) {
    checkNoPartialOverlap(other);
    return writeResult("div_", div(other));
  }

  public Tensor div_(double other) {
    if (writesScalarDirectly()) return writeDirectly("div_", UnaryOp.DIV_SCALAR, other);
    return writeResult("div_", div(other));
  }

  public Tensor clamp_(double min, double max) {
    return writeResult("clamp_", clamp(min, max));
  }

  public Tensor clamp_(double min) {
    return writeResult("clamp_", clamp(min));
  }

  /** Fills with zeros; under noGrad (as optimizers run) it records nothing. */
  public Tensor zero_() {
    return fill_(0);
  }

  public Tensor fill_(double value) {
    checkInplace("fill_");
    Pointwise.unaryInto(this, this, dev.panagrad.kernels.UnaryOp.FILL, value, 0);
    storage.bumpVersion();
    if (GradMode.isEnabled() && requiresGrad() && !isLeaf()) {
      try (var ng = GradMode.noGrad()) {
        // The filled tensor no longer depends on its inputs: its history is cut here.
        setHistory(null, -1, 0);
      }
    }
    return this;
  }

  // ---------------------------------------------------------------- random, in place

  public Tensor normal_(double mean, double std) {
    return normal_(mean, std, Generator.defaultGenerator());
  }

  public Tensor normal_(double mean, double std, Generator g) {
    return fillRandom(
        t -> {
          if (dtype == DType.FLOAT64) g.normalDouble(t.segment(), t.numel(), mean, std);
          else g.normalFloat(t.segment(), t.numel(), mean, std);
        });
  }

  public Tensor uniform_(double from, double to) {
    return uniform_(from, to, Generator.defaultGenerator());
  }

  public Tensor uniform_(double from, double to, Generator g) {
    return fillRandom(
        t -> {
          if (dtype == DType.FLOAT64) g.uniformDouble(t.segment(), t.numel(), from, to);
          else g.uniformFloat(t.segment(), t.numel(), from, to);
        });
  }

  public Tensor bernoulli_(double p) {
    return bernoulli_(p, Generator.defaultGenerator());
  }

  public Tensor bernoulli_(double p, Generator g) {
    return fillRandom(
        t -> {
          if (dtype == DType.FLOAT64) g.bernoulliDouble(t.segment(), t.numel(), p);
          else g.bernoulliFloat(t.segment(), t.numel(), p);
        });
  }

  /** Draws into a contiguous float buffer (this, or a temporary copied back in). */
  private Tensor fillRandom(java.util.function.Consumer<Tensor> draw) {
    checkInplace("random fill");
    if (!dtype.isFloatingPoint()) {
      throw new IllegalArgumentException(
          "random fills expect a floating point tensor, got " + dtype);
    }
    if (isContiguous()) {
      Tensor flat = rawView(new long[] {numel()}, new long[] {1}, offset);
      draw.accept(flat);
    } else {
      Tensor tmp = empty(dtype, shape);
      draw.accept(tmp);
      Pointwise.copyInto(this, tmp);
    }
    storage.bumpVersion();
    return this;
  }

  // ---------------------------------------------------------------- autograd

  /** True for a tensor that wants gradients: a leaf marked so, or the result of such ops. */
  public boolean requiresGrad() {
    return tape != null || (leafState != null && leafState.requiresGrad);
  }

  /** A leaf has no grad_fn: the user made it, or it came from ops that needed no gradient. */
  public boolean isLeaf() {
    return tape == null;
  }

  /**
   * Sets whether autograd records ops on this leaf; PyTorch's {@code requires_grad_}. Returns
   * {@code this}.
   */
  public Tensor requiresGrad_(boolean requiresGrad) {
    if (!isLeaf()) {
      if (requiresGrad) return this;
      throw new IllegalStateException(
          "you can only change requires_grad flags of leaf variables. If you want to use a"
              + " computed variable in a subgraph that doesn't require differentiation use"
              + " var_no_grad = var.detach().");
    }
    if (requiresGrad && !dtype.isFloatingPoint()) {
      throw new IllegalArgumentException(
          "only Tensors of floating point and complex dtype can require gradients (got "
              + dtype
              + ")");
    }
    if (requiresGrad || leafState != null) leafState().requiresGrad = requiresGrad;
    return this;
  }

  public Tensor requiresGrad_() {
    return requiresGrad_(true);
  }

  /**
   * The accumulated gradient ({@code .grad}), or null. For a non-leaf without {@link #retainGrad()}
   * it is null and a warning is logged once, as in PyTorch.
   */
  public Tensor grad() {
    if (!isLeaf() && !retainsGrad() && !warnedNonLeafGrad) {
      warnedNonLeafGrad = true;
      LOG.warning(
          "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad"
              + " attribute won't be populated during autograd.backward(). If you indeed want the"
              + " .grad field to be populated for a non-leaf Tensor, use .retainGrad() on the"
              + " non-leaf Tensor.");
    }
    return gradUnchecked();
  }

  /** Sets {@code .grad} (null clears it), checking shape and dtype as PyTorch does. */
  public void setGrad(Tensor g) {
    if (g != null && (!Arrays.equals(g.shape, shape) || g.dtype != dtype)) {
      throw new IllegalArgumentException(
          "assigned grad has data of a different size or type: "
              + describe(g)
              + " vs "
              + describe(this));
    }
    setGradUnchecked(g);
  }

  /** The backward function that made this tensor ({@code grad_fn}), or null for a leaf. */
  public Node gradFn() {
    return Node.of(this);
  }

  String gradFnName() {
    if (isLeaf()) return null;
    try {
      return gradFn().name();
    } catch (IllegalStateException e) {
      return "released";
    }
  }

  /** Backpropagates from this one-element tensor into the leaves' {@code .grad}. */
  public void backward() {
    backward(null, false);
  }

  /** Backpropagates {@code gradient} (same shape as this tensor). */
  public void backward(Tensor gradient) {
    backward(gradient, false);
  }

  public void backward(Tensor gradient, boolean retainGraph) {
    Autograd.backward(this, gradient, retainGraph, false);
  }

  public void backward(Tensor gradient, boolean retainGraph, boolean createGraph) {
    Autograd.backward(this, gradient, retainGraph, createGraph);
  }

  /** Makes backward fill {@code .grad} of this non-leaf too. Returns {@code this}. */
  public Tensor retainGrad() {
    if (isLeaf()) return this;
    leafState().retainsGrad = true;
    tape.retainRow(this);
    return this;
  }

  public boolean retainsGrad() {
    return leafState != null && leafState.retainsGrad;
  }

  /**
   * Registers a hook called with this tensor's gradient during backward; a non-null return replaces
   * the gradient.
   */
  public void registerHook(UnaryOperator<Tensor> hook) {
    if (!requiresGrad()) {
      throw new IllegalStateException(
          "cannot register a hook on a tensor that doesn't require gradient");
    }
    if (isLeaf()) {
      LeafState ls = leafState();
      if (ls.hooks == null) ls.hooks = new ArrayList<>();
      ls.hooks.add(hook);
      Tape.leafHookRegistered();
    } else {
      tape.hookRow(this, hook);
    }
  }

  /** A tensor sharing this one's storage with no history and no grad. */
  public Tensor detach() {
    segment();
    return new Tensor(storage, storageGen, shape, strides, offset, dtype, null);
  }

  /** PyTorch's {@code .data}: the same as {@link #detach()} here. */
  public Tensor data() {
    return detach();
  }

  // Accessors for the autograd engine (dev.panagrad.autograd); not for user code.

  /** The shape array itself, never modified after construction: the tape records it as is. */
  public long[] shapeArray() {
    return shape;
  }

  /** The strides array itself, never modified after construction: read it, never write it. */
  public long[] strideArray() {
    return strides;
  }

  /** Lets the next non-leaf {@code .grad()} access log PyTorch's warning again (tests). */
  static void resetNonLeafGradWarning() {
    warnedNonLeafGrad = false;
  }

  public Tape historyTape() {
    return tape;
  }

  public int historyEntry() {
    return entry;
  }

  public int historyGen() {
    return gen;
  }

  public void setHistory(Tape tape, int entry, int gen) {
    this.tape = tape;
    this.entry = entry;
    this.gen = gen;
  }

  public Tape.Handle historyHandle() {
    return handle;
  }

  public void setHistoryHandle(Tape.Handle h) {
    handle = h;
  }

  public Tensor gradUnchecked() {
    return leafState == null ? null : leafState.grad;
  }

  public void setGradUnchecked(Tensor g) {
    if (g != null || leafState != null) leafState().grad = g;
  }

  /** One weak reference to this tensor, made once and reused (the tape's leaf edges). */
  public java.lang.ref.WeakReference<Tensor> weakSelf() {
    LeafState ls = leafState();
    if (ls.weakSelf == null) ls.weakSelf = new java.lang.ref.WeakReference<>(this);
    return ls.weakSelf;
  }

  public List<UnaryOperator<Tensor>> leafHooks() {
    return leafState == null ? null : leafState.hooks;
  }

  /**
   * PyTorch's checks before an in-place write: not a leaf that requires grad (with grad mode on),
   * not a tensor whose elements overlap, not a released tensor.
   */
  public void checkInplace(String op) {
    segment();
    if (isLeaf() && requiresGrad() && GradMode.isEnabled()) {
      throw new IllegalStateException(
          "a leaf Variable that requires grad is being used in an in-place operation.");
    }
    if (hasInternalOverlap()) {
      throw new IllegalArgumentException(
          "unsupported operation: more than one element of the written-to tensor refers to a"
              + " single memory location. Please clone() the tensor before performing the"
              + " operation.");
    }
  }

  /**
   * PyTorch's assert_no_partial_overlap before an in-place write from {@code input}: both dense
   * (non-overlapping, in some order of dims) views of one storage whose byte ranges meet without
   * being the same elements. Results here are computed before they are written, so nothing would go
   * wrong; PyTorch refuses, and so does this. Views that are not dense (a column slice) are what
   * PyTorch calls too hard to check, and pass.
   */
  private void checkNoPartialOverlap(Tensor input) {
    if (input == this || input.storage != storage || numel() == 0 || input.numel() == 0) return;
    input.segment(); // a stale input says so first
    if (!isNonOverlappingAndDense() || !input.isNonOverlappingAndDense()) return;
    long begin = offset * dtype.byteSize(), end = begin + numel() * dtype.byteSize();
    long inBegin = input.offset * input.dtype.byteSize();
    long inEnd = inBegin + input.numel() * input.dtype.byteSize();
    boolean same = begin == inBegin && end == inEnd && Arrays.equals(strides, input.strides);
    if (!same && begin < inEnd && inBegin < end) {
      throw new IllegalArgumentException(
          "unsupported operation: some elements of the input tensor and the written-to tensor"
              + " refer to a single memory location. Please clone() the tensor before performing"
              + " the operation.");
    }
  }

  /** c10's is_non_overlapping_and_dense: the elements fill a block, in some order of dims. */
  private boolean isNonOverlappingAndDense() {
    int n = shape.length;
    Integer[] dims = new Integer[n];
    for (int i = 0; i < n; i++) dims[i] = i;
    Arrays.sort(dims, (a, b) -> Long.compare(strides[a], strides[b]));
    long expected = 1;
    for (int d : dims) {
      if (shape[d] == 1) continue;
      if (strides[d] != expected) return false;
      expected *= shape[d];
    }
    return true;
  }

  @Override
  public String toString() {
    segment(); // a released tensor refuses to print
    return TensorFormat.format(
        shape,
        dtype,
        new TensorFormat.Values() {
          @Override
          public double getDouble(long i) {
            return getFlat(i);
          }

          @Override
          public long getLong(long i) {
            return getLongFlat(i);
          }
        },
        requiresGrad(),
        gradFnName());
  }

  @Override
  public boolean equals(Object o) {
    return this == o; // identity, as PyTorch tensors are hashed and compared by id
  }

  @Override
  public int hashCode() {
    return System.identityHashCode(this);
  }

  static String describe(Tensor t) {
    return Arrays.toString(t.shape) + " " + t.dtype;
  }
}
