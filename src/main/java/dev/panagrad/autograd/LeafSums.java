package dev.panagrad.autograd;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import java.util.IdentityHashMap;

/**
 * The running backward's gradients for each leaf, summed before they reach {@code .grad}: PyTorch's
 * input buffer in front of AccumulateGrad. A leaf used n times gets its hooks run once, on the sum,
 * and {@code .grad} becomes {@code old + (g1 + ... + gn)}, one in-place add, as in PyTorch (adding
 * each gi to {@code .grad} in turn ran the hooks n times and rounded differently). A gradient from
 * the scalar lane is summed as a number (Note [Scalar lane] in ScalarLane), so W3's b, used 667
 * times a step, gets one tensor instead of 667 in-place adds.
 *
 * <p>A leaf's sum goes to {@code .grad} as soon as every row that reaches it has run (the engine
 * counts them before the sweep), which is when PyTorch's AccumulateGrad runs: so a captured step
 * still records a weight's gradient product right before its accumulation and update, which replay
 * fuses (SplitProduct). Reused from one backward to the next with the engine's arrays; a backward
 * started inside another (from a hook) gets its own.
 */
final class LeafSums {
  private final IdentityHashMap<Tensor, Integer> slots = new IdentityHashMap<>();
  private Tensor[] leaf = new Tensor[8];
  private Tensor[] grad = new Tensor[8]; // the sum as a tensor, or null while it is a number
  private boolean[] owned = new boolean[8]; // grad is the engine's alone (Note [Gradient stealing])
  private double[] value = new double[8]; // the sum as a number, while valueShape is set
  private long[][] valueShape = new long[8][];
  private DType[] valueDtype = new DType[8];
  private int[] left = new int[8]; // rows still to run that reach the leaf
  private int count;
  private Tensor lastLeaf; // a graph often reaches the same leaf many times in a row
  private int lastSlot;

  /** Adds tensor gradient g for {@code leaf}; {@code gOwned}: g is the engine's alone. */
  void add(Tensor leaf, Tensor g, boolean gOwned) {
    add(slot(leaf), g, gOwned);
  }

  private void add(int i, Tensor g, boolean gOwned) {
    if (valueShape[i] != null) toTensor(i);
    if (grad[i] == null) {
      grad[i] = g;
      owned[i] = gOwned;
    } else if (owned[i] && !GradMode.isEnabled()) {
      // The sum is the engine's alone: add in place, as PyTorch's input buffer does, so a weight
      // used at every step of a sequence costs one buffer, not one per use.
      grad[i].add_(g);
    } else {
      grad[i] = grad[i].add(g);
      owned[i] = !GradMode.isEnabled(); // a fresh sum, the engine's unless a graph is being made
    }
  }

  /**
   * Adds a gradient the lane carries as a number (one element of {@code shape} and dtype) from a
   * row that reaches the leaf once: {@link #add} and {@link #arrived} with one lookup of the leaf.
   */
  void addAndArrive(Tensor leaf, double g, long[] shape, DType dtype) {
    int i = slot(leaf);
    if (grad[i] != null) { // the sum is a tensor already: g joins it as a tensor, a fresh one
      add(i, ScalarLane.materialize(g, shape, dtype), true);
    } else if (valueShape[i] != null) {
      value[i] = ScalarLane.add(value[i], g, dtype == DType.FLOAT32);
    } else {
      value[i] = g;
      valueShape[i] = shape;
      valueDtype[i] = dtype;
    }
    arrivedAt(i);
  }

  /** {@code n} more contributions (rows that reach the leaf, or the leaf as a root) to wait for. */
  void expect(Tensor t, int n) {
    left[slot(t)] += n;
  }

  /** One expected contribution has come (or will not): the last one hands the leaf its sum. */
  void arrived(Tensor t) {
    arrivedAt(slot(t));
  }

  private void arrivedAt(int i) {
    if (--left[i] == 0) deliver(i);
  }

  /** Hands {@code .grad} whatever sum is still held: none, once every contribution arrived. */
  void deliver() {
    for (int i = 0; i < count; i++) deliver(i);
  }

  /** Hooks, then .grad, once, with the leaf's sum (if any gradient came). */
  private void deliver(int i) {
    if (valueShape[i] != null) toTensor(i);
    Tensor g = grad[i];
    if (g == null) return;
    grad[i] = null;
    Engine.accumulateGrad(leaf[i], g, owned[i]);
  }

  /** Forgets the sums, so the reused object keeps no tensor reachable. */
  void clear() {
    for (int i = 0; i < count; i++) {
      leaf[i] = grad[i] = null;
      valueShape[i] = null;
      valueDtype[i] = null;
      left[i] = 0;
    }
    count = 0;
    slots.clear();
    lastLeaf = null;
  }

  private void toTensor(int i) {
    grad[i] = ScalarLane.materialize(value[i], valueShape[i], valueDtype[i]);
    owned[i] = true;
    valueShape[i] = null;
    valueDtype[i] = null;
  }

  private int slot(Tensor t) {
    return t == lastLeaf ? lastSlot : newSlot(t); // the hit stays small enough to inline
  }

  private int newSlot(Tensor t) {
    Integer s = slots.get(t);
    if (s == null) {
      if (count == leaf.length) grow();
      s = count++;
      leaf[s] = t;
      slots.put(t, s);
    }
    lastLeaf = t;
    lastSlot = s;
    return s;
  }

  private void grow() {
    int n = leaf.length * 2;
    leaf = java.util.Arrays.copyOf(leaf, n);
    grad = java.util.Arrays.copyOf(grad, n);
    owned = java.util.Arrays.copyOf(owned, n);
    value = java.util.Arrays.copyOf(value, n);
    valueShape = java.util.Arrays.copyOf(valueShape, n);
    valueDtype = java.util.Arrays.copyOf(valueDtype, n);
    left = java.util.Arrays.copyOf(left, n);
  }
}
