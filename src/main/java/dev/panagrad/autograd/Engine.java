package dev.panagrad.autograd;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.memory.Recorder;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/** Runs backward over a tape: reachability, then one reverse sweep. */
final class Engine {
  private Engine() {}

  static IllegalStateException secondBackward() {
    return new IllegalStateException(
        "Trying to backward through the graph a second time (or directly access saved tensors"
            + " after they have already been freed). Saved intermediate values of the graph are"
            + " freed when you call .backward() or autograd.grad(). Specify retain_graph=True if"
            + " you need to backward through the graph a second time or if you need to access"
            + " saved tensors after calling backward.");
  }

  /** The gradient to start from: given, or ones for a one-element output. */
  static Tensor seedGradient(Tensor root, Tensor gradient, int index) {
    if (!root.requiresGrad()) {
      throw new IllegalStateException(
          "element " + index + " of tensors does not require grad and does not have a grad_fn");
    }
    if (gradient == null) {
      if (root.numel() != 1) {
        throw new IllegalArgumentException(
            "grad can be implicitly created only for scalar outputs");
      }
      return Torch.onesLike(root);
    }
    if (!Arrays.equals(gradient.shape(), root.shape())) {
      throw new IllegalArgumentException(
          "Mismatch in shape: grad_output["
              + index
              + "] has a shape of "
              + Shapes.str(gradient.shape())
              + " and output["
              + index
              + "] has a shape of "
              + Shapes.str(root.shape())
              + ".");
    }
    return gradient;
  }

  /**
   * Backpropagates from {@code roots}. With {@code inputs} null, gradients accumulate into the
   * leaves' {@code .grad}; otherwise they are returned for {@code inputs} and no {@code .grad}
   * changes (PyTorch's {@code autograd.grad}).
   */
  static Tensor[] run(
      Tensor[] roots,
      Tensor[] gradients,
      boolean retainGraph,
      boolean createGraph,
      Tensor[] inputs,
      boolean allowUnused) {
    return run(roots, gradients, retainGraph, createGraph, inputs, allowUnused, null);
  }

  /**
   * {@code tensor.backward(gradient)}: one root, run with the tape's reused arrays and context
   * unless a backward is already running on this thread (a hook or a custom Function's backward may
   * start one), so a training step's backward makes no objects of its own.
   */
  static void backward(Tensor root, Tensor gradient, boolean retainGraph, boolean createGraph) {
    Tape tape = Tape.current();
    Tape.EngineArrays reused = tape.takeEngineArrays();
    if (reused == null) {
      run(new Tensor[] {root}, new Tensor[] {gradient}, retainGraph, createGraph, null, false);
      return;
    }
    try {
      reused.roots[0] = root;
      reused.gradients[0] = gradient;
      run(reused.roots, reused.gradients, retainGraph, createGraph, null, false, reused);
    } finally {
      reused.roots[0] = reused.gradients[0] = reused.seeds[0] = null;
      reused.ctx.clear(); // a tape outlives its backward: it must not keep gradients reachable
      tape.returnEngineArrays(reused);
    }
  }

