package dev.panagrad.kernels;

import java.util.logging.Logger;

/**
 * Chooses the kernels once, at start-up, in the manner of Lucene's VectorizationProvider: the
 * Vector API implementation when the {@code jdk.incubator.vector} module is present (it lives in
 * its own package, loaded only then), else the scalar one with one warning saying how to enable
 * SIMD. {@code -Dpanagrad.kernels=scalar} forces the scalar kernels.
 */
public final class KernelProvider {
  private static final Logger LOG = Logger.getLogger("dev.panagrad");

  private KernelProvider() {}

  /** The kernels in use. */
  public static Kernels get() {
    return Holder.KERNELS;
  }

  private static final class Holder {
    static final Kernels KERNELS = choose();
  }

  private static Kernels choose() {
    boolean quiet = Boolean.getBoolean("panagrad.quiet");
    if ("scalar".equals(System.getProperty("panagrad.kernels"))) return new ScalarKernels();
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      if (!quiet) {
        LOG.warning(
            "Panagrad runs its scalar kernels: the Vector API module is not loaded. Add"
                + " --add-modules jdk.incubator.vector to the java command for SIMD kernels.");
      }
      return new ScalarKernels();
    }
    try {
      return (Kernels)
          Class.forName("dev.panagrad.kernels.vector.VectorKernels")
              .getDeclaredConstructor()
              .newInstance();
    } catch (ReflectiveOperationException | LinkageError e) {
      LOG.warning("Panagrad runs its scalar kernels: the Vector API kernels failed to load: " + e);
      return new ScalarKernels();
    }
  }
}
