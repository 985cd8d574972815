package dev.panagrad;

/**
 * The one place where shapes, strides and broadcasting turn into loops (ATen's TensorIterator, in
 * small). Every elementwise op hands its operands here and gets back inner runs: for each run, the
 * element offset of each operand, each operand's stride along the run, and the run's length. Dims
 * are coalesced first, so a contiguous tensor is a single run.
 */
public final class StridedLoop {
  /** Receives one inner run. The arrays are reused between calls: read, don't keep. */
  @FunctionalInterface
  public interface Body {
    void run(long[] offsets, long[] innerStrides, long length);
  }

  private StridedLoop() {}

  /**
   * Visits {@code shape} in row-major order.
   *
   * @param strides per operand, strides (elements) aligned with {@code shape}, 0 on broadcast dims
   * @param offsets per operand, the element offset of its first element
   */
  public static void forEach(long[] shape, long[][] strides, long[] offsets, Body body) {
    int ops = strides.length;
    for (long d : shape) if (d == 0) return;
    // Coalesce: drop size-1 dims, merge dim i into i+1 when every operand steps evenly across.
    int rank = 0;
    long[] sh = new long[shape.length];
    long[][] st = new long[ops][shape.length];
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] == 1) continue;
      if (rank > 0) {
        boolean merge = true;
        for (int k = 0; k < ops; k++) {
          if (st[k][rank - 1] != strides[k][i] * shape[i]) {
            merge = false;
            break;
          }
        }
        if (merge) {
          sh[rank - 1] *= shape[i];
          for (int k = 0; k < ops; k++) st[k][rank - 1] = strides[k][i];
          continue;
        }
      }
      sh[rank] = shape[i];
      for (int k = 0; k < ops; k++) st[k][rank] = strides[k][i];
      rank++;
    }
    long[] off = offsets.clone();
    long[] inner = new long[ops];
    if (rank == 0) {
      body.run(off, inner, 1);
      return;
    }
    long length = sh[rank - 1];
    for (int k = 0; k < ops; k++) inner[k] = st[k][rank - 1];
    int outer = rank - 1;
    long[] counter = new long[Math.max(outer, 1)];
    long[] base = offsets.clone();
    while (true) {
      System.arraycopy(base, 0, off, 0, ops);
      body.run(off, inner, length);
      // Advance the outer counter (odometer), moving each operand's base.
      int d = outer - 1;
      while (d >= 0) {
        counter[d]++;
        for (int k = 0; k < ops; k++) base[k] += st[k][d];
        if (counter[d] < sh[d]) break;
        for (int k = 0; k < ops; k++) base[k] -= st[k][d] * sh[d];
        counter[d] = 0;
        d--;
      }
      if (d < 0) return;
    }
  }
}