  private static Tensor[] run(
      Tensor[] roots,
      Tensor[] gradients,
      boolean retainGraph,
      boolean createGraph,
      Tensor[] inputs,
      boolean allowUnused,
      Tape.EngineArrays reused) {
    Tensor[] seeds = reused != null ? reused.seeds : new Tensor[roots.length];
    for (int i = 0; i < roots.length; i++) {
      seeds[i] = seedGradient(roots[i], gradients == null ? null : gradients[i], i);
    }
    Tensor[] captured = inputs == null ? null : new Tensor[inputs.length];
    try (var mode = GradMode.set(createGraph)) {
      Tape tape = Tape.current();
      int stamp = ++tape.stamp;
      int top = -1;
      Ctx ctx = reused != null ? reused.ctx : new Ctx(tape, -1);
      LeafSums sums = reused != null ? reused.leafSums : new LeafSums();
      // Note [Scalar lane]: not where the gradients' tensors themselves are needed.
      boolean lane =
          ScalarLane.enabled
              && inputs == null
              && !createGraph
              && !BackwardRules.detectAnomaly
              && !Recorder.active();
      // Note [Leaf sums at the end]: counted only where something can see when they arrive.
      boolean counted = !lane || tape.backwardMayRunUserCode();
      for (int i = 0; i < roots.length; i++) {
        Tensor r = roots[i];
        if (r.isLeaf()) {
          if (inputs == null && counted) sums.expect(r, 1);
          continue;
        }
        int e = tape.producerOf(r);
        tape.visit[e] = stamp;
        tape.gradOf[e] = accumulate(tape.gradOf[e], seeds[i]);
        tape.gradOwned[e] = false; // the caller's gradient, or a sum the caller's may alias
        top = Math.max(top, e);
      }
      if (counted) markReached(tape, top, stamp, inputs == null ? sums : null);
      for (int i = 0; i < roots.length; i++) {
        if (roots[i].isLeaf()) {
          deliverToLeaf(roots[i], seeds[i], inputs, captured, false, sums);
          if (inputs == null && counted) sums.arrived(roots[i]);
        }
      }
      try {
        for (int e = top; e >= 0; e--) {
          if (tape.visit[e] != stamp) continue;
          if (lane && tape.valueStamp[e] == stamp && ScalarLane.isScalarRow(tape, e)) {
            runScalarRow(tape, ctx.at(e), stamp, sums);
            if (!retainGraph) freeSaved(tape, e);
            continue;
          }
          Tensor g = tape.gradOf[e];
          boolean owned = tape.gradOwned[e] && tape.hooks[e] == null && inputs == null;
          boolean valued = tape.valueStamp[e] == stamp;
          tape.gradOf[e] = null;
          if (g == null && !valued) {
            if (inputs == null) leavesArrived(tape, e, sums); // nothing for them from this row
            continue;
          }
          if (tape.state[e] == Tape.FREED) throw secondBackward();
          if (lane && ScalarLane.covers(tape, e) && (valued || g.dtype() == tape.outDtype[e])) {
            runInLane(tape, ctx.at(e), valued ? tape.gradValue[e] : g.item(), stamp, sums);
            if (!retainGraph) freeSaved(tape, e);
            continue;
          }
          if (valued) { // a number from the lane reaches a row outside it: the tensor it stands for
            g = ScalarLane.materialize(tape.gradValue[e], tape.outShape[e], tape.outDtype[e]);
            owned = tape.hooks[e] == null && inputs == null;
          }
          g = runHooks(tape.hooks[e], g);
          if (inputs != null) {
            for (int i = 0; i < inputs.length; i++) {
              Tensor in = inputs[i];
              if (!in.isLeaf() && in.historyTape() == tape && in.historyEntry() == e) {
                captured[i] = accumulate(captured[i], g);
              }
            }
          } else if (tape.retainedTensor(e) != null) {
            Tensor t = tape.retainedTensor(e);
            t.setGradUnchecked(
                t.gradUnchecked() == null ? g.detach().clone() : t.gradUnchecked().add(g));
          }
          Tensor[] grads = BackwardRules.apply(ctx.at(e), g);
          Op op = ctx.at(e).op();
          for (int i = 0, k = tape.edgeStart[e]; i < tape.edgeCount[e]; i++, k++) {
            Tensor gi = i < grads.length ? grads[i] : null;
            int p = tape.edgeEntry[k];
            Tensor leaf = p >= 0 ? null : tape.leafAt(k);
            if (p < 0 && leaf == null) continue; // an input that takes no gradient
            boolean giOwned =
                gi != null && !createGraph && inputs == null && ownedResult(op, owned, g, grads, i);
            if (p >= 0) {
              if (gi == null) continue;
              tape.visit[p] = stamp; // reached (unmarked when not counted)
              takeValueAsTensor(tape, p, stamp);
              // a second gradient makes a fresh sum, the engine's alone when no graph is made
              giOwned = tape.gradOf[p] == null ? giOwned : !createGraph;
              tape.gradOf[p] = accumulate(tape.gradOf[p], gi);
              tape.gradOwned[p] = giOwned;
            } else {
              if (gi != null) deliverToLeaf(leaf, gi, inputs, captured, giOwned, sums);
              if (inputs == null) sums.arrived(leaf);
            }
          }
          if (!retainGraph) freeSaved(tape, e);
        }
        sums.deliver();
      } finally {
        // After an exception mid-backward (a custom Function that throws, a NaN in anomaly
        // mode) no partial gradient may stay behind for the next backward.
        for (int e = top; e >= 0; e--) if (tape.visit[e] == stamp) tape.gradOf[e] = null;
        sums.clear();
      }
    }
    if (captured != null) {
      for (int i = 0; i < captured.length; i++) {
        if (captured[i] == null && !allowUnused) {
          throw new IllegalStateException(
              "One of the differentiated Tensors appears to not have been used in the graph. Set"
                  + " allow_unused=True if this is the desired behavior.");
        }
      }
    }
    return captured;
  }

