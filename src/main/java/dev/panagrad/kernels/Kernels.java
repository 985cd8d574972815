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

  /**
   * Adam's update of n parameters, in place (writes {@code w}, {@code m}, {@code v} and, with
   * amsgrad, {@code vmax}): {@code w = scale w} (skipped when {@code scale} is 1: AdamW's decoupled
   * decay), {@code d = g + l2 w} (skipped when {@code l2} is 0: Adam's weight decay), {@code m = b1
   * m + c1 d}, {@code v = b2 v + c2 (d d)}, with amsgrad ({@code vmax} non-null) {@code vmax =
   * max(vmax, v)} and v read from it, then {@code w = w + step (m / (sqrt(v) / bcSqrt + eps))}
   * ({@code step} is -lr / (1 - b1^t), {@code bcSqrt} is sqrt(1 - b2^t)). Rounded after every
   * operation as the optimizer's tensor-op form rounds (float ops for float32, no fused
   * multiply-add; sqrt and division are correctly rounded), so every implementation and that form
   * give identical bits.
   */
  void adamF(
      MemorySegment w,
      long wo,
      MemorySegment g,
      long go,
      MemorySegment m,
      long mo,
      MemorySegment v,
      long vo,
      MemorySegment vmax,
      long xo,
      long n,
      float b1,
      float c1,
      float b2,
      float c2,
      float eps,
      float l2,
      float scale,
      float bcSqrt,
      float step);

  void adamD(
      MemorySegment w,
      long wo,
      MemorySegment g,
      long go,
      MemorySegment m,
      long mo,
      MemorySegment v,
      long vo,
      MemorySegment vmax,
      long xo,
      long n,
      double b1,
      double c1,
      double b2,
      double c2,
      double eps,
      double l2,
      double scale,
      double bcSqrt,
      double step);

  /**
   * RMSprop's update of n parameters, in place: {@code d = g + wd w} (skipped when {@code wd} is
   * 0), {@code sq = a sq + c (d d)}; centered ({@code ga} non-null) {@code ga = a ga + c d} and
   * {@code avg = sqrt(sq - ga ga) + eps}, else {@code avg = sqrt(sq) + eps}; with momentum ({@code
   * buf} non-null) {@code buf = mu buf + d / avg} and {@code w = w + step buf}, else {@code w = w +
   * step (d / avg)} ({@code step} is -lr). Writes {@code w}, {@code sq}, {@code ga} and {@code
   * buf}; rounded as {@link #adamF} is.
   */
  void rmspropF(
      MemorySegment w,
      long wo,
      MemorySegment g,
      long go,
      MemorySegment sq,
      long so,
      MemorySegment ga,
      long ao,
      MemorySegment buf,
      long bo,
      long n,
      float a,
      float c,
      float eps,
      float wd,
      float mu,
      float step);

  void rmspropD(
      MemorySegment w,
      long wo,
      MemorySegment g,
      long go,
      MemorySegment sq,
      long so,
      MemorySegment ga,
      long ao,
      MemorySegment buf,
      long bo,
      long n,
      double a,
      double c,
      double eps,
      double wd,
      double mu,
      double step);

  /**
   * The sum of a[0..n) in one order fixed for every implementation and vector width: eight running
   * sums, element 8k + j going to sum j for every whole block of eight, combined as ((s0 + s1) +
   * (s2 + s3)) + ((s4 + s5) + (s6 + s7)); then the elements after the last whole block, in order.
   * Eight doubles are one, two or four vectors at every width, so a vector version adds exactly the
   * same pairs; never {@code reduceLanes(ADD)}, whose order is unspecified.
   */
  double sumFixedOrder(double[] a, int n);

  /**
   * softmax (log_softmax when {@code log}) of {@code rows} contiguous rows of n elements, x's row r
   * at {@code xo + r n}, y's at {@code yo + r n}, in double: m = the row's max (NaN when any
   * element is NaN: a NaN row stays NaN), e_j = exp(x_j - m) (Math.exp: Note [Deterministic
   * transcendentals]), s = {@link #sumFixedOrder} of the e_j; then y_j = e_j / s, or (x_j - m) -
   * log(s), rounded once to y's type. {@code work} holds the e_j: at least n long. Rows are
   * independent, so any split of them gives the same bits.
   */
  void softmaxRowsF(
      MemorySegment x,
      long xo,
      MemorySegment y,
      long yo,
      long rows,
      int n,
      boolean log,
      double[] work);

  void softmaxRowsD(
      MemorySegment x,
      long xo,
      MemorySegment y,
      long yo,
      long rows,
      int n,
      boolean log,
      double[] work);

  /**
   * log_softmax backward over {@code rows} contiguous rows of n elements (row r of g, y and gi at
   * {@code go}, {@code yo}, {@code gio} + r n): s = {@link #sumFixedOrder} of the row's g_j (in
   * double, rounded to the type), then gi_j = g_j - exp(y_j) s in the type's arithmetic (exp by
   * Math.exp, rounded to the type: Note [Deterministic transcendentals]). PyTorch's formula, in one
   * pass instead of four ops. {@code work} holds the g_j: at least n long. Rows are independent, so
   * any split of them gives the same bits.
   */
  void logSoftmaxBackwardRowsF(
      MemorySegment g,
      long go,
      MemorySegment y,
      long yo,
      MemorySegment gi,
      long gio,
      long rows,
      int n,
      double[] work);

  void logSoftmaxBackwardRowsD(
      MemorySegment g,
      long go,
      MemorySegment y,
      long yo,
      MemorySegment gi,
      long gio,
      long rows,
      int n,
      double[] work);

  /**
   * nll_loss's row pass over n rows of {@code cls} log-probabilities (row i at {@code xo + i cls})
   * and their int64 targets at {@code to}: picked[i] = -x[i, t_i], or 0 where t_i is {@code
   * ignore}. Returns how many targets were not ignored. A target outside [0, cls) raises
   * IndexOutOfBoundsException ("Target t is out of bounds.").
   */
  int nllPickF(
      MemorySegment x,
      long xo,
      long cls,
      MemorySegment t,
      long to,
      int n,
      long ignore,
      double[] picked);

  int nllPickD(
      MemorySegment x,
      long xo,
      long cls,
      MemorySegment t,
      long to,
      int n,
      long ignore,
      double[] picked);

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
