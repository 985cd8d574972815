package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;
import dev.panagrad.blas.Gemm;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Matrix products: mm, mv, dot, bmm, addmm, and matmul/linear composed from them. */
public final class LinearAlgebra {
  private LinearAlgebra() {}

  static void checkFloat(String op, Tensor a, Tensor b) {
    if (a.dtype() != b.dtype()) {
      throw new IllegalArgumentException(
          "expected m1 and m2 to have the same dtype, but got: "
              + Pointwise.typeMetaName(a.dtype())
              + " != "
              + Pointwise.typeMetaName(b.dtype())
              + " (in "
              + op
              + ")");
    }
    if (!a.dtype().isFloatingPoint()) {
      throw new IllegalArgumentException(
          op + " is implemented for float32 and float64 tensors, got " + a.dtype().pyName());
    }
  }

  /** The checks of mm and addmm, in PyTorch's words: two matrices that can be multiplied. */
  static void checkMatrices(String op, Tensor a, Tensor b) {
    if (a.dim() != 2) {
      throw new IllegalArgumentException(
          "self must be a matrix (" + op + " got a " + a.dim() + "-D tensor)");
    }
    if (b.dim() != 2) {
      throw new IllegalArgumentException(
          "mat2 must be a matrix (" + op + " got a " + b.dim() + "-D tensor)");
    }
    long[] sa = a.shapeArray(), sb = b.shapeArray();
    if (sa[1] != sb[0]) {
      throw new IllegalArgumentException(
          "mat1 and mat2 shapes cannot be multiplied ("
              + sa[0]
              + "x"
              + sa[1]
              + " and "
              + sb[0]
              + "x"
              + sb[1]
              + ")");
    }
    checkFloat(op, a, b);
  }

  public static Tensor mm(Tensor a, Tensor b) {
    checkMatrices("mm", a, b);
    long[] sa = a.shapeArray(), sb = b.shapeArray();
    Tensor out = Tensor.empty(a.dtype(), sa[0], sb[1]);
    gemm(a, b, out, false);
    if (Tape.needsRecord(a, b)) {
      Tape.recordBinary(
          Op.MM,
          out,
          a,
          b,
          b.requiresGrad() ? a : null,
          a.requiresGrad() ? b : null,
          mat2Layout(b));
    }
    return out;
  }

  /**
   * The tape attribute of mm and addmm when mat2 is stored column-major (a transposed contiguous
   * matrix, such as F.linear's {@code w.t()}). Its gradient is then computed in that layout, as
   * PyTorch's mm_mat2_backward does: the weight's gradient comes back contiguous like the weight,
   * with no transposing copy when it is accumulated into {@code .grad}.
   */
  public enum Mat2Layout {
    COLUMN_MAJOR
  }

  private static Mat2Layout mat2Layout(Tensor b) {
    long[] sh = b.shapeArray(), st = b.strideArray();
    return st[0] == 1 && st[1] == sh[0] && sh[0] > 1 && sh[1] > 1 ? Mat2Layout.COLUMN_MAJOR : null;
  }

  /**
   * The gradient of mat2 in {@code a @ mat2} for the output gradient g: {@code a^T g}, or {@code
   * (g^T a)^T} when mat2 was column-major, so the result has mat2's layout. Tensor ops, so it
   * records history under create_graph.
   */
  public static Tensor mat2Grad(Tensor a, Tensor g, Object layout) {
    return layout == Mat2Layout.COLUMN_MAJOR ? g.t().mm(a).t() : a.t().mm(g);
  }

