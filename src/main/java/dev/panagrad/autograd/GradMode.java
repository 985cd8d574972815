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
  private static final ThreadLocal<boolean[]> ENABLED =
      ThreadLocal.withInitial(() -> new boolean[] {true});

  private GradMode() {}

  public static boolean isEnabled() {
    return ENABLED.get()[0];
  }

  /** Sets the mode and returns a guard that restores the previous mode at close. */
  public static Guard set(boolean enabled) {
    boolean[] cell = ENABLED.get();
    Guard g = new Guard(cell, cell[0]);
    cell[0] = enabled;
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
    private final boolean[] cell;
    private final boolean previous;

    private Guard(boolean[] cell, boolean previous) {
      this.cell = cell;
      this.previous = previous;
    }

    @Override
    public void close() {
      cell[0] = previous;
    }
  }
}
