package dev.panagrad.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Loops over contiguous runs of float32 or float64 elements: the innermost work of every
 * elementwise op and reduction. Offsets are in elements. A stride argument is 1 (a run) or 0 (the
 * same element repeated: a broadcast scalar). Implementations: {@link ScalarKernels} (the oracle)
 * and a Vector API one, chosen once by {@link KernelProvider}.
 *
 * <p>Which arguments are written: only {@code out}. {@code out} may be the same memory as an input
 * at the same offset (in-place ops), never partially overlapping.
 */
public interface Kernels {
  /** A short name for logs and {@code Torch.config()}. */
  String name();

  /** out[i] = a[i] (op) b[i], with {@code p} the alpha of ADD and SUB. */
  void binaryF(
      BinaryOp op,
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      float p);

  void binaryD(
      BinaryOp op,
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      double p);

  /** out[i] = op(a[i]; p, q). */
  void unaryF(
      UnaryOp op, MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q);

  void unaryD(
      UnaryOp op, MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q);

  /**
   * The sum of n elements, in a fixed order (the same result every run): blocks summed in float
   * lanes, blocks combined in double.
   */
  double sumF(MemorySegment a, long ao, long n);

  double sumD(MemorySegment a, long ao, long n);

  /**
   * The float32 SGD update of n elements (see {@code optim.FusedUpdates}): d = g (+ wd w when
   * {@code decay}); with a momentum buffer b (not null): b = b m + damp d, d = nesterov ? d + m b :
   * b; then w = w + step d. Float operations in this order, never fused multiply-adds, so every
   * implementation gives the same bits.
   */
  default void sgdF(
      MemorySegment w,
      long wo,
      MemorySegment g,
      long go,
      MemorySegment b,
      long bo,
      long n,
      boolean decay,
      float wd,
      float m,
      float damp,
      float step,
      boolean nesterov) {
    ScalarKernels.sgdF(w, wo, g, go, b, bo, 0, n, decay, wd, m, damp, step, nesterov);
  }
}