  /**
   * out (+)= a @ b for 2-D operands of any strides; out is contiguous. Products of at least {@link
   * Gemm#NATIVE_MIN_MACS} multiply-adds go to the native BLAS when one is loaded; the rest, and
   * every product when none is, run in the Java loop below.
   */
  static void gemm(Tensor a, Tensor b, Tensor out, boolean accumulate) {
    long m = a.shapeArray()[0], k = a.shapeArray()[1], n = b.shapeArray()[1];
    if (Gemm.nativeFor(m * n * k) && nativeGemm(a, b, out, accumulate, m, n, k)) return;
    if (Recorder.active()) {
      Recorder.refuse(
          "mm " + m + "x" + n + "x" + k, "products below the native BLAS size are not recorded");
    }
    MemorySegment sa = a.segment(), sb = b.segment(), so = out.segment();
    long[] ta = a.stride(), tb = b.stride();
    long oa = a.storageOffset(), ob = b.storageOffset(), oo = out.storageOffset();
    long ldo = out.strideArray()[0];
    boolean f32 = a.dtype() == DType.FLOAT32;
    // i-k-j order: the inner loop is an axpy over a row of b and a row of out, accumulated in
    // double, so the result does not depend on how k is split.
    double[] row = new double[(int) n];
    for (long i = 0; i < m; i++) {
      java.util.Arrays.fill(row, 0);
      for (long p = 0; p < k; p++) {
        long ia = oa + i * ta[0] + p * ta[1];
        double av =
            f32
                ? sa.getAtIndex(ValueLayout.JAVA_FLOAT, ia)
                : sa.getAtIndex(ValueLayout.JAVA_DOUBLE, ia);
        if (av == 0) continue;
        long ib = ob + p * tb[0];
        long sj = tb[1];
        if (f32) {
          for (int j = 0; j < n; j++)
            row[j] += av * sb.getAtIndex(ValueLayout.JAVA_FLOAT, ib + j * sj);
        } else {
          for (int j = 0; j < n; j++)
            row[j] += av * sb.getAtIndex(ValueLayout.JAVA_DOUBLE, ib + j * sj);
        }
      }
      long io = oo + i * ldo;
      for (int j = 0; j < n; j++) {
        if (f32) {
          float prev = accumulate ? so.getAtIndex(ValueLayout.JAVA_FLOAT, io + j) : 0f;
          so.setAtIndex(ValueLayout.JAVA_FLOAT, io + j, (float) (prev + row[j]));
        } else {
          double prev = accumulate ? so.getAtIndex(ValueLayout.JAVA_DOUBLE, io + j) : 0;
          so.setAtIndex(ValueLayout.JAVA_DOUBLE, io + j, prev + row[j]);
        }
      }
    }
  }

  /**
   * The native path of {@link #gemm}: an operand with a unit stride goes to BLAS as it is stored,
   * transposed or not, through its transpose flag; any other operand is copied to a contiguous
   * buffer first. Returns false (nothing done) when out's layout or a size does not suit BLAS.
   */
  private static boolean nativeGemm(
      Tensor a, Tensor b, Tensor out, boolean accumulate, long m, long n, long k) {
    long lo = blasLayout(m, n, out.strideArray());
    if (lo <= 0 || !fitsInt(m, n, k, lo)) return false;
    long la = blasLayout(m, k, a.strideArray()), lb = blasLayout(k, n, b.strideArray());
    boolean f32 = a.dtype() == DType.FLOAT32;
    int size = f32 ? 4 : 8;
    try (Arena arena = la == 0 || lb == 0 ? Arena.ofConfined() : null) {
      MemorySegment sa = a.segment(), sb = b.segment();
      long oa = a.storageOffset(), ob = b.storageOffset();
      if (la == 0) {
        sa = contiguousCopy(arena, a, m, k, size);
        oa = 0;
        la = Math.max(1, k);
      }
      if (lb == 0) {
        sb = contiguousCopy(arena, b, k, n, size);
        ob = 0;
        lb = Math.max(1, n);
      }
      if (!fitsInt(Math.abs(la), Math.abs(lb))) return false;
      MemorySegment so = out.segment();
      if (!Recorder.active()) {
        // eager: run it now, with no object kept
        Gemm.runOnce(
            f32,
            la < 0,
            lb < 0,
            (int) m,
            (int) n,
            (int) k,
            1,
            sa,
            oa,
            (int) Math.abs(la),
            sb,
            ob,
            (int) Math.abs(lb),
            accumulate ? 1 : 0,
            so,
            out.storageOffset(),
            (int) lo);
        return true;
      }
      // recorded: a captured step keeps the call and replays it
      Gemm.Prepared product =
          new Gemm.Prepared(
              f32,
              la < 0,
              lb < 0,
              (int) m,
              (int) n,
              (int) k,
              1,
              sa,
              oa,
              (int) Math.abs(la),
              sb,
              ob,
              (int) Math.abs(lb),
              accumulate ? 1 : 0,
              so,
              out.storageOffset(),
              (int) lo);
      product.run();
      if (arena != null)
        Recorder.refuse("mm", "an operand BLAS cannot read as stored is copied to a temporary");
      Recorder.record(
          "gemm "
              + m
              + "x"
              + n
              + "x"
              + k
              + " "
              + (la < 0 ? 1 : 0)
              + (lb < 0 ? 1 : 0)
              + " acc="
              + accumulate,
          product);
    }
    return true;
  }

