package dev.panagrad.autograd;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What a backward rule reads of its tape row: saved tensors (version-checked), scalars, the
 * attribute, and the shapes of the inputs and output. One flyweight per use, pointed at a row.
 */
public final class Ctx {
  final Tape tape;
  int e;

  Ctx(Tape tape, int e) {
    this.tape = tape;
    this.e = e;
  }

  // The arrays the common rules return their gradients in, reused from row to row: the engine
  // reads each row's gradients before it applies the next rule, and Node.apply makes a Ctx per
  // call.
  private final Tensor[] one = new Tensor[1], two = new Tensor[2], three = new Tensor[3];

  /**
   * The scalar lane's gradients for this context's row, one per input (its ops have at most two):
   * like the arrays above, read before the next row's rule, and each backward has its own context
   * (a leaf's hook may start another backward while the lane hands these out).
   */
  final double[] laneGrads = new double[2];

  /** {@code {a}}, in this context's reused array. */
  Tensor[] one(Tensor a) {
    one[0] = a;
    return one;
  }

  /** {@code {a, b}}, in this context's reused array. */
  Tensor[] two(Tensor a, Tensor b) {
    two[0] = a;
    two[1] = b;
    return two;
  }

  /**
   * {@code {a, b, c}}, in this context's reused array: public for the backward functions of ops
   * with three inputs outside this package (conv2d's).
   */
  public Tensor[] three(Tensor a, Tensor b, Tensor c) {
    three[0] = a;
    three[1] = b;
    three[2] = c;
    return three;
  }

  /** Drops the gradients the reused arrays still hold, so they can be collected. */
  void clear() {
    one[0] = null;
    java.util.Arrays.fill(two, null);
    java.util.Arrays.fill(three, null);
  }

  /** Points this flyweight at row {@code e}: the engine uses one for a whole backward pass. */
  Ctx at(int e) {
    this.e = e;
    return this;
  }

  public Op op() {
    return tape.op[e];
  }

  /** Saved tensor {@code i}; fails as PyTorch does when it was freed or modified in place. */
  public Tensor saved(int i) {
    int k = tape.savedStart[e] + i;
    Tensor t = unmodified(k);
    if (tape.savedIsOutput[k] && GradMode.isEnabled() && t.isLeaf()) {
      // A saved output was stored without history (Tape.append); for a differentiable
      // backward (create_graph) it gets its grad_fn back: this row.
      Tensor h = t.detach();
      h.setHistory(tape, e, tape.gen[e]);
      return h;
    }
    return t;
  }

  /**
   * The one element of saved tensor {@code i}, checked as {@link #saved} checks it: for the scalar
   * lane, which makes no graph, so a saved output needs no history back.
   */
  double savedItem(int i) {
    int k = tape.savedStart[e] + i;
    Tensor t = tape.saved[k];
    // One generation check for the version and the element (unmodified, then item, made two).
    MemorySegment s = t == null ? null : t.segmentAtVersion(tape.savedVersion[k]);
    if (s == null) return unmodified(k).item(); // freed or modified: fails there
    // a lane row's tensors hold one element of a floating dtype (ScalarLane.covers)
    return t.dtype() == DType.FLOAT32
        ? s.getAtIndex(ValueLayout.JAVA_FLOAT, t.storageOffset())
        : s.getAtIndex(ValueLayout.JAVA_DOUBLE, t.storageOffset());
  }

  /** Saved tensor k; fails as PyTorch does when it was freed or modified in place. */
  private Tensor unmodified(int k) {
    Tensor t = savedAt(k);
    int now = t.storage().version();
    if (now != tape.savedVersion[k]) {
      throw new IllegalStateException(
          "one of the variables needed for gradient computation has been modified by an inplace"
              + " operation: [torch."
              + typeName(t.dtype())
              + " "
              + java.util.Arrays.toString(t.shape())
              + "], which is saved by "
              + op().pyName()
              + ", is at version "
              + now
              + "; expected version "
              + tape.savedVersion[k]
              + " instead. Hint: the in-place op must be replaced by an out-of-place one, or the"
              + " tensor cloned before it is modified.");
    }
    return t;
  }

  /**
   * The storage of saved tensor {@code i}, without {@link #saved}'s in-place check: for data an op
   * keeps in the room after its saved output's elements ({@link Tensor#emptyWithRoom}), which
   * in-place ops on the output never touch. Fails when the storage was released, as every access.
   */
  public dev.panagrad.memory.Storage savedStorage(int i) {
    return savedAt(tape.savedStart[e] + i).storage();
  }

  /** The tape's saved slot k; fails as PyTorch does once backward has freed it. */
  private Tensor savedAt(int k) {
    Tensor t = tape.saved[k];
    if (t == null) throw Engine.secondBackward();
    return t;
  }

  public int savedCount() {
    return tape.savedCount[e];
  }

  public double scalar(int i) {
    return tape.scalars[tape.scalarStart[e] + i];
  }

  public Object attr() {
    return tape.attr[e];
  }

  public int inputCount() {
    return tape.edgeCount[e];
  }

  public long[] inputShape(int i) {
    return tape.edgeShape[tape.edgeStart[e] + i];
  }

  public DType inputDtype(int i) {
    return tape.edgeDtype[tape.edgeStart[e] + i];
  }

  public long[] outShape() {
    return tape.outShape[e];
  }

  /** Whether input {@code i} takes a gradient (rules skip work for those that don't). */
  public boolean needsGrad(int i) {
    int k = tape.edgeStart[e] + i;
    return tape.edgeEntry[k] >= 0 || tape.edgeLeaf[k] != null;
  }

  static String typeName(DType d) {
    return switch (d) {
      case FLOAT32 -> "FloatTensor";
      case FLOAT64 -> "DoubleTensor";
      case INT64 -> "LongTensor";
      case BOOL -> "BoolTensor";
    };
  }
}