  /**
   * Note [Leaf sums at the end]. PyTorch runs a leaf's AccumulateGrad as soon as every node that
   * reaches the leaf has run, and LeafSums does the same: it knows how many rows reach each leaf
   * from a marking pass before the sweep (below). That timing can be seen only by code that runs
   * during the backward: a hook on a leaf or a row, a retained gradient, a custom Function's
   * backward, or a step being captured. Without any (the scalar lane's case: no create_graph, no
   * autograd.grad, no anomaly mode, no capture; Tape.backwardMayRunUserCode), the sweep marks the
   * rows it hands gradients to and every leaf's sum reaches .grad when the sweep ends: the same
   * sums, added in the same order, so the same .grad. The marking pass was about 5 us of a W3 step
   * of 56 us. A backward that fails midway then leaves every .grad as it was.
   *
   * <p>Marks the rows the roots reach, from row {@code top} down: producers come before consumers,
   * so one reverse pass does. Counts each leaf's rows into {@code sums} (null: none wanted), so a
   * leaf's sum is known complete when the last of them has run; consecutive edges to one leaf are
   * counted together (W3's 667 edges to b make one call: a call per edge took about 5 us of its 88
   * us step).
   */
  private static void markReached(Tape tape, int top, int stamp, LeafSums sums) {
    Tensor last = null;
    Object lastRef = null; // last's one weak reference (Tensor.weakSelf): compared, not read
    int uses = 0;
    for (int e = top; e >= 0; e--) {
      if (tape.visit[e] != stamp) continue;
      for (int k = tape.edgeStart[e], end = k + tape.edgeCount[e]; k < end; k++) {
        int p = tape.edgeEntry[k];
        if (p >= 0) {
          tape.visit[p] = stamp;
        } else if (sums != null && tape.edgeLeaf[k] != null) {
          Object ref = tape.edgeLeaf[k];
          if (ref == lastRef) {
            uses++;
            continue;
          }
          Tensor leaf = tape.leafAt(k);
          if (leaf != null) {
            if (last != null) sums.expect(last, uses);
            last = leaf;
            lastRef = ref;
            uses = 1;
          }
        }
      }
    }
    if (last != null) sums.expect(last, uses);
  }

  /**
   * Runs covered row c.e's rule on its gradient g as a number (Note [Scalar lane] in ScalarLane)
   * and hands each input its gradient: to the producing row, as a number, or to a leaf's .grad.
   */
  private static void runInLane(Tape tape, Ctx c, double g, int stamp, LeafSums sums) {
    int e = c.e;
    DType dtype = tape.outDtype[e];
    boolean f32 = dtype == DType.FLOAT32;
    double[] grads = ScalarLane.rule(c, g, f32);
    for (int i = 0, k = tape.edgeStart[e]; i < tape.edgeCount[e]; i++, k++) {
      giveNumber(tape, k, grads[i], stamp, sums, dtype);
    }
  }