  /**
   * How BLAS can read a rows x cols matrix with these strides: its leading dimension when it is
   * row-major, minus it when it is stored transposed, or 0 when neither stride is 1. A stride along
   * a dimension of size 1 is never used, so it does not count. (A number, not an array: a GEMM call
   * allocates nothing for its layouts.)
   */
  private static long blasLayout(long rows, long cols, long[] st) {
    if ((cols == 1 || st[1] == 1) && (rows == 1 || st[0] >= Math.max(1, cols)))
      return rows == 1 ? Math.max(1, cols) : st[0];
    if ((rows == 1 || st[0] == 1) && (cols == 1 || st[1] >= Math.max(1, rows)))
      return -(cols == 1 ? Math.max(1, rows) : st[1]);
    return 0;
  }

  // Fixed arities, not varargs: a varargs array was most of a product's heap allocation.
  private static boolean fitsInt(long a, long b) {
    return fitsInt(a, b, 0, 0);
  }

  private static boolean fitsInt(long a, long b, long c, long d) {
    return (a | b | c | d) >= 0 && Math.max(Math.max(a, b), Math.max(c, d)) <= Integer.MAX_VALUE;
  }

  private static MemorySegment contiguousCopy(
      Arena arena, Tensor t, long rows, long cols, int size) {
    MemorySegment src = t.segment(), dst = arena.allocate(Math.max(1, rows * cols) * size, 64);
    long off = t.storageOffset(), s0 = t.strideArray()[0], s1 = t.strideArray()[1];
    for (long i = 0; i < rows; i++) {
      for (long j = 0; j < cols; j++) {
        long from = off + i * s0 + j * s1;
        if (size == 4) {
          dst.setAtIndex(
              ValueLayout.JAVA_FLOAT, i * cols + j, src.getAtIndex(ValueLayout.JAVA_FLOAT, from));
        } else {
          dst.setAtIndex(
              ValueLayout.JAVA_DOUBLE, i * cols + j, src.getAtIndex(ValueLayout.JAVA_DOUBLE, from));
        }
      }
    }
    return dst;
  }

  /** bias + a @ b (bias broadcast over rows); records AddmmBackward0. */
  public static Tensor addmm(Tensor bias, Tensor a, Tensor b) {
    checkMatrices("addmm", a, b);
    long[] sa = a.shapeArray(), sb = b.shapeArray();
    Tensor out = Tensor.empty(a.dtype(), sa[0], sb[1]);
    if (!Recorder.active() && isRowOf(bias, out)) {
      copyIntoRows(bias, out); // what the broadcast copy below writes, row by row
    } else {
      // PyTorch expands the bias to the product's shape first (expand_size), with expand's
      // message.
      Pointwise.copyInto(out, ShapeOps.expand(bias.detach(), sa[0], sb[1]));
    }
    gemm(a, b, out, true);
    if (Tape.needsRecord(bias, a, b)) {
      Tape.recordTernary(
          Op.ADDMM,
          out,
          bias,
          a,
          b,
          b.requiresGrad() ? a : null,
          a.requiresGrad() ? b : null,
          mat2Layout(b));
    }
    return out;
  }

  /** True when bias is a contiguous vector of out's row length and dtype (a linear layer's). */
  private static boolean isRowOf(Tensor bias, Tensor out) {
    long[] sb = bias.shapeArray();
    return sb.length == 1
        && sb[0] == out.shapeArray()[1]
        && bias.dtype() == out.dtype()
        && bias.isContiguous();
  }

  /** Copies vector bias into every row of contiguous out: one bulk copy a row. */
  private static void copyIntoRows(Tensor bias, Tensor out) {
    long rowBytes = out.shapeArray()[1] * out.dtype().byteSize();
    MemorySegment sb = bias.segment(), so = out.segment();
    long from = bias.storageOffset() * bias.dtype().byteSize();
    long to = out.storageOffset() * out.dtype().byteSize();
    for (long r = 0, rows = out.shapeArray()[0]; r < rows; r++, to += rowBytes) {
      MemorySegment.copy(sb, from, so, to, rowBytes);
    }
  }

