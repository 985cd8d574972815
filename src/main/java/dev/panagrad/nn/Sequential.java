package dev.panagrad.nn;

import dev.panagrad.Tensor;

/** Modules applied in order; they are named {@code 0}, {@code 1}, ... as in PyTorch. */
public final class Sequential extends Module {
  private int size;

  public Sequential(Module... modules) {
    for (Module m : modules) add(m);
  }

  /** Appends a module, named by its position. */
  public Sequential add(Module m) {
    registerModule(Integer.toString(size++), m);
    return this;
  }

  public Module get(int i) {
    if (i < 0) i += size;
    Module m = namedChildren().get(Integer.toString(i));
    if (m == null) throw new IndexOutOfBoundsException("index " + i + " is out of range");
    return m;
  }

  public int size() {
    return size;
  }

  @Override
  public Tensor forward(Tensor x) {
    for (Module m : namedChildren().values()) x = m.forward(x);
    return x;
  }
}
