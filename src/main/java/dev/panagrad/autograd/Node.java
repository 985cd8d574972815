package dev.panagrad.autograd;

import dev.panagrad.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A view of one backward function: what {@code t.gradFn()} returns. Either a tape row (an op's
 * backward) or the {@code AccumulateGrad} of a leaf. It can be called by hand, as PyTorch's nodes
 * can.
 */
public final class Node {
  private final Tape tape;
  private final int e;
  private final int gen;
  private final Tensor leaf;

  private Node(Tape tape, int e, int gen, Tensor leaf) {
    this.tape = tape;
    this.e = e;
    this.gen = gen;
    this.leaf = leaf;
  }

  /** The grad_fn of a non-leaf tensor, or null for a leaf. */
  public static Node of(Tensor t) {
    if (t.isLeaf()) return null;
    return new Node(t.historyTape(), t.historyEntry(), t.historyGen(), null);
  }

  static Node accumulateGrad(Tensor leaf) {
    return new Node(null, -1, 0, leaf);
  }

  /** PyTorch's class name of this node: {@code MulBackward0}, {@code AccumulateGrad}, ... */
  public String name() {
    if (leaf != null) return "AccumulateGrad";
    checkAlive();
    if (tape.op[e] == Op.CUSTOM) return ((Function.Record) tape.attr[e]).name();
    return tape.op[e].pyName();
  }

  /** The leaf an AccumulateGrad node feeds (PyTorch's {@code variable}), else null. */
  public Tensor variable() {
    return leaf;
  }

  /** One outgoing edge: the next node and which of its inputs this gradient is for. */
  public record Edge(Node node, int inputNr) {}

  /** The nodes that receive this node's output gradients, one per input (null node: no grad). */
  public List<Edge> nextFunctions() {
    if (leaf != null) return Collections.emptyList();
    checkAlive();
    List<Edge> out = new ArrayList<>();
    for (int k = tape.edgeStart[e], end = k + tape.edgeCount[e]; k < end; k++) {
      int p = tape.edgeEntry[k];
      if (p >= 0) out.add(new Edge(new Node(tape, p, tape.gen[p], null), 0));
      else if (tape.leafAt(k) != null) out.add(new Edge(accumulateGrad(tape.leafAt(k)), 0));
      else out.add(new Edge(null, 0));
    }
    return out;
  }

  /**
   * Calls this backward function on {@code grads}, as {@code node(grad)} does in PyTorch: returns
   * the gradients of its inputs (null where an input takes none). An AccumulateGrad node adds its
   * gradient to the leaf's {@code .grad} and returns an empty array.
   */
  public Tensor[] apply(Tensor... grads) {
    if (leaf != null) {
      Tensor g = grads[0];
      if (GradMode.isEnabled() && g.requiresGrad() && leaf.gradUnchecked() == null) {
        // PyTorch 1.13 copies a grad that has history, and the copy shows grad_fn=<CopyBackwards>.
        Tensor copy = g.detach().clone();
        Tape.record(Op.COPY_BACKWARDS, copy, new Tensor[] {g}, null, null, null);
        leaf.setGradUnchecked(copy.withLifetimeOf(leaf));
      } else {
        Engine.accumulateGrad(leaf, g);
      }
      return new Tensor[0];
    }
    checkAlive();
    return BackwardRules.apply(new Ctx(tape, e), grads[0]);
  }

  private void checkAlive() {
    if (tape.gen[e] != gen || tape.state[e] == Tape.DEAD) {
      throw new IllegalStateException("this grad_fn's graph was released");
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Node n && n.tape == tape && n.e == e && n.gen == gen && n.leaf == leaf;
  }

  @Override
  public int hashCode() {
    return leaf != null ? System.identityHashCode(leaf) : e * 31 + gen;
  }

  @Override
  public String toString() {
    return "<" + name() + " object>";
  }
}
