package dev.panagrad;

import java.util.Arrays;

/**
 * Shape and stride arrays shared by every tensor of one geometry. A tensor's shape and strides are
 * never modified after construction ({@link Tensor#shapeArray}), so a result can take the array an
 * earlier tensor of the same geometry has instead of a copy of its own: an eager op's result then
 * costs its handle and no arrays (a training step makes the same few geometries every step).
 *
 * <p>The table is one array for all threads, read and written without locks. An entry's fields are
 * final, so a thread that reads an entry another thread stored sees it whole, array contents
 * included (JLS 17.5); a lost write only costs a later miss. Two slots per hash, the newer first.
 * Callers must treat every array this class returns as read-only.
 */
public final class SharedDims {
  private SharedDims() {}

  private static final int SLOTS = 1 << 10; // a power of two; a step uses a few dozen geometries
  private static final Entry[] TABLE = new Entry[SLOTS];
  private static final long[] NONE = new long[0];

  /** An interned array and the row-major strides of a shape equal to it. */
  private static final class Entry {
    final long[] dims;
    final long[] rowMajor;

    Entry(long[] dims) {
      this.dims = dims;
      this.rowMajor = dims.length == 0 ? NONE : Shapes.contiguousStrides(dims);
    }
  }

  /** The shared array equal to {@code dims} (which is not kept: a miss stores a copy). */
  public static long[] of(long[] dims) {
    return dims.length == 0 ? NONE : entry(dims).dims;
  }

  /** The shared array {@code {a}}: a vector's geometry found without making an array. */
  public static long[] of(long a) {
    int i = slot(mix(1, a));
    Entry e = TABLE[i];
    if (e != null && e.dims.length == 1 && e.dims[0] == a) return e.dims;
    e = TABLE[i ^ 1];
    if (e != null && e.dims.length == 1 && e.dims[0] == a) return e.dims;
    return store(i, new long[] {a}).dims;
  }

  /** The shared array {@code {a, b}}: a 2-D geometry found without making an array. */
  public static long[] of(long a, long b) {
    int i = slot(mix(mix(2, a), b));
    Entry e = TABLE[i];
    if (e != null && e.dims.length == 2 && e.dims[0] == a && e.dims[1] == b) return e.dims;
    e = TABLE[i ^ 1];
    if (e != null && e.dims.length == 2 && e.dims[0] == a && e.dims[1] == b) return e.dims;
    return store(i, new long[] {a, b}).dims;
  }

  /** Row-major strides of {@code shape}, shared (read-only). */
  public static long[] rowMajorStrides(long[] shape) {
    return shape.length == 0 ? NONE : entry(shape).rowMajor;
  }

  private static Entry entry(long[] dims) {
    int i = slot(hash(dims));
    Entry e = TABLE[i];
    if (e != null && (e.dims == dims || Arrays.equals(e.dims, dims))) return e;
    e = TABLE[i ^ 1];
    if (e != null && (e.dims == dims || Arrays.equals(e.dims, dims))) return e;
    return store(i, dims.clone());
  }

  /** Puts a new entry first in its pair of slots, moving the previous first to second. */
  private static Entry store(int i, long[] dims) {
    Entry e = new Entry(dims);
    Entry first = TABLE[i];
    if (first != null) TABLE[i ^ 1] = first;
    TABLE[i] = e;
    return e;
  }

  private static long hash(long[] dims) {
    long h = dims.length;
    for (long d : dims) h = mix(h, d);
    return h;
  }

  private static long mix(long h, long d) {
    return (h + d) * 0x9E3779B97F4A7C15L;
  }

  private static int slot(long h) {
    return (int) (h ^ (h >>> 29)) & (SLOTS - 2); // even: the pair is slot and slot ^ 1
  }
}
