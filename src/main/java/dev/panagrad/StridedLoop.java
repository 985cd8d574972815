package dev.panagrad;

import dev.panagrad.memory.Recorder;
import java.util.Arrays;

/**
 * The one place where shapes, strides and broadcasting turn into loops (ATen's TensorIterator, in
 * small). Every elementwise op hands its operands here and gets back inner runs: for each run, the
 * element offset of each operand, each operand's stride along the run, and the run's length. Dims
 * are coalesced first, so a contiguous tensor is a single run.
 *
 * <p>While a training step is captured ({@link Recorder}), a loop whose body records nothing itself
 * is recorded as a {@link Plan} and its body: replay visits the same runs with no allocation.
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
    if (Recorder.active()) {
      int mark = Recorder.mark();
      Plan plan = plan(shape, strides, offsets);
      plan.forEach(body);
      // A body that recorded its own instructions (kernel runs) is replayed through those.
      if (Recorder.mark() == mark) {
        Recorder.record(
            "loop " + Shapes.str(shape) + " runs=" + plan.runs, () -> plan.forEach(body));
      }
      return;
    }
    visit(shape, strides, offsets, body);
  }

  /** The runs of a loop, computed once: {@link Plan#forEach} visits them without allocating. */
  public static Plan plan(long[] shape, long[][] strides, long[] offsets) {
    int ops = strides.length;
    long[][] starts = {new long[ops * 4]};
    long[] innerOut = new long[ops];
    long[] len = new long[1];
    int[] count = new int[1];
    visit(
        shape,
        strides,
        offsets,
        (off, inner, n) -> {
          if ((count[0] + 1) * ops > starts[0].length) {
            starts[0] = Arrays.copyOf(starts[0], starts[0].length * 2);
          }
          System.arraycopy(off, 0, starts[0], count[0] * ops, ops);
          System.arraycopy(inner, 0, innerOut, 0, ops);
          len[0] = n;
          count[0]++;
        });
    return new Plan(ops, starts[0], innerOut, len[0], count[0]);
  }

  /**
   * Precomputed runs: the start offsets of each run, and the inner strides and length they share.
   */
  public static final class Plan {
    private final int ops;
    private final long[] starts;
    private final long[] inner;
    private final long length;
    private final int runs;
    private final long[] off;

    Plan(int ops, long[] starts, long[] inner, long length, int runs) {
      this.ops = ops;
      this.starts = starts;
      this.inner = inner;
      this.length = length;
      this.runs = runs;
      this.off = new long[ops];
    }

    /** Visits the runs in row-major order, reusing one offsets array. */
    public void forEach(Body body) {
      for (int r = 0; r < runs; r++) {
        System.arraycopy(starts, r * ops, off, 0, ops);
        body.run(off, inner, length);
      }
    }
  }

  private static void visit(long[] shape, long[][] strides, long[] offsets, Body body) {
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