  public static Tensor dot(Tensor a, Tensor b) {
    if (a.dim() != 1 || b.dim() != 1) {
      throw new IllegalArgumentException(
          "1D tensors expected, but got " + a.dim() + "D and " + b.dim() + "D tensors");
    }
    if (a.numel() != b.numel()) {
      throw new IllegalArgumentException(
          "inconsistent tensor size, expected tensor ["
              + a.numel()
              + "] and src ["
              + b.numel()
              + "] to have the same number of elements, but got "
              + a.numel()
              + " and "
              + b.numel()
              + " elements respectively");
    }
    checkFloat("dot", a, b);
    Tensor out = Tensor.empty(a.dtype());
    Tensor a2 =
        a.rawView(new long[] {1, a.numel()}, new long[] {0, a.strideArray()[0]}, a.storageOffset());
    Tensor b2 =
        b.rawView(new long[] {b.numel(), 1}, new long[] {b.strideArray()[0], 0}, b.storageOffset());
    gemm(a2, b2, out.rawView(new long[] {1, 1}, new long[] {1, 1}, 0), false);
    if (Tape.needsRecord(a, b))
      Tape.record(Op.DOT, out, new Tensor[] {a, b}, new Tensor[] {b, a}, null, null);
    return out;
  }

  public static Tensor mv(Tensor a, Tensor v) {
    if (a.dim() != 2 || v.dim() != 1) {
      throw new IllegalArgumentException(
          "vector + matrix @ vector expected, got " + a.dim() + ", " + v.dim());
    }
    if (a.shapeArray()[1] != v.shapeArray()[0]) {
      throw new IllegalArgumentException(
          "size mismatch, got input ("
              + a.shapeArray()[0]
              + "), mat ("
              + a.shapeArray()[0]
              + "x"
              + a.shapeArray()[1]
              + "), vec ("
              + v.shapeArray()[0]
              + ")");
    }
    checkFloat("mv", a, v);
    Tensor out = Tensor.empty(a.dtype(), a.shapeArray()[0]);
    Tensor v2 =
        v.rawView(new long[] {v.numel(), 1}, new long[] {v.strideArray()[0], 0}, v.storageOffset());
    gemm(a, v2, out.rawView(new long[] {a.shapeArray()[0], 1}, new long[] {1, 1}, 0), false);
    if (Tape.needsRecord(a, v))
      Tape.record(Op.MV, out, new Tensor[] {a, v}, new Tensor[] {v, a}, null, null);
    return out;
  }

  public static Tensor bmm(Tensor a, Tensor b) {
    if (a.dim() != 3 || b.dim() != 3) {
      throw new IllegalArgumentException(
          "batch1 must be a 3D tensor and batch2 must be a 3D tensor");
    }
    long[] sa = a.shapeArray(), sb = b.shapeArray();
    if (sa[0] != sb[0] || sa[2] != sb[1]) {
      throw new IllegalArgumentException(
          "Expected size for first two dimensions of batch2 tensor to be: ["
              + sa[0]
              + ", "
              + sa[2]
              + "] but got: ["
              + sb[0]
              + ", "
              + sb[1]
              + "].");
    }
    checkFloat("bmm", a, b);
    Tensor out = Tensor.empty(a.dtype(), sa[0], sa[1], sb[2]);
    for (long i = 0; i < sa[0]; i++) {
      gemm(
          a.rawView(
              new long[] {sa[1], sa[2]},
              new long[] {a.strideArray()[1], a.strideArray()[2]},
              a.storageOffset() + i * a.strideArray()[0]),
          b.rawView(
              new long[] {sb[1], sb[2]},
              new long[] {b.strideArray()[1], b.strideArray()[2]},
              b.storageOffset() + i * b.strideArray()[0]),
          out.rawView(new long[] {sa[1], sb[2]}, new long[] {sb[2], 1}, i * sa[1] * sb[2]),
          false);
    }
    if (Tape.needsRecord(a, b))
      Tape.record(
          Op.BMM,
          out,
          new Tensor[] {a, b},
          new Tensor[] {b.requiresGrad() ? a : null, a.requiresGrad() ? b : null},
          null,
          null);
    return out;
  }

