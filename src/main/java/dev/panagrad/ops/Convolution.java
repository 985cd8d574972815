package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.SharedDims;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Ctx;
import dev.panagrad.autograd.GradMode;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;
import dev.panagrad.blas.Gemm;
import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.KernelProvider;
import dev.panagrad.kernels.Kernels;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.Recorder;
import dev.panagrad.memory.Storage;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * 2-D convolution (direct sums for few taps; else per sample, unfolded in cache and multiplied by
 * concurrent BLAS products, or im2col of the whole batch into native memory and one BLAS product;
 * see {@link #bySample}), forward and backward, on NCHW tensors of float32 or float64. Pooling is
 * {@link Pooling}'s.
 */
public final class Convolution {
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;
  private static final Kernels K = KernelProvider.get();
  static final PlaneScratch PLANES = new PlaneScratch(); // Pooling's too
  private static final DoubleScratch PLANE_SUMS = new DoubleScratch();

  /**
   * Each thread's reusable tasks for its eager conv2d calls. A task holds one call's segments and
   * sizes and runs as the pool's split body, so an eager call makes no lambdas or products; eager
   * ops never nest on a thread, so one of each suffices. A captured step records new tasks of its
   * own (replay may run on another thread).
   */
  private static final class EagerTasks {
    private static final ThreadLocal<EagerTasks> OF_THREAD =
        ThreadLocal.withInitial(EagerTasks::new);

    final DirectForward directForward = new DirectForward();
    final DirectWeightGrad directWeightGrad = new DirectWeightGrad();
    final FromNchw fromNchw = new FromNchw();
    final BySampleForward bySampleForward = new BySampleForward();
    final BySampleBackward bySampleBackward = new BySampleBackward();

    static EagerTasks get() {
      return OF_THREAD.get();
    }
  }

  private Convolution() {}

  /**
   * What conv2d's backward needs besides the saved input and weight. Interned ({@link #of}): a
   * training step calls conv2d with the same few argument lists every step.
   */
  public record ConvArgs(int[] stride, int[] padding, int[] dilation, int groups) {
    /** The arguments of recent calls; racy like {@link Geo}'s table (final fields). */
    private static final ConvArgs[] RECENT = new ConvArgs[8];

    /**
     * The arguments of a conv2d call (each a single int or a pair, PyTorch's _pair): a recent equal
     * one, or new ones. Not checked beyond their lengths: conv2d checks their values.
     */
    static ConvArgs of(long[] stride, long[] padding, long[] dilation, long groups) {
      ConvArgs[] recent = RECENT;
      for (ConvArgs a : recent) {
        if (a != null
            && a.groups == groups
            && same(a.stride, stride)
            && same(a.padding, padding)
            && same(a.dilation, dilation)) return a;
      }
      ConvArgs a =
          new ConvArgs(
              pair("stride", stride),
              pair("padding", padding),
              pair("dilation", dilation),
              // clamped: conv2d checks the long, so a groups past int fails there, not here
              (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, groups)));
      System.arraycopy(recent, 0, recent, 1, recent.length - 1);
      recent[0] = a;
      return a;
    }
  }

  /** True when {@code v} is a size list that {@link #pair} turns into {@code p}. */
  static boolean same(int[] p, long[] v) {
    return v != null && (v.length == 1 || v.length == 2) && p[0] == v[0] && p[1] == v[v.length - 1];
  }

  // ------------------------------------------------------------------ helpers

  /** An int pair from a one- or two-element size list (PyTorch's _pair). */
  static int[] pair(String name, long[] v) {
    if (v == null || (v.length != 1 && v.length != 2)) {
      throw new IllegalArgumentException(
          name + " must be a single int or a pair of ints, got " + java.util.Arrays.toString(v));
    }
    return new int[] {Math.toIntExact(v[0]), Math.toIntExact(v[v.length - 1])};
  }

  static void checkFloat(String op, Tensor t) {
    if (!t.dtype().isFloatingPoint()) {
      throw new IllegalArgumentException(
          "\"" + op + "\" not implemented for '" + typeWord(t.dtype()) + "'");
    }
  }

  static void checkSameType(Tensor input, Tensor other, String what) {
    if (other != null && other.dtype() != input.dtype()) {
      throw new IllegalArgumentException(
          "Input type ("
              + typeWord(input.dtype())
              + ") and "
              + what
              + " type ("
              + typeWord(other.dtype())
              + ") should be the same");
    }
  }

  static String typeWord(DType d) {
    return switch (d) {
      case FLOAT32 -> "float";
      case FLOAT64 -> "double";
      case INT64 -> "Long";
      case BOOL -> "Bool";
    };
  }

  /**
   * These backward kernels work on raw values and record nothing, so a create_graph backward
   * through them would silently lose the second-order terms; it fails instead.
   */
  static void checkNoDoubleBackward(Ctx c, Tensor g) {
    checkNoDoubleBackward(c, g, null, null);
  }

  /** {@link #checkNoDoubleBackward(Ctx, Tensor)} with two saved tensors (either may be null). */
  static void checkNoDoubleBackward(Ctx c, Tensor g, Tensor a, Tensor b) {
    if (!dev.panagrad.autograd.GradMode.isEnabled()) return;
    if (g.requiresGrad() || (a != null && a.requiresGrad()) || (b != null && b.requiresGrad())) {
      throw new UnsupportedOperationException(
          "double backward (create_graph=True) through " + c.op().pyName() + " is not supported");
    }
  }

  static double[] data(Tensor t) {
    return t.toDoubleArray();
  }

  // ------------------------------------------------------------------ conv2d

  /**
   * F.conv2d: input [N, C, H, W] (or unbatched [C, H, W]), weight [O, C / groups, kH, kW], optional
   * bias [O]; records ConvolutionBackward0.
   */
  public static Tensor conv2d(
      Tensor x, Tensor w, Tensor b, long[] stride, long[] padding, long[] dilation, long groups) {
    if (x.dim() == 3) {
      Tensor r = conv2d(x.unsqueeze(0), w, b, stride, padding, dilation, groups);
      return r.squeeze(0);
    }
    if (x.dim() != 4) {
      throw new IllegalArgumentException(
          "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: "
              + Shapes.str(x.shape()));
    }
    ConvArgs args = ConvArgs.of(stride, padding, dilation, groups);
    int[] s = args.stride(), p = args.padding(), d = args.dilation();
    if (s[0] <= 0 || s[1] <= 0)
      throw new IllegalArgumentException("non-positive stride is not supported");
    if (p[0] < 0 || p[1] < 0)
      throw new IllegalArgumentException("negative padding is not supported");
    if (d[0] <= 0 || d[1] <= 0) {
      throw new IllegalArgumentException("dilation should be greater than zero");
    }
    if (groups <= 0) throw new IllegalArgumentException("non-positive groups is not supported");
    long[] xs = x.shapeArray(), ws = w.shapeArray(); // read only
    if (w.dim() != 4) {
      throw new IllegalArgumentException(
          "Expected "
              + w.dim()
              + "-dimensional input for "
              + w.dim()
              + "-dimensional weight "
              + Shapes.str(ws)
              + ", but got 4-dimensional input of size "
              + Shapes.str(xs)
              + " instead");
    }
    if (ws[0] % groups != 0) {
      throw new IllegalArgumentException(
          "Given groups="
              + groups
              + ", expected weight to be divisible by "
              + groups
              + " at dimension 0, but got weight of size "
              + Shapes.str(ws)
              + " instead");
    }
    if (xs[1] != ws[1] * groups) {
      throw new IllegalArgumentException(
          "Given groups="
              + groups
              + ", weight of size "
              + Shapes.str(ws)
              + ", expected input"
              + Shapes.str(xs)
              + " to have "
              + ws[1] * groups
              + " channels, but got "
              + xs[1]
              + " channels instead");
    }
    if (b != null && (b.dim() != 1 || b.shapeArray()[0] != ws[0])) {
      throw new IllegalArgumentException(
          "Given weight of size "
              + Shapes.str(ws)
              + ", expected bias to be 1-dimensional with "
              + ws[0]
              + " elements, but got bias of size "
              + Shapes.str(b.shape())
              + " instead");
    }
    long ekH = d[0] * (ws[2] - 1) + 1, ekW = d[1] * (ws[3] - 1) + 1;
    long pH = xs[2] + 2L * p[0], pW = xs[3] + 2L * p[1];
    if (pH < ekH || pW < ekW) {
      throw new IllegalArgumentException(
          "Calculated padded input size per channel: ("
              + pH
              + " x "
              + pW
              + "). Kernel size: ("
              + ekH
              + " x "
              + ekW
              + "). Kernel size can't be greater than actual input size");
    }
    checkFloat("conv2d", x);
    checkSameType(x, w, "weight");
    checkSameType(x, b, "bias");
    Geo g = Geo.of(xs, ws, args);
    boolean record = Tape.needsRecord(x, w, b);
    // The weight's gradient is a product with the unfolded input: with one group, the forward's
    // cols is kept for it (saved, released with the row) instead of unfolding x again.
    boolean bySample = bySample(g, x);
    Tensor[] cols =
        record && w.requiresGrad() && groups == 1 && !direct(g, x.dtype()) && !bySample
            ? new Tensor[1]
            : null;
    Tensor y = forward(g, x, w, b, bySample, cols);
    if (record && cols == null) {
      Tape.recordTernary(Op.CONVOLUTION, y, x, w, b, x, w, args);
    } else if (record) {
      Tape.record(
          Op.CONVOLUTION, y, new Tensor[] {x, w, b}, new Tensor[] {x, w, cols[0]}, null, args);
    }
    return y;
  }

  /** The sizes of one conv2d call. */
  static final class Geo {
    final int n, c, h, w, o, kh, kw, oh, ow, groups, cg, og, k, p;
    final ConvArgs a;

    /** The output's shape [N, O, oH, oW], shared (read only). */
    final long[] outShape;

    /** Where each kernel tap (ki * kw + kj) reads, with stride 1 along W; else empty. */
    final Taps[] taps;

    private final long[] xs, ws; // what this geometry was made from (shared, read only)

    /**
     * The geometries of recent calls. A training step makes the same few every step (each layer's
     * forward and backward), so a call finds its own here instead of making a Geo and its taps.
     * Read and written without locks: a Geo's fields are final, so a racing reader sees one whole
     * (JLS 17.5), and a lost write costs a later miss.
     */
    private static final Geo[] RECENT = new Geo[8];

    /** The geometry of x of shape xs and weights ws under a: a recent one, or a new one. */
    static Geo of(long[] xs, long[] ws, ConvArgs a) {
      Geo[] recent = RECENT;
      for (Geo g : recent) if (g != null && g.madeFrom(xs, ws, a)) return g;
      Geo g = new Geo(xs, ws, a);
      System.arraycopy(recent, 0, recent, 1, recent.length - 1);
      recent[0] = g;
      return g;
    }

    private boolean madeFrom(long[] xs, long[] ws, ConvArgs b) {
      return (this.xs == xs || Arrays.equals(this.xs, xs))
          && (this.ws == ws || Arrays.equals(this.ws, ws))
          && a.groups() == b.groups()
          && Arrays.equals(a.stride(), b.stride())
          && Arrays.equals(a.padding(), b.padding())
          && Arrays.equals(a.dilation(), b.dilation());
    }

    private Geo(long[] xs, long[] ws, ConvArgs a) {
      this.xs = SharedDims.of(xs);
      this.ws = SharedDims.of(ws);
      this.a = a;
      n = (int) xs[0];
      c = (int) xs[1];
      h = (int) xs[2];
      w = (int) xs[3];
      o = (int) ws[0];
      kh = (int) ws[2];
      kw = (int) ws[3];
      oh = (h + 2 * a.padding[0] - a.dilation[0] * (kh - 1) - 1) / a.stride[0] + 1;
      ow = (w + 2 * a.padding[1] - a.dilation[1] * (kw - 1) - 1) / a.stride[1] + 1;
      groups = a.groups;
      cg = c / groups;
      og = o / groups;
      k = cg * kh * kw;
      p = oh * ow;
      outShape = SharedDims.of(new long[] {n, o, oh, ow});
      boolean unitW = a.stride[1] == 1 && a.dilation[1] == 1;
      taps = new Taps[unitW ? kh * kw : 0];
      for (int t = 0; t < taps.length; t++) taps[t] = taps(this, t / kw, t % kw);
    }
  }

  /**
   * Unfolds group {@code gi} of every sample of x into cols, a contiguous [K, N * P] tensor (K =
   * C/groups * kH * kW rows, one column per output position of every sample; zero where the window
   * reads padding), so one matrix product covers the whole batch.
   */
  static void im2col(Geo g, Tensor x, int gi, Tensor cols) {
    MemorySegment xs = x.segment(), cs = cols.segment();
    long xo = x.storageOffset();
    String sig = "im2col " + g.k + "x" + g.n * g.p;
    if (x.dtype() == DType.FLOAT32) {
      // samples split over the pool's threads; each writes its own columns of cols
      long np = (long) g.n * g.p;
      Parallel.Range samples =
          (n0, n1) -> im2colF(g, xs, xo, gi, cs, 0, np, g.p, (int) n0, (int) n1);
      Recorder.Instruction run = () -> Parallel.forItems(g.n, (long) g.k * g.p, samples);
      run.run();
      if (Recorder.active()) Recorder.record(sig, run);
      return;
    }
    im2colD(g, xs, xo, gi, cs);
    if (Recorder.active()) Recorder.record(sig, () -> im2colD(g, xs, xo, gi, cs));
  }

  /** {@link #im2col} for float64, on the segments (float32 has {@link #im2colF}). */
  private static void im2colD(Geo g, MemorySegment xs, long xo, int gi, MemorySegment cs) {
    long es = 8;
    ConvArgs a = g.a;
    long np = (long) g.n * g.p;
    for (int ci = 0; ci < g.cg; ci++) {
      for (int ki = 0; ki < g.kh; ki++) {
        for (int kj = 0; kj < g.kw; kj++) {
          long row = ((long) (ci * g.kh + ki) * g.kw + kj) * np;
          for (int ni = 0; ni < g.n; ni++) {
            long plane = xo + ((long) (ni * g.c) + gi * g.cg + ci) * g.h * g.w;
            long col = row + (long) ni * g.p;
            for (int y = 0; y < g.oh; y++, col += g.ow) {
              int ih = y * a.stride[0] - a.padding[0] + ki * a.dilation[0];
              if (ih < 0 || ih >= g.h) {
                zero(cs, col * es, (long) g.ow * es);
                continue;
              }
              long rowAt = plane + (long) ih * g.w;
              if (a.stride[1] == 1 && a.dilation[1] == 1) {
                // A run of the input row: copy it, zero the padded ends.
                int z0 = Math.min(g.ow, Math.max(0, a.padding[1] - kj)),
                    z1 = Math.min(g.ow, g.w + a.padding[1] - kj);
                if (z0 > 0) zero(cs, col * es, (long) z0 * es);
                if (z1 > z0) {
                  MemorySegment.copy(
                      xs,
                      (rowAt + z0 - a.padding[1] + kj) * es,
                      cs,
                      (col + z0) * es,
                      (long) (z1 - z0) * es);
                }
                if (z1 < g.ow)
                  zero(cs, (col + Math.max(z1, z0)) * es, (long) (g.ow - Math.max(z1, z0)) * es);
                continue;
              }
              for (int z = 0; z < g.ow; z++) {
                int iw = z * a.stride[1] - a.padding[1] + kj * a.dilation[1];
                boolean in = iw >= 0 && iw < g.w;
                cs.setAtIndex(D, col + z, in ? xs.getAtIndex(D, rowAt + iw) : 0d);
              }
            }
          }
        }
      }
    }
  }

  /** Zeroes {@code bytes} bytes of {@code s} at {@code at} without slicing (a slice allocates). */
  private static void zero(MemorySegment s, long at, long bytes) {
    for (long done = 0; done < bytes; done += ZEROS.byteSize()) {
      MemorySegment.copy(ZEROS, 0, s, at + done, Math.min(ZEROS.byteSize(), bytes - done));
    }
  }

  private static final MemorySegment ZEROS = java.lang.foreign.Arena.global().allocate(4096, 64);

  /** Folds cols [K, N * P] back into group {@code gi} of gx (contiguous), adding overlaps. */
  static void col2im(Geo g, Tensor cols, int gi, Tensor gx) {
    MemorySegment cs = cols.segment(), xs = gx.segment();
    String sig = "col2im " + g.k + "x" + g.n * g.p;
    if (gx.dtype() == DType.FLOAT32) {
      // samples split over the pool's threads; each folds into its own planes of gx
      long np = (long) g.n * g.p;
      Parallel.Range samples = (n0, n1) -> col2imF(g, cs, 0, np, g.p, gi, xs, (int) n0, (int) n1);
      Recorder.Instruction run = () -> Parallel.forItems(g.n, (long) g.k * g.p, samples);
      run.run();
      if (Recorder.active()) Recorder.record(sig, run);
      return;
    }
    col2imD(g, cs, gi, xs);
    if (Recorder.active()) Recorder.record(sig, () -> col2imD(g, cs, gi, xs));
  }

  /** {@link #col2im} for float64, on the segments (float32 has {@link #col2imF}). */
  private static void col2imD(Geo g, MemorySegment cs, int gi, MemorySegment xs) {
    ConvArgs a = g.a;
    long np = (long) g.n * g.p;
    for (int ci = 0; ci < g.cg; ci++) {
      for (int ki = 0; ki < g.kh; ki++) {
        for (int kj = 0; kj < g.kw; kj++) {
          long row = ((long) (ci * g.kh + ki) * g.kw + kj) * np;
          for (int ni = 0; ni < g.n; ni++) {
            long plane = ((long) (ni * g.c) + gi * g.cg + ci) * g.h * g.w;
            long col = row + (long) ni * g.p;
            for (int y = 0; y < g.oh; y++, col += g.ow) {
              int ih = y * a.stride[0] - a.padding[0] + ki * a.dilation[0];
              if (ih < 0 || ih >= g.h) continue;
              if (a.stride[1] == 1 && a.dilation[1] == 1) {
                // A run of the input row gets a run of cols added: one kernel call.
                int z0 = Math.min(g.ow, Math.max(0, a.padding[1] - kj)),
                    z1 = Math.min(g.ow, g.w + a.padding[1] - kj);
                if (z1 > z0) {
                  long at = plane + (long) ih * g.w + z0 - a.padding[1] + kj;
                  K.binaryD(BinaryOp.ADD, xs, at, 1, cs, col + z0, 1, xs, at, z1 - z0, 1d);
                }
                continue;
              }
              for (int z = 0; z < g.ow; z++) {
                int iw = z * a.stride[1] - a.padding[1] + kj * a.dilation[1];
                if (iw < 0 || iw >= g.w) continue;
                long at = plane + (long) ih * g.w + iw;
                xs.setAtIndex(D, at, xs.getAtIndex(D, at) + cs.getAtIndex(D, col + z));
              }
            }
          }
        }
      }
    }
  }

  // Note [float32 planes on the heap]. The float32 im2col, col2im and max pooling move one input
  // plane at a time into a heap array (one bulk copy), index plain arrays in their window loops,
  // and move whole rows of cols or whole output planes back in one bulk copy. The segment loops
  // they replace paid a bounds check per element, or a short copy per window row (an [11]-float
  // row of W7's second conv is 44 bytes: the call cost more than the copy). The arrays are the
  // thread's own (PlaneScratch), reused by every later call, so neither an eager call nor a
  // replayed one allocates after its first run on a thread. The row work is the plane kernels'
  // (Kernels.copyRowsF, addRowsF, col2imPlaneF, maxPool2x2F: SIMD in the vector kernels, equal
  // to the scalar ones bit for bit). The arithmetic and its order are those of the float64 loops,
  // so the bits are too.

  /**
   * {@link #im2col} for float32 on samples [n0, n1), a (sample, channel) plane at a time: row r of
   * sample ni's columns goes to cs at {@code at + r * rowStride + ni * sampleStride} ([K, N * P]
   * for the whole batch: 0, N * P, P; one sample's [K, P]: its place, P, 0).
   */
  private static void im2colF(
      Geo g,
      MemorySegment xs,
      long xo,
      int gi,
      MemorySegment cs,
      long at0,
      long rowStride,
      long sampleStride,
      int n0,
      int n1) {
    float[] plane = PLANES.first(g.h * g.w), run = PLANES.second(g.p);
    for (int ni = n0; ni < n1; ni++) {
      for (int ci = 0; ci < g.cg; ci++) {
        long at = xo + ((long) (ni * g.c) + gi * g.cg + ci) * g.h * g.w;
        MemorySegment.copy(xs, F, at * 4, plane, 0, g.h * g.w);
        for (int ki = 0; ki < g.kh; ki++) {
          for (int kj = 0; kj < g.kw; kj++) {
            unfoldTap(g, plane, ki, kj, run);
            long row = ((long) (ci * g.kh + ki) * g.kw + kj) * rowStride;
            MemorySegment.copy(run, 0, cs, F, (at0 + row + ni * sampleStride) * 4, g.p);
          }
        }
      }
    }
  }

  /** run[y, z] = the plane's value under kernel tap (ki, kj) at output (y, z), 0 in padding. */
  private static void unfoldTap(Geo g, float[] plane, int ki, int kj, float[] run) {
    ConvArgs a = g.a;
    if (a.stride[1] != 1 || a.dilation[1] != 1) {
      for (int y = 0, col = 0; y < g.oh; y++, col += g.ow) {
        int ih = y * a.stride[0] - a.padding[0] + ki * a.dilation[0];
        int rowAt = ih * g.w;
        for (int z = 0; z < g.ow; z++) {
          int iw = z * a.stride[1] - a.padding[1] + kj * a.dilation[1];
          run[col + z] = ih >= 0 && ih < g.h && iw >= 0 && iw < g.w ? plane[rowAt + iw] : 0f;
        }
      }
      return;
    }
    // Stride 1 along W: the taps of an output row are a run of the input row, and the rows that
    // read inside the plane, [y0, y1), are one block of rows for copyRowsF. Padding is zeros.
    Taps t = g.taps[ki * g.kw + kj];
    if (t.y0 > 0) java.util.Arrays.fill(run, 0, t.y0 * g.ow, 0f);
    if (t.y1 < g.oh) java.util.Arrays.fill(run, t.y1 * g.ow, g.oh * g.ow, 0f);
    for (int y = t.y0; y < t.y1 && (t.z0 > 0 || t.z1 < g.ow); y++) {
      java.util.Arrays.fill(run, y * g.ow, y * g.ow + t.z0, 0f);
      java.util.Arrays.fill(run, y * g.ow + t.z1, (y + 1) * g.ow, 0f);
    }
    K.copyRowsF(
        plane, t.planeAt, t.planeStride, run, t.y0 * g.ow + t.z0, g.ow, t.y1 - t.y0, t.z1 - t.z0);
  }

  /**
   * Where kernel tap (ki, kj) reads, with stride 1 along W: output rows [y0, y1) and columns [z0,
   * z1) read inside the plane, from planeAt (output (y0, z0)) on, planeStride apart per row.
   */
  private record Taps(int y0, int y1, int z0, int z1, int planeAt, int planeStride) {}

  private static Taps taps(Geo g, int ki, int kj) {
    ConvArgs a = g.a;
    int z0 = Math.min(g.ow, Math.max(0, a.padding[1] - kj));
    int z1 = Math.max(z0, Math.min(g.ow, g.w + a.padding[1] - kj));
    int y0 = 0, y1 = g.oh;
    while (y0 < g.oh && y0 * a.stride[0] - a.padding[0] + ki * a.dilation[0] < 0) y0++;
    while (y1 > y0 && (y1 - 1) * a.stride[0] - a.padding[0] + ki * a.dilation[0] >= g.h) y1--;
    int ih0 = y0 * a.stride[0] - a.padding[0] + ki * a.dilation[0];
    return new Taps(y0, y1, z0, z1, ih0 * g.w + z0 - a.padding[1] + kj, a.stride[0] * g.w);
  }

  /**
   * {@link #col2im} for float32 on samples [n0, n1), a (sample, channel) plane at a time: each
   * input element gets its taps added in the order (ki, kj), as in the float64 loop.
   */
  private static void col2imF(
      Geo g,
      MemorySegment cs,
      long at0,
      long rowStride,
      long sampleStride,
      int gi,
      MemorySegment xs,
      int n0,
      int n1) {
    ConvArgs a = g.a;
    boolean unit = a.stride[0] == 1 && a.stride[1] == 1 && a.dilation[0] == 1 && a.dilation[1] == 1;
    int taps = g.kh * g.kw, runsAt = PlaneScratch.SLACK; // a vector in: the kernel's room
    float[] plane = PLANES.first(g.h * g.w);
    float[] runs = PLANES.second(unit ? runsAt + taps * g.p : g.p);
    for (int ni = n0; ni < n1; ni++) {
      for (int ci = 0; ci < g.cg; ci++) {
        long at = ((long) (ni * g.c) + gi * g.cg + ci) * g.h * g.w;
        MemorySegment.copy(xs, F, at * 4, plane, 0, g.h * g.w);
        if (unit) {
          // the plane's kh * kw runs side by side, then one kernel call adds them all
          for (int t = 0; t < taps; t++) {
            long row = at0 + ((long) ci * taps + t) * rowStride + ni * sampleStride;
            MemorySegment.copy(cs, F, row * 4, runs, runsAt + t * g.p, g.p);
          }
          K.col2imPlaneF(
              runs,
              runsAt,
              g.p,
              plane,
              g.h,
              g.w,
              g.oh,
              g.ow,
              g.kh,
              g.kw,
              a.padding[0],
              a.padding[1]);
        } else {
          for (int ki = 0; ki < g.kh; ki++) {
            for (int kj = 0; kj < g.kw; kj++) {
              long row = at0 + ((long) (ci * g.kh + ki) * g.kw + kj) * rowStride;
              MemorySegment.copy(cs, F, (row + ni * sampleStride) * 4, runs, 0, g.p);
              addTap(g, runs, ki, kj, plane);
            }
          }
        }
        MemorySegment.copy(plane, 0, xs, F, at * 4, g.h * g.w);
      }
    }
  }

  /** plane += the run of kernel tap (ki, kj), any stride and dilation (col2im's general case). */
  private static void addTap(Geo g, float[] run, int ki, int kj, float[] plane) {
    ConvArgs a = g.a;
    if (g.taps.length > 0) {
      Taps t = g.taps[ki * g.kw + kj];
      K.addRowsF(
          run, t.y0 * g.ow + t.z0, g.ow, plane, t.planeAt, t.planeStride, t.y1 - t.y0, t.z1 - t.z0);
      return;
    }
    for (int y = 0, col = 0; y < g.oh; y++, col += g.ow) {
      int ih = y * a.stride[0] - a.padding[0] + ki * a.dilation[0];
      if (ih < 0 || ih >= g.h) continue;
      int rowAt = ih * g.w;
      for (int z = 0; z < g.ow; z++) {
        int iw = z * a.stride[1] - a.padding[1] + kj * a.dilation[1];
        if (iw >= 0 && iw < g.w) plane[rowAt + iw] += run[col + z];
      }
    }
  }

  /**
   * y[n, o, p] = b[o] + sum_k W[o, k] cols[k, (n, p)]: directly for few taps, a sample at a time
   * when {@code bySample} ({@link #bySample}, decided once by the caller), else per group one
   * matrix product over the whole batch (BLAS), then the [O, N, P] result laid out as [N, O, P]
   * with the bias added. With {@code keepCols} non-null, the unfolded input is left in {@code
   * keepCols[0]}.
   */
  static Tensor forward(Geo g, Tensor x, Tensor w, Tensor b, boolean bySample, Tensor[] keepCols) {
    Tensor y = Tensor.empty(x.dtype(), g.outShape);
    if (direct(g, x.dtype())) {
      directForward(g, x.contiguous(), w.contiguous(), b, y);
      return y;
    }
    if (bySample) {
      bySampleForward(g, x.contiguous(), w.contiguous(), b, y);
      return y;
    }
    try (var ng = GradMode.noGrad()) {
      Tensor cols = Tensor.empty(x.dtype(), g.k, (long) g.n * g.p);
      Tensor w2 = w.reshape(g.o, g.k);
      Tensor xc = x.contiguous();
      for (int gi = 0; gi < g.groups; gi++) {
        im2col(g, xc, gi, cols);
        Tensor prod = w2.narrow(0, (long) gi * g.og, g.og).mm(cols); // [og, N * P]
        toNchw(g, prod, gi * g.og, b, y);
      }
      if (keepCols != null) keepCols[0] = cols;
    }
    return y;
  }

  // ------------------------------------------------------------------ a sample at a time

  /**
   * The by-sample conv2d's scratch comes in this many slots at most (one sample's columns, and a
   * partial sum of the weight gradient, each): slot s always takes the same run of samples, and the
   * partial sums are added in slot order, so results do not depend on the thread count.
   */
  static final int SLOTS = 8;

  /**
   * True when conv2d runs a sample at a time (float32, one group, not direct, a native BLAS that
   * several threads may call at once): each thread unfolds a sample into its own [K, P] columns,
   * which stay in its cache, and multiplies them straight into the sample's NCHW output. The
   * whole-batch path writes all of [K, N * P] to memory and reads it back: for W7's second conv,
   * 8.9 MB each way, plus a pass that lays the product out as NCHW.
   */
  static boolean bySample(Geo g, Tensor x) {
    return x.dtype() == DType.FLOAT32
        && g.groups == 1
        && !direct(g, x.dtype())
        && g.n > 0
        && g.o > 0
        && g.p > 0
        && Gemm.concurrentProducts((long) g.o * g.p * g.k);
  }

  /** The first sample of slot s, of slots slots over n samples (s = slots: n). */
  private static int slotStart(int s, int slots, int n) {
    return (int) ((long) s * n / slots);
  }

  /**
   * y[n] (O x P) = W (O x K) cols(x[n]) (K x P), then + b[o] on each row: per sample, samples in
   * slots over the pool's threads, products run concurrently (Gemm.concurrently). Records itself.
   */
  static void bySampleForward(Geo g, Tensor x, Tensor w, Tensor b, Tensor y) {
    int slots = Math.min(g.n, SLOTS);
    // scratch: storage of the scope (no tensor handle), released with the step
    Storage cols = Storage.allocate((long) slots * g.k * g.p * 4);
    boolean recorded = Recorder.active();
    BySampleForward run = recorded ? new BySampleForward() : EagerTasks.get().bySampleForward;
    run.set(g, slots, x, w, b, y, cols);
    run.run();
    java.lang.ref.Reference.reachabilityFence(cols); // unscoped: the Cleaner must wait
    if (recorded) {
      Recorder.record(
          "conv2d by sample " + g.n + "x" + g.c + "x" + g.h + "x" + g.w + " o=" + g.o, run);
    }
  }

  /**
   * {@link #bySampleForward}'s work: the slots split over the pool's threads, inside {@link
   * Gemm#concurrently}. An eager call re-aims its thread's task and product (no garbage); a
   * recorded one keeps its own.
   */
  private static final class BySampleForward implements Parallel.Range, Recorder.Instruction {
    private final Gemm.Ranged product = new Gemm.Ranged();
    private final Runnable allSlots = () -> Parallel.forItems(this.slots, this.work, this);
    private Geo g;
    private int slots;
    private long kp, op, work, xo, wo, yo, bo, bst;
    private MemorySegment xs, ws, cs, ys, bs;

    void set(Geo g, int slots, Tensor x, Tensor w, Tensor b, Tensor y, Storage cols) {
      this.g = g;
      this.slots = slots;
      kp = (long) g.k * g.p;
      op = (long) g.o * g.p;
      work = (long) g.n / slots * g.o * g.p * g.k;
      xs = x.segment();
      ws = w.segment();
      cs = cols.segment();
      ys = y.segment();
      bs = b == null ? null : b.segment();
      xo = x.storageOffset();
      wo = w.storageOffset();
      yo = y.storageOffset();
      bo = b == null ? 0 : b.storageOffset();
      bst = b == null ? 0 : b.strideArray()[0];
      product.set(
          false,
          false,
          g.o,
          g.p,
          g.k,
          1f,
          ws,
          wo,
          wo,
          g.k,
          cs,
          0,
          (slots - 1) * kp,
          g.p,
          0f,
          ys,
          yo,
          yo + (g.n - 1) * op,
          g.p);
    }

    @Override
    public void run() {
      Gemm.concurrently(allSlots);
    }

    /** y[n] (O x P) = W (O x K) cols(x[n]) (K x P), then + b[o] on each row, for slots [s0, s1). */
    @Override
    public void run(long s0, long s1) {
      for (int s = (int) s0; s < s1; s++) {
        long at = s * kp; // slot s's columns in the scratch
        for (int ni = slotStart(s, slots, g.n); ni < slotStart(s + 1, slots, g.n); ni++) {
          im2colF(g, xs, xo, 0, cs, at, g.p, 0, ni, ni + 1);
          long yAt = yo + ni * op;
          product.run(wo, at, yAt);
          for (int o = 0; bs != null && o < g.o; o++) {
            long row = yAt + (long) o * g.p;
            K.binaryF(BinaryOp.ADD, ys, row, 1, bs, bo + o * bst, 0, ys, row, g.p, 1f);
          }
        }
      }
    }
  }

  /**
   * ConvolutionBackward0 a sample at a time (see {@link #bySample}): grad_input[n] = col2im(W^T
   * grad[n]) into gx (zeros; null: not needed), grad_weight = the sum over samples of grad[n]
   * cols(x[n])^T into gw ([O, K]; null: not needed), each slot summing its samples, then the slots
   * added in order. grad is contiguous. Records itself.
   */
  static void bySampleBackward(Geo g, Tensor x, Tensor w, Tensor grad, Tensor gx, Tensor gw) {
    int slots = Math.min(g.n, SLOTS);
    // scratch: storage of the scope (no tensor handles), released with the step
    Storage cols = Storage.allocate((long) slots * g.k * g.p * 4);
    Storage parts = gw == null ? null : Storage.allocate((long) slots * g.o * g.k * 4);
    boolean recorded = Recorder.active();
    BySampleBackward run = recorded ? new BySampleBackward() : EagerTasks.get().bySampleBackward;
    run.set(g, slots, x, w, grad, gx, gw, cols, parts);
    run.run();
    java.lang.ref.Reference.reachabilityFence(cols); // unscoped: the Cleaner must wait
    java.lang.ref.Reference.reachabilityFence(parts);
    if (recorded) {
      Recorder.record(
          "conv2d by sample backward " + g.n + "x" + g.c + "x" + g.h + "x" + g.w + " o=" + g.o,
          run);
    }
  }

  /**
   * {@link #bySampleBackward}'s work: the slots split over the pool's threads inside {@link
   * Gemm#concurrently}, then the slots' weight gradients added in slot order. An eager call re-aims
   * its thread's task and products (no garbage); a recorded one keeps its own.
   */
  private static final class BySampleBackward implements Parallel.Range, Recorder.Instruction {
    // cols[s] (K x P) = W^T (K x O) grad[n] (O x P)
    private final Gemm.Ranged toCols = new Gemm.Ranged();
    // parts[s] (O x K) = grad[n] (O x P) cols(x[n])^T (P x K), then += for the slot's next samples
    private final Gemm.Ranged toParts = new Gemm.Ranged(), addToParts = new Gemm.Ranged();
    private final Runnable allSlots = () -> Parallel.forItems(this.slots, this.work, this);
    private Geo g;
    private int slots;
    private boolean needX, needW;
    private long kp, op, ok, work, xo, wo, go, gwo;
    private MemorySegment xs, ws, gs, cs, xgs, ps, gws;

    void set(
        Geo g,
        int slots,
        Tensor x,
        Tensor w,
        Tensor grad,
        Tensor gx,
        Tensor gw,
        Storage cols,
        Storage parts) {
      this.g = g;
      this.slots = slots;
      needX = gx != null;
      needW = gw != null;
      kp = (long) g.k * g.p;
      op = (long) g.o * g.p;
      ok = (long) g.o * g.k;
      work = (long) g.n / slots * g.o * g.p * g.k;
      xs = x.segment();
      ws = w.segment();
      gs = grad.segment();
      cs = cols.segment();
      xgs = needX ? gx.segment() : null;
      ps = needW ? parts.segment() : null;
      gws = needW ? gw.segment() : null;
      xo = x.storageOffset();
      wo = w.storageOffset();
      go = grad.storageOffset();
      gwo = needW ? gw.storageOffset() : 0;
      long gLast = go + (g.n - 1) * op, cLast = (slots - 1) * kp;
      long pLast = (slots - 1) * ok; // the scratch storages start at 0
      if (needX) {
        toCols.set(
            true, false, g.k, g.p, g.o, 1f, ws, wo, wo, g.k, gs, go, gLast, g.p, 0f, cs, 0, cLast,
            g.p);
      }
      if (needW) {
        toParts.set(
            false, true, g.o, g.k, g.p, 1f, gs, go, gLast, g.p, cs, 0, cLast, g.p, 0f, ps, 0, pLast,
            g.k);
        addToParts.set(
            false, true, g.o, g.k, g.p, 1f, gs, go, gLast, g.p, cs, 0, cLast, g.p, 1f, ps, 0, pLast,
            g.k);
      }
    }

    @Override
    public void run() {
      Gemm.concurrently(allSlots);
      if (needW) {
        MemorySegment.copy(ps, 0, gws, gwo * 4, ok * 4);
        for (int s = 1; s < slots; s++) {
          K.binaryF(BinaryOp.ADD, gws, gwo, 1, ps, s * ok, 1, gws, gwo, ok, 1f);
        }
      }
    }

    /** Slots [s0, s1): each sample's weight gradient into its slot's part, its input gradient. */
    @Override
    public void run(long s0, long s1) {
      for (int s = (int) s0; s < s1; s++) {
        long at = s * kp; // slot s's columns in the scratch
        int first = slotStart(s, slots, g.n);
        for (int ni = first; ni < slotStart(s + 1, slots, g.n); ni++) {
          long gAt = go + ni * op;
          if (needW) {
            im2colF(g, xs, xo, 0, cs, at, g.p, 0, ni, ni + 1);
            (ni == first ? toParts : addToParts).run(gAt, at, s * ok);
          }
          if (needX) {
            toCols.run(wo, gAt, at);
            col2imF(g, cs, at, g.p, 0, 0, xgs, ni, ni + 1);
          }
        }
      }
    }
  }

  // ------------------------------------------------------------------ direct conv2d

  /**
   * The largest K (= C * kH * kW) that convolves directly ({@link Kernels#convPlaneF}) instead of
   * unfolding the input for a matrix product. With K this small a product does little work per
   * value it moves: W7's first layer (K = 9, 64 x 1 x 28 x 28 in, 32 out) took 0.84 ms in the
   * product and 1.09 ms in the weight gradient's product on 2 threads, besides the passes that
   * unfold the input and lay the product out as NCHW, all of which the direct sums skip.
   */
  static final int DIRECT_MAX_K = 32;

  /** True when conv2d runs directly: float32, one group, stride 1, dilation 1, small K. */
  static boolean direct(Geo g, DType dtype) {
    ConvArgs a = g.a;
    return dtype == DType.FLOAT32
        && g.groups == 1
        && g.k <= DIRECT_MAX_K
        && a.stride[0] == 1
        && a.stride[1] == 1
        && a.dilation[0] == 1
        && a.dilation[1] == 1;
  }

  /**
   * The direct conv2d's other heap arrays: first, the weights and bias (on the calling thread);
   * second, a third array for a chunk of samples (the output compacted from rows of wp, or the
   * weight gradient's per-tap sums).
   */
  private static final PlaneScratch WEIGHTS = new PlaneScratch();

  /**
   * y = conv2d(x, w, b) by direct sums, samples split over the pool's threads; each sample's input
   * planes are padded into a heap array once and every output channel read from it. Records itself.
   */
  static void directForward(Geo g, Tensor x, Tensor w, Tensor b, Tensor y) {
    // the weights and the bias on the heap, read by every sample: the thread's array in eager
    // mode, the instruction's own when recorded
    int wn = g.o * g.k + g.o;
    boolean recorded = Recorder.active();
    float[] wts = recorded ? new float[wn] : WEIGHTS.first(wn);
    DirectForward run = recorded ? new DirectForward() : EagerTasks.get().directForward;
    run.set(g, x, w, b, y, wts);
    run.run();
    if (recorded) {
      Recorder.record(
          "conv2d direct " + g.n + "x" + g.c + "x" + g.h + "x" + g.w + " k=" + g.k, run);
    }
  }

  /**
   * {@link #directForward}'s work: the weights read to the heap, then the samples split over the
   * pool's threads. An eager call re-aims its thread's task (no garbage); a recorded one keeps its
   * own.
   */
  private static final class DirectForward implements Parallel.Range, Recorder.Instruction {
    private Geo g;
    private MemorySegment xs, ws, ys, bs;
    private long xo, wo, yo, bo, bst;
    private float[] wts;

    void set(Geo g, Tensor x, Tensor w, Tensor b, Tensor y, float[] wts) {
      this.g = g;
      xs = x.segment();
      ws = w.segment();
      ys = y.segment();
      bs = b == null ? null : b.segment();
      xo = x.storageOffset();
      wo = w.storageOffset();
      yo = y.storageOffset();
      bo = b == null ? 0 : b.storageOffset();
      bst = b == null ? 0 : b.strideArray()[0];
      this.wts = wts;
    }

    @Override
    public void run() {
      MemorySegment.copy(ws, F, wo * 4, wts, 0, g.o * g.k);
      for (int o = 0; bs != null && o < g.o; o++)
        wts[g.o * g.k + o] = bs.getAtIndex(F, bo + o * bst);
      Parallel.forItems(g.n, (long) g.o * g.p * g.k, this);
    }

    /** Samples [n0, n1): each sample's planes padded into a heap array once, every channel read. */
    @Override
    public void run(long n0, long n1) {
      int wp = padW(g);
      // kw more: the kernel's last tap reads kw - 1 past the planes (into the slack)
      float[] xp = PLANES.first(g.c * padH(g) * wp + g.kw), rows = PLANES.second(g.oh * wp);
      float[] out = WEIGHTS.second(g.p);
      for (int ni = (int) n0; ni < n1; ni++) {
        padInput(g, xs, xo + (long) ni * g.c * g.h * g.w, xp);
        for (int o = 0; o < g.o; o++) {
          K.convPlaneF(
              xp,
              g.c,
              padH(g),
              wp,
              wts,
              o * g.k,
              g.kh,
              g.kw,
              bs != null,
              bs == null ? 0f : wts[g.o * g.k + o],
              rows,
              g.oh,
              g.ow);
          K.copyRowsF(rows, 0, wp, out, 0, g.ow, g.oh, g.ow); // rows of wp to rows of ow
          MemorySegment.copy(out, 0, ys, F, (yo + ((long) ni * g.o + o) * g.p) * 4, g.p);
        }
      }
    }
  }

  private static int padH(Geo g) {
    return g.h + 2 * g.a.padding[0];
  }

  private static int padW(Geo g) {
    return g.w + 2 * g.a.padding[1];
  }

  /** One sample's C planes (at {@code at} in xs) into xp, each inside a border of zeros. */
  private static void padInput(Geo g, MemorySegment xs, long at, float[] xp) {
    int p0 = g.a.padding[0], p1 = g.a.padding[1], hp = padH(g), wp = padW(g);
    if (p0 == 0 && p1 == 0) {
      MemorySegment.copy(xs, F, at * 4, xp, 0, g.c * g.h * g.w);
      return;
    }
    java.util.Arrays.fill(xp, 0, g.c * hp * wp, 0f);
    for (int ci = 0; ci < g.c; ci++) {
      for (int r = 0; r < g.h; r++) {
        long from = at + ((long) ci * g.h + r) * g.w;
        MemorySegment.copy(xs, F, from * 4, xp, ci * hp * wp + (r + p0) * wp + p1, g.w);
      }
    }
  }

  /**
   * grad_weight [O, K] of a direct conv2d: per sample and output channel the kernels' sums ({@link
   * Kernels#convWeightGradF}), samples split over the pool's threads, then each weight's per-sample
   * sums added in double in sample order, so the result does not depend on the thread count.
   * Records itself.
   */
  static Tensor directWeightGrad(Geo g, Tensor x, Tensor grad) {
    Tensor gw = Tensor.empty(DType.FLOAT32, g.ws); // [O, K] in the weight's shape

    int sums = g.n * g.o * g.k;
    boolean recorded = Recorder.active();
    double[] perSample = recorded ? new double[sums] : PLANE_SUMS.pair(sums)[0];
    DirectWeightGrad run = recorded ? new DirectWeightGrad() : EagerTasks.get().directWeightGrad;
    run.set(g, x, grad, gw, perSample);
    run.run();
    if (recorded) Recorder.record("conv2d direct weight grad " + g.n + "x" + g.o + "x" + g.k, run);
    return gw;
  }

  /**
   * {@link #directWeightGrad}'s work: per-sample sums split over the pool's threads, then added in
   * sample order. An eager call re-aims its thread's task (no garbage); a recorded one keeps its
   * own.
   */
  private static final class DirectWeightGrad implements Parallel.Range, Recorder.Instruction {
    private Geo g;
    private MemorySegment xs, gs, ws;
    private long xo, go;
    private double[] perSample;

    void set(Geo g, Tensor x, Tensor grad, Tensor gw, double[] perSample) {
      this.g = g;
      xs = x.segment();
      gs = grad.segment();
      ws = gw.segment();
      xo = x.storageOffset();
      go = grad.storageOffset();
      this.perSample = perSample;
    }

    @Override
    public void run() {
      Parallel.forItems(g.n, (long) g.o * g.p * g.k, this);
      for (int i = 0; i < g.o * g.k; i++) {
        double sum = 0;
        for (int ni = 0; ni < g.n; ni++) sum += perSample[ni * g.o * g.k + i];
        ws.setAtIndex(F, i, (float) sum);
      }
    }

    /** Samples [n0, n1): the kernels' sums per sample and output channel into perSample. */
    @Override
    public void run(long n0, long n1) {
      float[] xp = PLANES.first(g.c * padH(g) * padW(g) + g.kw), gp = PLANES.second(g.p);
      float[] work = WEIGHTS.second(g.k * 16);
      for (int ni = (int) n0; ni < n1; ni++) {
        padInput(g, xs, xo + (long) ni * g.c * g.h * g.w, xp);
        for (int o = 0; o < g.o; o++) {
          MemorySegment.copy(gs, F, (go + ((long) ni * g.o + o) * g.p) * 4, gp, 0, g.p);
          K.convWeightGradF(
              gp,
              xp,
              g.c,
              padH(g),
              padW(g),
              g.kh,
              g.kw,
              g.oh,
              g.ow,
              perSample,
              (ni * g.o + o) * g.k,
              work);
        }
      }
    }
  }

  /**
   * y[n, o0 + o, :] = prod[o, n, :] + b[o0 + o] (without a bias: a copy), one kernel call per (n,
   * o) row of P elements: the product laid out as NCHW and the bias added in one pass. The add is
   * the one a separate bias pass would make, so the bits are the same. Records itself.
   */
  static void toNchw(Geo g, Tensor prod, int o0, Tensor b, Tensor y) {
    MemorySegment ps = prod.segment(), ys = y.segment();
    MemorySegment bs = b == null ? null : b.segment();
    long po = prod.storageOffset(), yo = y.storageOffset();
    long bo = b == null ? 0 : b.storageOffset(), bst = b == null ? 0 : b.strideArray()[0];
    boolean f32 = prod.dtype() == DType.FLOAT32;
    // output channels split over the pool's threads
    Parallel.Range channels =
        (c0, c1) -> toNchw(g, ps, po, o0, bs, bo, bst, ys, yo, f32, (int) c0, (int) c1);
    Recorder.Instruction run = () -> Parallel.forItems(g.og, (long) g.n * g.p, channels);
    run.run();
    if (Recorder.active()) {
      Recorder.record("conv2d nchw " + g.og + "x" + g.n + "x" + g.p + " bias=" + (b != null), run);
    }
  }

  private static void toNchw(
      Geo g,
      MemorySegment ps,
      long po,
      int o0,
      MemorySegment bs,
      long bo,
      long bst,
      MemorySegment ys,
      long yo,
      boolean f32,
      int c0,
      int c1) {
    long es = f32 ? 4 : 8;
    for (int o = c0; o < c1; o++) {
      long bAt = bo + (o0 + o) * bst;
      for (int ni = 0; ni < g.n; ni++) {
        long from = po + ((long) o * g.n + ni) * g.p;
        long to = yo + ((long) ni * g.o + o0 + o) * g.p;
        if (bs == null) MemorySegment.copy(ps, from * es, ys, to * es, g.p * es);
        else if (f32) K.binaryF(BinaryOp.ADD, ps, from, 1, bs, bAt, 0, ys, to, g.p, 1f);
        else K.binaryD(BinaryOp.ADD, ps, from, 1, bs, bAt, 0, ys, to, g.p, 1d);
      }
    }
  }

  /**
   * The output gradient grad [N, O, P] (contiguous) laid out as g2 [O, N * P], the layout the
   * products want (g2 null: not needed), and grad_bias[o] = the sum of grad[:, o, :] into gb (gb
   * null: not needed), in one pass over grad. Records itself.
   */
  static void fromNchw(Geo g, Tensor grad, Tensor g2, Tensor gb) {
    // the sum of each (n, o) plane: the thread's reused array, or the instruction's own when
    // recorded (replay may run on another thread)
    boolean recorded = Recorder.active();
    double[] planeSums =
        gb == null ? null : recorded ? new double[g.n * g.o] : PLANE_SUMS.pair(g.n * g.o)[0];
    FromNchw run = recorded ? new FromNchw() : EagerTasks.get().fromNchw;
    run.set(g, grad, g2, gb, planeSums);
    run.run();
    if (recorded) {
      Recorder.record(
          "conv2d grad layout " + g.o + "x" + g.n + "x" + g.p + " bias=" + (gb != null), run);
    }
  }

  /**
   * {@link #fromNchw}'s work: samples split over the pool's threads, then the bias gradient summed
   * in sample order. An eager call re-aims its thread's task (no garbage); a recorded one keeps its
   * own.
   */
  private static final class FromNchw implements Parallel.Range, Recorder.Instruction {
    private Geo g;
    private MemorySegment gs, g2s, bs;
    private long go;
    private boolean f32;
    private double[] planeSums;

    void set(Geo g, Tensor grad, Tensor g2, Tensor gb, double[] planeSums) {
      this.g = g;
      gs = grad.segment();
      go = grad.storageOffset();
      g2s = g2 == null ? null : g2.segment();
      bs = gb == null ? null : gb.segment();
      f32 = grad.dtype() == DType.FLOAT32;
      this.planeSums = planeSums;
    }

    @Override
    public void run() {
      Parallel.forItems(g.n, (long) g.o * g.p, this);
      if (bs != null) sumChannels(g, planeSums, bs, f32);
    }

    @Override
    public void run(long n0, long n1) {
      fromNchw(g, gs, go, g2s, f32, planeSums, (int) n0, (int) n1);
    }
  }

  /**
   * Samples [n0, n1) of grad copied to g2 (when not null), and the sum of each (n, o) plane (by the
   * kernels: a fixed order, the same result every run) into planeSums (when not null).
   */
  private static void fromNchw(
      Geo g,
      MemorySegment gs,
      long go,
      MemorySegment g2s,
      boolean f32,
      double[] planeSums,
      int n0,
      int n1) {
    long es = f32 ? 4 : 8, np = (long) g.n * g.p;
    for (int ni = n0; ni < n1; ni++) {
      for (int o = 0; o < g.o; o++) {
        long from = go + ((long) ni * g.o + o) * g.p;
        if (g2s != null)
          MemorySegment.copy(gs, from * es, g2s, ((long) o * np + (long) ni * g.p) * es, g.p * es);
        if (planeSums != null)
          planeSums[ni * g.o + o] = f32 ? K.sumF(gs, from, g.p) : K.sumD(gs, from, g.p);
      }
    }
  }

  /** grad_bias[o] = the plane sums of channel o added in double in sample order. */
  private static void sumChannels(Geo g, double[] planeSums, MemorySegment bs, boolean f32) {
    for (int o = 0; o < g.o; o++) {
      double sum = 0;
      for (int ni = 0; ni < g.n; ni++) sum += planeSums[ni * g.o + o];
      if (f32) bs.setAtIndex(F, o, (float) sum);
      else bs.setAtIndex(D, o, sum);
    }
  }

  /**
   * ConvolutionBackward0: grad_input = col2im(W^T g), grad_weight = g cols^T (both over the whole
   * batch, one product per group; cols is the forward's when it was saved), grad_bias = g summed
   * over N, H, W.
   */
  public static Tensor[] conv2dBackward(Ctx c, Tensor grad) {
    Tensor x = c.saved(0), wt = c.saved(1);
    checkNoDoubleBackward(c, grad, x, wt);
    ConvArgs args = (ConvArgs) c.attr();
    Geo g = Geo.of(x.shapeArray(), wt.shapeArray(), args);
    boolean nx = c.needsGrad(0), nw = c.needsGrad(1), nb = c.needsGrad(2);
    Tensor gx = nx ? Torch.zeros(x.dtype(), x.shapeArray()) : null; // full() keeps no copy
    Tensor gw = nw && g.groups > 1 ? Tensor.empty(wt.dtype(), g.o, g.k) : null;
    Tensor gb = nb ? Tensor.empty(grad.dtype(), SharedDims.of(g.o)) : null;
    boolean direct = direct(g, x.dtype());
    try (var ng = GradMode.noGrad()) {
      if (bySample(g, x)) {
        Tensor gc = grad.contiguous();
        if (gb != null) fromNchw(g, gc, null, gb);
        // [O, K] row-major is the weight's own layout: the gradient is made in its shape
        Tensor gwo = nw ? Tensor.empty(DType.FLOAT32, g.ws) : null;
        bySampleBackward(g, x.contiguous(), wt.contiguous(), gc, gx, gwo);
        return c.three(gx, gwo, gb);
      }
      // a direct conv2d's weight gradient reads grad and x as they are; the products want grad
      // laid out as [O, N * P]
      boolean productW = nw && !direct;
      Tensor gc = grad.contiguous();
      Tensor g2 = nx || productW ? Tensor.empty(grad.dtype(), g.o, (long) g.n * g.p) : null;
      fromNchw(g, gc, g2, gb);
      Tensor w2 = nx ? wt.reshape(SharedDims.of(g.o, g.k)) : null; // for the input's gradient
      boolean colsSaved = c.savedCount() > 2; // the forward's, see conv2d
      Tensor cols =
          !productW
              ? null
              : colsSaved ? c.saved(2) : Tensor.empty(x.dtype(), g.k, (long) g.n * g.p);
      Tensor xc = x.contiguous();
      if (nw && direct) gw = directWeightGrad(g, xc, gc);
      for (int gi = 0; gi < g.groups && g2 != null; gi++) {
        Tensor gg = g2.narrow(0, (long) gi * g.og, g.og);
        if (productW) {
          if (!colsSaved) im2col(g, xc, gi, cols);
          if (g.groups == 1) gw = gg.mm(cols.t()); // already [O, K]: no copy
          else gw.narrow(0, (long) gi * g.og, g.og).copy_(gg.mm(cols.t()));
        }
        if (nx) {
          Tensor gcols = w2.narrow(0, (long) gi * g.og, g.og).t().mm(gg); // [K, N * P]
          col2im(g, gcols, gi, gx);
        }
      }
    }
    return c.three(gx, nw && !direct ? gw.reshape(wt.shapeArray()) : gw, gb);
  }
}