  /**
   * Runs row c.e, a scalar row of add, sub, mul or tanh whose gradient is a number ({@link
   * ScalarLane#isScalarRow}): the lane's most common rows, with their rules written out here rather
   * than dispatched through {@link ScalarLane#rule}.
   */
  private static void runScalarRow(Tape tape, Ctx c, int stamp, LeafSums sums) {
    int e = c.e, k = tape.edgeStart[e];
    DType dtype = tape.outDtype[e];
    boolean f32 = dtype == DType.FLOAT32;
    double g = tape.gradValue[e];
    switch (tape.op[e]) {
      case ADD, SUB -> {
        double alpha = tape.scalars[tape.scalarStart[e]];
        giveNumber(tape, k, g, stamp, sums, dtype);
        double g1 = ScalarLane.scaledGrad(g, tape.op[e] == Op.ADD ? alpha : -alpha, f32);
        giveNumber(tape, k + 1, g1, stamp, sums, dtype);
      }
      case MUL -> {
        if (c.needsGrad(0)) {
          giveNumber(tape, k, ScalarLane.productGrad(g, c.savedItem(0), f32), stamp, sums, dtype);
        }
        if (c.needsGrad(1)) {
          double g1 = ScalarLane.productGrad(g, c.savedItem(1), f32);
          giveNumber(tape, k + 1, g1, stamp, sums, dtype);
        }
      }
      case TANH ->
          giveNumber(tape, k, ScalarLane.tanhGrad(g, c.savedItem(0), f32), stamp, sums, dtype);
      default -> throw new AssertionError(tape.op[e] + " is not a scalar row's op");
    }
  }

  /**
   * Hands gradient v, a number, to the input of edge k: summed into its producing row's gradient
   * (as a number, or as a tensor when that row's is one already), or into a leaf's sum.
   */
  private static void giveNumber(
      Tape tape, int k, double v, int stamp, LeafSums sums, DType dtype) {
    int p = tape.edgeEntry[k];
    if (p >= 0) {
      tape.visit[p] = stamp; // reached (unmarked when not counted)
      if (tape.gradOf[p] != null) { // a tensor already: sum as tensors, the sum the engine's
        tape.gradOf[p] = tape.gradOf[p].add(ScalarLane.materialize(v, tape.outShape[p], dtype));
        tape.gradOwned[p] = true;
      } else if (tape.valueStamp[p] == stamp) {
        tape.gradValue[p] = ScalarLane.add(tape.gradValue[p], v, dtype == DType.FLOAT32);
      } else {
        tape.valueStamp[p] = stamp;
        tape.gradValue[p] = v;
      }
    } else {
      Tensor leaf = tape.leafAt(k);
      if (leaf != null) sums.addAndArrive(leaf, v, tape.edgeShape[k], dtype);
    }
  }

  /** Frees row e's saved tensors once its rule has run, for a backward that keeps no graph. */
  private static void freeSaved(Tape tape, int e) {
    if (tape.savedCount[e] > 0) {
      tape.freeSaved(e);
      tape.state[e] = Tape.FREED;
    }
  }

  /**
   * Row e ran, or had no gradient to run on: its leaves have one contribution fewer to wait for.
   */
  private static void leavesArrived(Tape tape, int e, LeafSums sums) {
    for (int k = tape.edgeStart[e], end = k + tape.edgeCount[e]; k < end; k++) {
      if (tape.edgeEntry[k] >= 0) continue;
      Tensor leaf = tape.leafAt(k);
      if (leaf != null) sums.arrived(leaf);
    }
  }

  /** Row p's gradient as a tensor, when the lane left it a number: a tensor gradient joins it. */
  private static void takeValueAsTensor(Tape tape, int p, int stamp) {
    if (tape.valueStamp[p] != stamp) return;
    tape.valueStamp[p] = stamp - 1;
    tape.gradOf[p] = ScalarLane.materialize(tape.gradValue[p], tape.outShape[p], tape.outDtype[p]);
    tape.gradOwned[p] = true;
  }

  /** A leaf's gradient: to its sum for .grad, or to autograd.grad's result for it. */
  private static void deliverToLeaf(
      Tensor leaf, Tensor g, Tensor[] inputs, Tensor[] captured, boolean owned, LeafSums sums) {
    if (inputs == null) {
      sums.add(leaf, g, owned);
      return;
    }
    for (int i = 0; i < inputs.length; i++) {
      if (inputs[i] == leaf) captured[i] = accumulate(captured[i], g);
    }
  }