  /** PyTorch's matmul: dot, mv, mm, or a broadcast batched product, by the operands' ranks. */
  public static Tensor matmul(Tensor a, Tensor b) {
    int da = a.dim(), db = b.dim();
    if (da == 0 || db == 0) {
      throw new IllegalArgumentException(
          "both arguments to matmul need to be at least 1D, but they are "
              + da
              + "D and "
              + db
              + "D");
    }
    if (da == 1 && db == 1) return dot(a, b);
    if (da == 2 && db == 1) return mv(a, b);
    if (da == 1 && db == 2) {
      Tensor r = mm(ShapeOps.unsqueeze(a, 0), b);
      Tensor out = ShapeOps.squeezed(r, 0);
      return ShapeOps.record(Op.SQUEEZE_MATMUL, r, out, null, null);
    }
    if (da == 2 && db == 2) return mm(a, b);
    if (da >= 3 && (db == 1 || db == 2)) {
      // Fold the batch into rows: (..., n, k) @ (k, m) as one mm, then view back.
      long[] sa = a.shape();
      long k = sa[da - 1];
      Tensor a2 = ShapeOps.reshape(a, -1, k);
      Tensor bb = db == 1 ? ShapeOps.unsqueeze(b, 1) : b;
      Tensor r = mm(a2, bb);
      long[] outShape = java.util.Arrays.copyOf(sa, db == 1 ? da - 1 : da);
      if (db == 2) outShape[da - 1] = b.shapeArray()[1];
      return ShapeOps.unsafeView(r, outShape);
    }
    // General batched case: broadcast the batch dims, bmm, view back.
    long[] sa = a.shapeArray(), sb = b.shapeArray();
    Tensor a3 = da == 1 ? ShapeOps.unsqueeze(a, 0) : a;
    Tensor b3 = db == 1 ? ShapeOps.unsqueeze(b, 1) : b;
    long[] ta = a3.shape(), tb = b3.shape();
    long n = ta[ta.length - 2],
        k = ta[ta.length - 1],
        k2 = tb[tb.length - 2],
        m = tb[tb.length - 1];
    if (k != k2) {
      throw new IllegalArgumentException(
          "Expected size for first two dimensions of batch2 tensor to be: [?, "
              + k
              + "] but got: [?, "
              + k2
              + "].");
    }
    long[] batchA = java.util.Arrays.copyOf(ta, ta.length - 2),
        batchB = java.util.Arrays.copyOf(tb, tb.length - 2);
    long[] batch = Shapes.broadcast(batchA, batchB);
    long nb = Shapes.numel(batch);
    Tensor ae = ShapeOps.reshape(ShapeOps.expand(a3, concat(batch, n, k)), nb, n, k);
    Tensor be = ShapeOps.reshape(ShapeOps.expand(b3, concat(batch, k, m)), nb, k, m);
    Tensor r = bmm(ae, be);
    long[] outShape = concat(batch, n, m);
    if (da == 1) outShape = removeAt(outShape, outShape.length - 2);
    if (db == 1) outShape = removeAt(outShape, outShape.length - 1);
    return ShapeOps.unsafeView(r, outShape);
  }

  private static long[] concat(long[] batch, long x, long y) {
    long[] out = java.util.Arrays.copyOf(batch, batch.length + 2);
    out[batch.length] = x;
    out[batch.length + 1] = y;
    return out;
  }

  private static long[] removeAt(long[] a, int i) {
    long[] out = new long[a.length - 1];
    for (int j = 0, k = 0; j < a.length; j++) if (j != i) out[k++] = a[j];
    return out;
  }

  /** F.linear: x @ w^T + b, as addmm for 2-D x, folded for more dims. */
  public static Tensor linear(Tensor x, Tensor w, Tensor b) {
    Tensor wt = ShapeOps.t(w);
    if (x.dim() == 2 && b != null) return addmm(b, x, wt);
    if (x.dim() >= 3 && b != null) {
      long[] sx = x.shape();
      Tensor r = addmm(b, ShapeOps.reshape(x, -1, sx[sx.length - 1]), wt);
      long[] outShape = sx.clone();
      outShape[outShape.length - 1] = w.shapeArray()[0];
      return ShapeOps.unsafeView(r, outShape);
    }
    Tensor r = matmul(x, wt);
    return b == null ? r : Elementwise.add(r, b, 1);
  }
}
