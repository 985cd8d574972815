package dev.panagrad.optim;

import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.GradMode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The base of the optimizers: a list of leaf parameters, a learning rate that schedulers change,
 * {@link #step()} (the update of every parameter that has a gradient, under no-grad) and {@link
 * #zeroGrad()}. Per-parameter state tensors (momentum, moment estimates) are owned like their
 * parameter: a parameter made inside a scope takes its state with it when the scope closes.
 *
 * {@snippet :
 * var opt = new Adam(model.parameters(), 1e-3);
 * var batches = loader.iterator();
 * while (batches.hasNext()) {
 *   try (var step = Scope.open()) {
 *     Tensor[] batch = batches.next();   // made inside the scope: released with the step
 *     opt.zeroGrad();
 *     lossFn.forward(model.forward(batch[0]), batch[1]).backward();
 *     opt.step();
 *   }
 * }
 * }
 */
public abstract class Optimizer {
  protected final List<Tensor> params;
  private final List<Map<String, Tensor>> state;
  protected double lr;

  protected Optimizer(List<Tensor> params, double lr) {
    if (params.isEmpty())
      throw new IllegalArgumentException("optimizer got an empty parameter list");
    if (lr < 0) throw new IllegalArgumentException("Invalid learning rate: " + lr);
    for (Tensor p : params) {
      if (!p.isLeaf()) throw new IllegalArgumentException("can't optimize a non-leaf Tensor");
    }
    this.params = List.copyOf(params);
    this.lr = lr;
    this.state = new java.util.ArrayList<>();
    for (int i = 0; i < params.size(); i++) state.add(new HashMap<>());
  }

  /** One update of every parameter that has a gradient; nothing is recorded. */
  public final void step() {
    try (var ng = GradMode.noGrad()) {
      beforeStep();
      for (int i = 0; i < params.size(); i++) {
        Tensor p = params.get(i), g = p.grad();
        if (g != null) update(i, p, g);
      }
    }
  }

  /** Called once per step, under no-grad, before the parameters are updated. */
  protected void beforeStep() {}

  /** Updates parameter {@code i} in place from its gradient, under no-grad. */
  protected abstract void update(int i, Tensor p, Tensor grad);

  /**
   * The state tensor {@code name} of parameter {@code i}, made as zeros like it on first use and
   * owned like it.
   */
  protected Tensor state(int i, String name) {
    return state.get(i).computeIfAbsent(name, k -> own(Torch.zerosLike(params.get(i)), i));
  }

  /** The state tensor {@code name} of parameter {@code i}, or null when it was never made. */
  protected Tensor stateOrNull(int i, String name) {
    return state.get(i).get(name);
  }

  /** Stores {@code t} as state {@code name} of parameter {@code i}, owned like the parameter. */
  protected Tensor putState(int i, String name, Tensor t) {
    state.get(i).put(name, own(t, i));
    return t;
  }

  private Tensor own(Tensor t, int i) {
    return t.withLifetimeOf(params.get(i));
  }

  public List<Tensor> params() {
    return params;
  }

  /** The learning rate (PyTorch's {@code param_groups[0]['lr']}). */
  public double lr() {
    return lr;
  }

  public void setLr(double lr) {
    this.lr = lr;
  }

  /** Clears the gradients: sets them to null, as PyTorch 2 does by default. */
  public void zeroGrad() {
    zeroGrad(true);
  }

  /** Clears the gradients: null with {@code setToNone}, else filled with zeros. */
  public void zeroGrad(boolean setToNone) {
    zeroGrads(params, setToNone);
  }

  /**
   * Clears the gradients of {@code params}: with {@code setToNone}, {@code .grad} becomes null and
   * the old gradient's memory goes back to the pool at once (rather than when the garbage collector
   * finds it), so a training loop stops allocating native memory after its first step; a reference
   * kept to an old gradient fails loudly if used (clone it to keep it). Otherwise the gradients are
   * zeroed in place.
   */
  public static void zeroGrads(Iterable<Tensor> params, boolean setToNone) {
    if (params instanceof List<Tensor> list && list instanceof java.util.RandomAccess) {
      // by index: an iterator is garbage every step (an optimizer's list is a random-access one)
      for (int i = 0; i < list.size(); i++) zeroGrad(list.get(i), setToNone);
    } else {
      for (Tensor p : params) zeroGrad(p, setToNone);
    }
  }

  private static void zeroGrad(Tensor p, boolean setToNone) {
    Tensor g = p.grad();
    if (g == null) return;
    if (setToNone) {
      p.setGrad(null);
      g.storage().releaseIfUnscoped("zeroGrad() released this gradient");
    } else {
      try (var ng = GradMode.noGrad()) {
        g.zero_();
      }
    }
  }
}
