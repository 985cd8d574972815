package dev.panagrad;

import java.util.Arrays;

/** Shape arithmetic: element counts (overflow-checked), strides, broadcasting, dims. */
public final class Shapes {
  private Shapes() {}

  /** Whether a tensor of this shape holds exactly one element (every dimension is 1). */
  public static boolean isOneElement(long[] shape) {
    for (long d : shape) if (d != 1) return false;
    return true;
  }

  /** The number of elements; IllegalArgumentException when it does not fit in a long. */
  public static long numel(long[] shape) {
    // The one-dimension case without the checked loop: a shape [1] is counted for every op on a
    // one-element tensor (W3's tiny ops), where the loop's exception paths cost a few ns each.
    if (shape.length == 1 && shape[0] >= 0) return shape[0];
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "Trying to create tensor with negative dimension " + d + ": " + str(shape));
      }
      try {
        n = Math.multiplyExact(n, d);
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException(
            "shape " + str(shape) + " has more elements than fit in a 64-bit count");
      }
    }
    return n;
  }

  /** Row-major (C-contiguous) strides, in elements. */
  public static long[] contiguousStrides(long[] shape) {
    long[] strides = new long[shape.length];
    long s = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      strides[i] = s;
      s *= Math.max(shape[i], 1);
    }
    return strides;
  }

  /** PyTorch's printed form of a size: {@code [2, 3]}. */
  public static String str(long[] shape) {
    return Arrays.toString(shape);
  }

  /** A dim in [-rank, rank) made non-negative; PyTorch's IndexError otherwise. */
  public static int wrapDim(long dim, int rank) {
    int r = Math.max(rank, 1); // a 0-d tensor accepts dim 0 and -1, as PyTorch does
    if (dim < -r || dim >= r) {
      throw new IndexOutOfBoundsException(
          "Dimension out of range (expected to be in range of ["
              + (-r)
              + ", "
              + (r - 1)
              + "], but got "
              + dim
              + ")");
    }
    return (int) (dim < 0 ? dim + r : dim);
  }

  /** The broadcast shape of two shapes, with PyTorch's message when they do not broadcast. */
  public static long[] broadcast(long[] a, long[] b) {
    int n = Math.max(a.length, b.length);
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      int ia = a.length - n + i, ib = b.length - n + i;
      long da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
      if (da == db || db == 1) out[i] = da;
      else if (da == 1) out[i] = db;
      else {
        throw new IllegalArgumentException(
            "The size of tensor a ("
                + da
                + ") must match the size of tensor b ("
                + db
                + ") at non-singleton dimension "
                + i);
      }
    }
    return out;
  }

  /**
   * Strides that read a tensor of {@code shape}/{@code strides} as if expanded to {@code target} (0
   * where a dim is broadcast). The caller has checked that the shapes broadcast.
   */
  public static long[] broadcastStrides(long[] shape, long[] strides, long[] target) {
    long[] out = new long[target.length];
    int lead = target.length - shape.length;
    for (int i = 0; i < shape.length; i++) {
      out[lead + i] = shape[i] == 1 && target[lead + i] != 1 ? 0 : strides[i];
    }
    return out;
  }

  /**
   * Infers one -1 entry of a requested shape and checks the count, in PyTorch's words. Returns
   * {@code requested} itself when it has no -1 (read it, never write it), else a new array.
   */
  public static long[] inferSize(long[] requested, long numel) {
    boolean complete = true;
    for (long d : requested) complete &= d != -1;
    long[] shape = complete ? requested : requested.clone();
    int infer = -1;
    long known = 1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] == -1) {
        if (infer >= 0) throw new IllegalArgumentException("only one dimension can be inferred");
        infer = i;
      } else if (shape[i] < 0) {
        throw new IllegalArgumentException("invalid shape dimension " + shape[i]);
      } else {
        known = Math.multiplyExact(known, shape[i]);
      }
    }
    if (infer >= 0) {
      if (known == 0 || numel % known != 0) {
        throw new IllegalArgumentException(
            "shape '" + str(requested) + "' is invalid for input of size " + numel);
      }
      shape[infer] = numel / known;
    } else if (known != numel) {
      throw new IllegalArgumentException(
          "shape '" + str(requested) + "' is invalid for input of size " + numel);
    }
    return shape;
  }

  static long[] concat(long[] a, long[] b) {
    long[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
