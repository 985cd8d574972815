package dev.panagrad.ops;

/**
 * A thread's two heap float arrays for the float32 plane loops of convolution and pooling (Note
 * [float32 planes on the heap] in {@link Convolution}), grown to the largest request and reused, so
 * neither an eager call nor a replayed one allocates after its first run on a thread. The loops run
 * on the intra-op pool's threads, a sample or a plane range each, and never nest.
 */
final class PlaneScratch {
  /**
   * Floats past the requested length: one 512-bit vector, so a plane kernel's masked tail on the
   * last row still fits inside the array and runs as one vector operation.
   */
  static final int SLACK = 16;

  private final ThreadLocal<float[][]> pair = ThreadLocal.withInitial(() -> new float[2][0]);

  /** This thread's first array, at least {@code n} + {@link #SLACK} long. */
  float[] first(int n) {
    return get(0, n);
  }

  /** This thread's second array, at least {@code n} + {@link #SLACK} long. */
  float[] second(int n) {
    return get(1, n);
  }

  private float[] get(int which, int n) {
    float[][] p = pair.get();
    if (p[which].length < n + SLACK) p[which] = new float[n + SLACK];
    return p[which];
  }
}
