package dev.panagrad.autograd;

/**
 * Whether ops record history on this thread: PyTorch's {@code torch.no_grad()} and {@code
 * torch.enable_grad()} as try-with-resources scopes.
 *
 * {@snippet :
 * try (var ng = GradMode.noGrad()) {
 *   w.sub_(w.grad().mul(lr));   // an optimizer step: not recorded
 * }
 * }
 */
public final class GradMode {
  private static final ThreadLocal<Cell> ENABLED = ThreadLocal.withInitial(Cell::new);

  /**
   * A thread's mode, with the two guards that restore it: a guard only remembers the value to
   * restore, so each thread needs two, made once, and entering a mode allocates nothing.
   */
  static final class Cell {
    boolean enabled = true;
    final Guard restoresOn = new Guard(this, true), restoresOff = new Guard(this, false);
  }

  private GradMode() {}

  public static boolean isEnabled() {
    // Every op asks: the tape's copy of the cell saves a ThreadLocal lookup (Note [Last thread's
    // state] in Scope).
    return Tape.gradModeOfThisThread().enabled;
  }

  /** This thread's cell, from its ThreadLocal. */
  static Cell threadCell() {
    return ENABLED.get();
  }

  /** Sets the mode and returns a guard that restores the previous mode at close. */
  public static Guard set(boolean enabled) {
    Cell cell = ENABLED.get();
    Guard g = cell.enabled ? cell.restoresOn : cell.restoresOff;
    cell.enabled = enabled;
    return g;
  }

  public static Guard noGrad() {
    return set(false);
  }

  public static Guard enableGrad() {
    return set(true);
  }

  /** Restores the grad mode that was in force when it was made. */
  public static final class Guard implements AutoCloseable {
    private final Cell cell;
    private final boolean previous;

    private Guard(Cell cell, boolean previous) {
      this.cell = cell;
      this.previous = previous;
    }

    @Override
    public void close() {
      cell.enabled = previous;
    }
  }
}
