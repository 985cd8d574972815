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
   * SGD's update of n parameters, in place: {@code d = g + wd w} (skipped when {@code wd} is 0);
   * with momentum ({@code buf} non-null) {@code buf = momentum buf + damp d} and {@code d =
   * nesterov ? d + momentum buf : buf}; then {@code w = w + step d} ({@code step} is -lr). Writes
   * {@code w} and {@code buf}. Every product and sum is rounded as the optimizer's tensor-op form
   * rounds it (float ops for float32, no fused multiply-add), so the two give identical bits.
   */
  void sgdF(
      MemorySegment w,
      long wo,
      MemorySegment g,
      long go,
      MemorySegment buf,
      long bo,
      long n,
      float step,
      float momentum,
      float damp,
      float wd,
      boolean nesterov);

  void sgdD(
      MemorySegment w,
      long wo,
      MemorySegment g,
      long go,
      MemorySegment buf,
      long bo,
      long n,
      double step,
      double momentum,
      double damp,
      double wd,
      boolean nesterov);
}