  /**
   * Note [Gradient stealing]. PyTorch's AccumulateGrad stores the incoming gradient itself as a
   * leaf's first .grad when nothing else can see it (no graph being made, no other reference, the
   * leaf's layout), and copies it otherwise. Java has no reference counts, so the engine tracks
   * what it alone holds: a gradient is the engine's when a rule made it afresh ({@link
   * #FRESH_RULES}: products and convolutions, whose gradients are new tensors), when a view rule
   * ({@link #VIEW_RULES}) reshaped a gradient that was the engine's, or when two gradients were
   * summed; never the caller's gradient, a hook's result, a gradient another result of the same
   * rule shares storage with, or anything under create_graph or autograd.grad. Stealing saves W2 a
   * copy of 669,706 floats a step.
   */
  private static final java.util.Set<Op> FRESH_RULES =
      java.util.EnumSet.of(Op.MM, Op.ADDMM, Op.CONVOLUTION);

  private static final java.util.Set<Op> VIEW_RULES =
      java.util.EnumSet.of(
          Op.T, Op.TRANSPOSE, Op.PERMUTE, Op.VIEW, Op.RESHAPE_ALIAS, Op.UNSAFE_VIEW);

  /** Whether grads[i], what op's rule returned for its gradient g, is the engine's alone. */
  private static boolean ownedResult(Op op, boolean gOwned, Tensor g, Tensor[] grads, int i) {
    Tensor gi = grads[i];
    for (int j = 0; j < grads.length; j++) {
      if (j != i && grads[j] != null && grads[j].storage() == gi.storage()) return false;
    }
    if (gi.storage() == g.storage()) return gOwned && VIEW_RULES.contains(op);
    return FRESH_RULES.contains(op);
  }

  /** PyTorch's AccumulateGrad: hooks, then store a copy or add in place. */
  static void accumulateGrad(Tensor leaf, Tensor g) {
    accumulateGrad(leaf, g, false);
  }

  /** {@link #accumulateGrad(Tensor, Tensor)}; {@code owned}: g is the engine's alone. */
  static void accumulateGrad(Tensor leaf, Tensor g, boolean owned) {
    owned &= leaf.leafHooks() == null;
    g = runHooks(leaf.leafHooks(), g);
    if (g.dtype() != leaf.dtype()) g = g.to(leaf.dtype());
    Tensor old = leaf.gradUnchecked();
    if (old == null && owned && !GradMode.isEnabled() && fitsAsGrad(leaf, g)) {
      leaf.setGradUnchecked(g.withLifetimeOf(leaf)); // see Note [Gradient stealing]
    } else if (old == null) {
      Tensor copy;
      if (GradMode.isEnabled() && g.requiresGrad()) {
        copy = g.clone();
      } else {
        copy = g.detach().clone();
      }
      leaf.setGradUnchecked(copy.withLifetimeOf(leaf));
    } else if (GradMode.isEnabled() && g.requiresGrad()) {
      leaf.setGradUnchecked(old.add(g).withLifetimeOf(leaf));
    } else if (!GradMode.isEnabled()) {
      old.add_(g); // the usual case: backward runs with grad mode off unless create_graph
    } else {
      try (var ng = GradMode.noGrad()) {
        old.add_(g);
      }
    }
  }

  /**
   * g can be the leaf's .grad as it is: dense and contiguous like the leaf, and the whole of its
   * storage (a view into a larger buffer would keep the rest alive and visible).
   */
  private static boolean fitsAsGrad(Tensor leaf, Tensor g) {
    return g.dtype() == leaf.dtype()
        && Arrays.equals(g.shapeArray(), leaf.shapeArray())
        && g.isContiguous()
        && leaf.isContiguous()
        && g.storageOffset() == 0
        && g.storage().byteSize() == g.numel() * g.dtype().byteSize()
        && !g.requiresGrad();
  }

  private static Tensor accumulate(Tensor sum, Tensor g) {
    return sum == null ? g : sum.add(g);
  }

  @SuppressWarnings("unchecked")
  private static Tensor runHooks(Object hooks, Tensor g) {
    if (hooks == null) return g;
    for (UnaryOperator<Tensor> h : (List<UnaryOperator<Tensor>>) hooks) {
      Tensor r = h.apply(g);
      if (r != null) g = r;
    }
    return g;
  }
}
