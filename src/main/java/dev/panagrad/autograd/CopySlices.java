package dev.panagrad.autograd;

import dev.panagrad.Shapes;
import dev.panagrad.Tensor;

/**
 * In-place writes and autograd: how a tensor's history changes when it, or a view of it, is written
 * (PyTorch's CopySlices and rebase_history).
 */
public final class CopySlices {
  private CopySlices() {}

  /** Where a view sits in its base, relative to the base's first element. */
  record Geometry(long[] shape, long[] strides, long offset, long[] baseShape, long[] baseStrides) {
    /** The same region of {@code t}, a tensor laid out like the base. */
    Tensor of(Tensor t) {
      Tensor like = t;
      if (!java.util.Arrays.equals(t.stride(), baseStrides)) {
        like = Tensor.emptyStrided(t.dtype(), baseShape, baseStrides);
        try (var ng = GradMode.noGrad()) {
          like.copy_(t);
        }
      }
      return like.rawView(shape, strides, like.storageOffset() + offset);
    }
  }

  /**
   * Records that {@code src} was written into {@code view} (already done): the view's base gets a
   * CopySlices grad_fn taking the base's old history and {@code src}'s.
   */
  public static void recordWrite(Tensor view, Tensor src) {
    Tensor base = view.base();
    Geometry geo =
        new Geometry(
            view.shape(),
            view.stride(),
            view.storageOffset() - base.storageOffset(),
            base.shape(),
            base.stride());
    Tape.record(Op.COPY_SLICES, base, new Tensor[] {base, src}, null, null, geo);
  }

  /** Gives {@code to} the history of {@code from} (an out-of-place result copied into it). */
  public static void moveHistory(Tensor from, Tensor to) {
    Tape tape = from.historyTape();
    int e = tape.producerOf(from);
    tape.attachHandle(to, e);
    if (from.historyHandle() != null) from.historyHandle().entry = -1;
    tape.release(e); // from's reference; to holds its own now
  }

  static String describe(Tensor t) {
    return Shapes.str(t.shape());
  }
}
