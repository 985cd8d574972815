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

  /**
   * The arrays {@link #visit} works in, kept per thread: a loop per op was a handful of small
   * arrays per op. A body that starts a loop of its own gets fresh ones (the outer loop's are in
   * use).
   */
  private static final class Workspace {
    boolean busy;
    long[] sh = new long[8], off = new long[4], inner = new long[4], counter = new long[8];
    long[] base = new long[4];
    long[][] st = new long[4][8];

    void ensure(int ops, int dims) {
      if (sh.length < dims || st.length < ops || st[0].length < dims || off.length < ops) {
        int d = Math.max(dims, sh.length), o = Math.max(ops, off.length);
        sh = new long[d];
        counter = new long[d];
        st = new long[o][d];
        off = new long[o];
        inner = new long[o];
        base = new long[o];
      }
    }
  }

  private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

  private static void visit(long[] shape, long[][] strides, long[] offsets, Body body) {
    for (long d : shape) if (d == 0) return;
    Workspace w = WORKSPACE.get();
    if (w.busy) {
      w = new Workspace(); // a loop inside a loop's body
    } else {
      w.busy = true;
    }
    try {
      visit(shape, strides, offsets, body, w);
    } finally {
      if (w == WORKSPACE.get()) w.busy = false;
    }
  }

  private static void visit(
      long[] shape, long[][] strides, long[] offsets, Body body, Workspace w) {
    int ops = strides.length;
    w.ensure(ops, shape.length);
    // Coalesce: drop size-1 dims, merge dim i into i+1 when every operand steps evenly across.
    int rank = 0;
    long[] sh = w.sh;
    long[][] st = w.st;
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
    long[] off = w.off, inner = w.inner, base = w.base, counter = w.counter;
    System.arraycopy(offsets, 0, off, 0, ops);
    java.util.Arrays.fill(inner, 0);
    if (rank == 0) {
      body.run(off, inner, 1);
      return;
    }
    long length = sh[rank - 1];
    for (int k = 0; k < ops; k++) inner[k] = st[k][rank - 1];
    int outer = rank - 1;
    java.util.Arrays.fill(counter, 0);
    System.arraycopy(offsets, 0, base, 0, ops);
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
