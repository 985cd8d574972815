package dev.panagrad.ops;

/**
 * A thread's pair of heap {@code double} arrays for an eager kernel that never nests (a reduction's
 * accumulators), grown to the largest request and reused, so an eager op allocates none. A recorded
 * kernel owns its arrays instead: its instruction may be replayed on another thread.
 */
final class DoubleScratch {
  private final ThreadLocal<double[][]> pair =
      ThreadLocal.withInitial(() -> new double[][] {new double[64], new double[64]});

  /** This thread's two arrays, each at least {@code n} long (and possibly longer). */
  double[][] pair(int n) {
    double[][] p = pair.get();
    if (p[0].length < n) {
      p[0] = new double[n];
      p[1] = new double[n];
    }
    return p;
  }
}
