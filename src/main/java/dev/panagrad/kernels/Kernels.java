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

  // Plane kernels of convolution and pooling, on heap float arrays (see Note [float32 planes on
  // the heap] in Convolution). Vector versions run their masked tails as vector operations only
  // where a whole vector fits inside both arrays, so callers that leave a vector's worth of slack
  // after a plane get SIMD on every row; results do not depend on the slack.

  /**
   * dst[dOff + r * dStride + c] = src[sOff + r * sStride + c] for r < rows, c < cols: a block of
   * rows (im2col's taps of one kernel position).
   */
  void copyRowsF(
      float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride, int rows, int cols);

  /**
   * dst[dOff + r * dStride + c] += src[sOff + r * sStride + c] over the same block (col2im's taps),
   * one float add per element, so the order of a caller's calls is the order of the sums.
   */
  void addRowsF(
      float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride, int rows, int cols);

  /**
   * 2x2 max pooling at stride 2 of one plane of width w whose windows all lie inside it: out[y * ow
   * + z] is the first maximum of window (y, z) in the order (0,0), (0,1), (1,0), (1,1), or its last
   * NaN (ATen's rule: a candidate takes over when greater or NaN); arg[argAt + y * ow + z] is base
   * plus that element's index in the plane.
   */
  void maxPool2x2F(float[] in, int w, float[] out, int[] arg, int argAt, int base, int oh, int ow);

  /**
   * col2im of one plane for a convolution of stride 1 and dilation 1: plane[r, c] += run_t[y, z]
   * for every kernel tap t = (ki, kj) (runs in that order, t = ki * kw + kj, each oh x ow floats at
   * {@code runsAt + t * runStride}) with r = y - p0 + ki and c = z - p1 + kj inside the h x w
   * plane, each element's terms added in tap order. Vector versions read up to a vector before a
   * run and after it: callers give {@code runsAt} and the slack after the last run a vector's room.
   */
  void col2imPlaneF(
      float[] runs,
      int runsAt,
      int runStride,
      float[] plane,
      int h,
      int w,
      int oh,
      int ow,
      int kh,
      int kw,
      int p0,
      int p1);

  /**
   * One output plane of a direct convolution (stride 1, dilation 1, one group), for kernels so
   * narrow that unfolding the input and a matrix product cost more than the sums themselves: out[r
   * * wp + c] (rows as long as the input's; columns from ow on hold unspecified values) = the sum
   * over taps t = (ci, ki, kj), in that order, of wts[wAt + t] * x[ci * hp * wp + (r + ki) * wp + c
   * + kj] (added one by one to 0), plus bias when hasBias. x holds the cin input planes already
   * padded, hp x wp each. Each product is rounded and then added (no fused multiply-add), so every
   * implementation gives the same bits.
   */
  void convPlaneF(
      float[] x,
      int cin,
      int hp,
      int wp,
      float[] wts,
      int wAt,
      int kh,
      int kw,
      boolean hasBias,
      float bias,
      float[] out,
      int oh,
      int ow);

  /**
   * The weight gradient of one output plane of a direct convolution (see {@link #convPlaneF}):
   * acc[accAt + t] = the sum over r < oh, c < ow of g[r * ow + c] * x[ci * hp * wp + (r + ki) * wp
   * + c + kj] for every tap t = (ci, ki, kj), summed in float in an order fixed for an
   * implementation and vector width (implementations agree to rounding). {@code work} is room for
   * the sums: at least 16 floats per tap.
   */
  void convWeightGradF(
      float[] g,
      float[] x,
      int cin,
      int hp,
      int wp,
      int kh,
      int kw,
      int oh,
      int ow,
      double[] acc,
      int accAt,
      float[] work);
}
