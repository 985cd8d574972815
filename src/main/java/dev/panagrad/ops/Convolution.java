package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Ctx;
import dev.panagrad.autograd.GradMode;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;
import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.KernelProvider;
import dev.panagrad.kernels.Kernels;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * 2-D convolution (im2col into native memory, then BLAS matrix products over the whole batch) and
 * 2-D max and average pooling, forward and backward, on NCHW tensors of float32 or float64.
 */
public final class Convolution {
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;
  private static final Kernels K = KernelProvider.get();

  private Convolution() {}

  /** What conv2d's backward needs besides the saved input and weight. */
  public record ConvArgs(int[] stride, int[] padding, int[] dilation, int groups) {}

  /** What pooling's backward needs: the geometry, and for max pooling the argmax of each output. */
  public record PoolArgs(
      long[] inputShape,
      int[] kernel,
      int[] stride,
      int[] padding,
      int[] dilation,
      boolean ceilMode,
      boolean countIncludePad,
      long divisorOverride,
      int[] argmax) {}

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
  static void checkNoDoubleBackward(Ctx c, Tensor g, Tensor... saved) {
    if (!dev.panagrad.autograd.GradMode.isEnabled()) return;
    boolean any = g.requiresGrad();
    for (Tensor t : saved) any |= t != null && t.requiresGrad();
    if (any) {
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
    int[] s = pair("stride", stride), p = pair("padding", padding), d = pair("dilation", dilation);
    if (s[0] <= 0 || s[1] <= 0)
      throw new IllegalArgumentException("non-positive stride is not supported");
    if (p[0] < 0 || p[1] < 0)
      throw new IllegalArgumentException("negative padding is not supported");
    if (d[0] <= 0 || d[1] <= 0) {
      throw new IllegalArgumentException("dilation should be greater than zero");
    }
    if (groups <= 0) throw new IllegalArgumentException("non-positive groups is not supported");
    long[] xs = x.shape(), ws = w.shape();
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
    ConvArgs args = new ConvArgs(s, p, d, (int) groups);
    Geo g = new Geo(xs, ws, args);
    Tensor y = forward(g, x, w, b);
    if (Tape.needsRecord(x, w, b)) {
      Tape.record(Op.CONVOLUTION, y, new Tensor[] {x, w, b}, new Tensor[] {x, w}, null, args);
    }
    return y;
  }

  /** The sizes of one conv2d call. */
  static final class Geo {
    final int n, c, h, w, o, kh, kw, oh, ow, groups, cg, og, k, p;
    final ConvArgs a;

    Geo(long[] xs, long[] ws, ConvArgs a) {
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
    }
  }

  /**
   * Unfolds group {@code gi} of every sample of x into cols, a contiguous [K, N * P] tensor (K =
   * C/groups * kH * kW rows, one column per output position of every sample; zero where the window
   * reads padding), so one matrix product covers the whole batch.
   */
  static void im2col(Geo g, Tensor x, int gi, Tensor cols) {
    MemorySegment xs = x.segment(), cs = cols.segment();
    boolean f32 = x.dtype() == DType.FLOAT32;
    long xo = x.storageOffset();
    im2col(g, xs, xo, f32, gi, cs);
    if (Recorder.active())
      Recorder.record("im2col " + g.k + "x" + g.n * g.p, () -> im2col(g, xs, xo, f32, gi, cs));
  }

  private static void im2col(
      Geo g, MemorySegment xs, long xo, boolean f32, int gi, MemorySegment cs) {
    long es = f32 ? 4 : 8;
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
                if (f32) cs.setAtIndex(F, col + z, in ? xs.getAtIndex(F, rowAt + iw) : 0f);
                else cs.setAtIndex(D, col + z, in ? xs.getAtIndex(D, rowAt + iw) : 0d);
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
    boolean f32 = gx.dtype() == DType.FLOAT32;
    col2im(g, cs, gi, xs, f32);
    if (Recorder.active())
      Recorder.record("col2im " + g.k + "x" + g.n * g.p, () -> col2im(g, cs, gi, xs, f32));
  }

  private static void col2im(Geo g, MemorySegment cs, int gi, MemorySegment xs, boolean f32) {
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
                  if (f32) K.binaryF(BinaryOp.ADD, xs, at, 1, cs, col + z0, 1, xs, at, z1 - z0, 1f);
                  else K.binaryD(BinaryOp.ADD, xs, at, 1, cs, col + z0, 1, xs, at, z1 - z0, 1d);
                }
                continue;
              }
              for (int z = 0; z < g.ow; z++) {
                int iw = z * a.stride[1] - a.padding[1] + kj * a.dilation[1];
                if (iw < 0 || iw >= g.w) continue;
                long at = plane + (long) ih * g.w + iw;
                if (f32) xs.setAtIndex(F, at, xs.getAtIndex(F, at) + cs.getAtIndex(F, col + z));
                else xs.setAtIndex(D, at, xs.getAtIndex(D, at) + cs.getAtIndex(D, col + z));
              }
            }
          }
        }
      }
    }
  }

  /**
   * y[n, o, p] = b[o] + sum_k W[o, k] cols[k, (n, p)]: per group one matrix product over the whole
   * batch (BLAS), then the [O, N, P] result laid out as [N, O, P].
   */
  static Tensor forward(Geo g, Tensor x, Tensor w, Tensor b) {
    Tensor y = Torch.empty(x.dtype(), g.n, g.o, g.oh, g.ow);
    try (var ng = GradMode.noGrad()) {
      Tensor cols = Torch.empty(x.dtype(), g.k, (long) g.n * g.p);
      Tensor w2 = w.reshape(g.o, g.k);
      Tensor y3 = y.reshape(g.n, g.o, g.p);
      for (int gi = 0; gi < g.groups; gi++) {
        im2col(g, x.contiguous(), gi, cols);
        Tensor prod = w2.narrow(0, (long) gi * g.og, g.og).mm(cols); // [og, N * P]
        y3.narrow(1, (long) gi * g.og, g.og).copy_(prod.reshape(g.og, g.n, g.p).permute(1, 0, 2));
      }
      if (b != null) y3.add_(b.reshape(1, g.o, 1));
    }
    return y;
  }

  /**
   * ConvolutionBackward0: grad_input = col2im(W^T g), grad_weight = g cols^T (both over the whole
   * batch, one product per group), grad_bias = g summed over N, H, W.
   */
  public static Tensor[] conv2dBackward(Ctx c, Tensor grad) {
    Tensor x = c.saved(0), wt = c.saved(1);
    checkNoDoubleBackward(c, grad, x, wt);
    ConvArgs args = (ConvArgs) c.attr();
    Geo g = new Geo(x.shape(), wt.shape(), args);
    boolean nx = c.needsGrad(0), nw = c.needsGrad(1), nb = c.needsGrad(2);
    Tensor gx = nx ? Torch.zeros(x.dtype(), x.shape()) : null;
    Tensor gw = nw ? Torch.empty(wt.dtype(), g.o, g.k) : null;
    try (var ng = GradMode.noGrad()) {
      // g as [O, N * P], the layout the products want
      Tensor g2 =
          grad.reshape(g.n, g.o, g.p).permute(1, 0, 2).contiguous().reshape(g.o, (long) g.n * g.p);
      Tensor w2 = wt.reshape(g.o, g.k);
      Tensor cols = Torch.empty(x.dtype(), g.k, (long) g.n * g.p);
      Tensor xc = x.contiguous();
      for (int gi = 0; gi < g.groups; gi++) {
        Tensor gg = g2.narrow(0, (long) gi * g.og, g.og);
        if (nw) {
          im2col(g, xc, gi, cols);
          gw.narrow(0, (long) gi * g.og, g.og).copy_(gg.mm(cols.t()));
        }
        if (nx) {
          Tensor gcols = w2.narrow(0, (long) gi * g.og, g.og).t().mm(gg); // [K, N * P]
          col2im(g, gcols, gi, gx);
        }
      }
    }
    Tensor gb = nb ? grad.sum(new long[] {0, 2, 3}, false) : null;
    return new Tensor[] {gx, nw ? gw.reshape(wt.shape()) : null, gb};
  }

  // ------------------------------------------------------------------ pooling

  /** PyTorch's pooling_output_shape. */
  static int pooledSize(int in, int k, int pad, int stride, int dil, boolean ceil) {
    int num = in + 2 * pad - dil * (k - 1) - 1 + (ceil ? stride - 1 : 0);
    int out = Math.floorDiv(num, stride) + 1;
    if (ceil && (long) (out - 1) * stride >= in + pad) out--;
    return out;
  }

  /** Checks a pooling call and returns {oh, ow}. */
  static int[] poolShape(
      String op, Tensor x, int[] k, int[] s, int[] p, int[] d, boolean ceil, boolean maxPool) {
    if (x.dim() != 3 && x.dim() != 4) {
      throw new IllegalArgumentException(
          "non-empty 3D or 4D (batch mode) tensor expected for input, but got: "
              + Shapes.str(x.shape()));
    }
    checkFloat(op, x);
    if (k[0] <= 0 || k[1] <= 0) {
      throw new IllegalArgumentException(
          "kernel size should be greater than zero, but got kH: " + k[0] + " kW: " + k[1]);
    }
    if (s[0] <= 0 || s[1] <= 0) {
      throw new IllegalArgumentException(
          "stride should be greater than zero, but got dH: " + s[0] + " dW: " + s[1]);
    }
    if (d[0] <= 0 || d[1] <= 0) {
      throw new IllegalArgumentException(
          "dilation should be greater than zero, but got dilationH: "
              + d[0]
              + " dilationW: "
              + d[1]);
    }
    for (int i = 0; i < 2; i++) {
      if (p[i] < 0 || p[i] > (maxPool ? (d[i] * (k[i] - 1) + 1) : k[i]) / 2) {
        throw new IllegalArgumentException(
            "pad should be at most half of "
                + (maxPool ? "effective " : "")
                + "kernel size, but got pad="
                + p[i]
                + ", kernel_size="
                + k[i]
                + (maxPool ? " and dilation=" + d[i] : ""));
      }
    }
    long[] xs = x.shape();
    int h = (int) xs[xs.length - 2], w = (int) xs[xs.length - 1];
    int oh = pooledSize(h, k[0], p[0], s[0], d[0], ceil);
    int ow = pooledSize(w, k[1], p[1], s[1], d[1], ceil);
    if (oh < 1 || ow < 1) {
      long ch = xs[xs.length - 3];
      throw new IllegalArgumentException(
          "Given input size: ("
              + ch
              + "x"
              + h
              + "x"
              + w
              + "). Calculated output size: ("
              + ch
              + "x"
              + oh
              + "x"
              + ow
              + "). Output size is too small");
    }
    return new int[] {oh, ow};
  }

  static long[] pooledShape(long[] xs, int oh, int ow) {
    long[] out = xs.clone();
    out[out.length - 2] = oh;
    out[out.length - 1] = ow;
    return out;
  }

  /**
   * F.max_pool2d (stride null or empty: the kernel size); records MaxPool2DWithIndicesBackward0.
   * The first maximum of a window wins; a NaN wins over numbers (the last NaN, as ATen's kernel).
   */
  public static Tensor maxPool2d(
      Tensor x, long[] kernel, long[] stride, long[] padding, long[] dilation, boolean ceilMode) {
    int[] k = pair("kernel_size", kernel);
    int[] s = stride == null || stride.length == 0 ? k.clone() : pair("stride", stride);
    int[] p = pair("padding", padding), d = pair("dilation", dilation);
    int[] os = poolShape("max_pool2d", x, k, s, p, d, ceilMode, true);
    long[] xs = x.shape();
    int h = (int) xs[xs.length - 2], w = (int) xs[xs.length - 1];
    int planes = (int) (x.numel() / ((long) h * w));
    int oh = os[0], ow = os[1];
    Tensor xc = x.contiguous();
    MemorySegment xseg = xc.segment();
    long xo = xc.storageOffset();
    boolean f32 = x.dtype() == DType.FLOAT32;
    Tensor r = Torch.empty(x.dtype(), pooledShape(xs, oh, ow));
    MemorySegment rs = r.segment();
    int[] arg = new int[planes * oh * ow];
    maxPool(xseg, xo, f32, rs, arg, planes, h, w, oh, ow, k, s, p, d);
    if (Recorder.active()) {
      Recorder.record(
          "max_pool2d " + Shapes.str(xs) + " k=" + k[0] + "x" + k[1],
          () -> maxPool(xseg, xo, f32, rs, arg, planes, h, w, oh, ow, k, s, p, d));
    }
    if (Tape.needsRecord(x)) {
      PoolArgs a = new PoolArgs(x.shape(), k, s, p, d, ceilMode, true, 0, arg);
      Tape.record(Op.MAX_POOL2D, r, new Tensor[] {x}, null, null, a);
    }
    return r;
  }

  /** The max over each window into rs, and where it was (the argmax backward reads) into arg. */
  private static void maxPool(
      MemorySegment xseg,
      long xo,
      boolean f32,
      MemorySegment rs,
      int[] arg,
      int planes,
      int h,
      int w,
      int oh,
      int ow,
      int[] k,
      int[] s,
      int[] p,
      int[] d) {
    for (int pl = 0; pl < planes; pl++) {
      int base = pl * h * w;
      for (int y = 0; y < oh; y++) {
        int hs = y * s[0] - p[0];
        for (int z = 0; z < ow; z++) {
          int ws = z * s[1] - p[1];
          double best = Double.NEGATIVE_INFINITY;
          int bi = -1;
          for (int i = 0; i < k[0]; i++) {
            int ih = hs + i * d[0];
            if (ih < 0 || ih >= h) continue;
            for (int j = 0; j < k[1]; j++) {
              int iw = ws + j * d[1];
              if (iw < 0 || iw >= w) continue;
              long at = xo + base + ih * w + iw;
              double v = f32 ? xseg.getAtIndex(F, at) : xseg.getAtIndex(D, at);
              if (bi < 0 || v > best || Double.isNaN(v)) {
                best = v;
                bi = base + ih * w + iw;
              }
            }
          }
          int oi = (pl * oh + y) * ow + z;
          if (f32) rs.setAtIndex(F, oi, (float) best);
          else rs.setAtIndex(D, oi, best);
          arg[oi] = bi;
        }
      }
    }
  }

  /** MaxPool2DWithIndicesBackward0: each output's gradient goes to its argmax. */
  public static Tensor maxPool2dBackward(Ctx c, Tensor grad) {
    checkNoDoubleBackward(c, grad);
    PoolArgs a = (PoolArgs) c.attr();
    // Each output's gradient goes to the input it took its max from (sums where windows overlap).
    Tensor gc = grad.contiguous();
    MemorySegment gs = gc.segment();
    long go = gc.storageOffset();
    Tensor gx = Torch.zeros(grad.dtype(), a.inputShape());
    MemorySegment xs = gx.segment();
    int[] arg = a.argmax();
    boolean f32 = grad.dtype() == DType.FLOAT32;
    scatterToArgmax(gs, go, xs, arg, f32);
    if (Recorder.active()) {
      Recorder.record(
          "max_pool2d backward n=" + arg.length, () -> scatterToArgmax(gs, go, xs, arg, f32));
    }
    return gx;
  }

  private static void scatterToArgmax(
      MemorySegment gs, long go, MemorySegment xs, int[] arg, boolean f32) {
    if (f32) {
      for (int i = 0; i < arg.length; i++) {
        if (arg[i] >= 0)
          xs.setAtIndex(F, arg[i], xs.getAtIndex(F, arg[i]) + gs.getAtIndex(F, go + i));
      }
    } else {
      for (int i = 0; i < arg.length; i++) {
        if (arg[i] >= 0)
          xs.setAtIndex(D, arg[i], xs.getAtIndex(D, arg[i]) + gs.getAtIndex(D, go + i));
      }
    }
  }

  /**
   * F.avg_pool2d (stride null or empty: the kernel size; divisorOverride 0: none); records
   * AvgPool2DBackward0.
   */
  public static Tensor avgPool2d(
      Tensor x,
      long[] kernel,
      long[] stride,
      long[] padding,
      boolean ceilMode,
      boolean countIncludePad,
      long divisorOverride) {
    int[] k = pair("kernel_size", kernel);
    int[] s = stride == null || stride.length == 0 ? k.clone() : pair("stride", stride);
    int[] p = pair("padding", padding), d = {1, 1};
    if (divisorOverride < 0) throw new IllegalArgumentException("divisor must be not zero");
    int[] os = poolShape("avg_pool2d", x, k, s, p, d, ceilMode, false);
    long[] xs = x.shape();
    PoolArgs a = new PoolArgs(xs, k, s, p, d, ceilMode, countIncludePad, divisorOverride, null);
    double[] xv = data(x);
    double[] out = new double[(int) Shapes.numel(pooledShape(xs, os[0], os[1]))];
    avgWalk(a, os, (oi, ii, div) -> out[oi] += xv[ii] / div);
    Tensor r = Torch.tensor(out, x.dtype(), pooledShape(xs, os[0], os[1]));
    if (Tape.needsRecord(x)) Tape.record(Op.AVG_POOL2D, r, new Tensor[] {x}, null, null, a);
    return r;
  }

  /** AvgPool2DBackward0: each output's gradient spread over its window, divided as forward. */
  public static Tensor avgPool2dBackward(Ctx c, Tensor grad) {
    checkNoDoubleBackward(c, grad);
    PoolArgs a = (PoolArgs) c.attr();
    long[] gs = grad.shape();
    int[] os = {(int) gs[gs.length - 2], (int) gs[gs.length - 1]};
    double[] gy = data(grad);
    double[] gx = new double[(int) Shapes.numel(a.inputShape())];
    avgWalk(a, os, (oi, ii, div) -> gx[ii] += gy[oi] / div);
    return Torch.tensor(gx, grad.dtype(), a.inputShape());
  }

  interface AvgVisit {
    void visit(int outIndex, int inIndex, double divisor);
  }

  /** Visits every (output, input in its window) pair with the window's divisor, as ATen does. */
  static void avgWalk(PoolArgs a, int[] os, AvgVisit v) {
    long[] xs = a.inputShape();
    int h = (int) xs[xs.length - 2], w = (int) xs[xs.length - 1];
    int planes = (int) (Shapes.numel(xs) / ((long) h * w));
    int[] k = a.kernel(), s = a.stride(), p = a.padding();
    int oh = os[0], ow = os[1];
    for (int pl = 0; pl < planes; pl++) {
      for (int y = 0; y < oh; y++) {
        for (int z = 0; z < ow; z++) {
          int hs = y * s[0] - p[0], ws = z * s[1] - p[1];
          int he = Math.min(hs + k[0], h + p[0]), we = Math.min(ws + k[1], w + p[1]);
          int poolSize = (he - hs) * (we - ws);
          hs = Math.max(hs, 0);
          ws = Math.max(ws, 0);
          he = Math.min(he, h);
          we = Math.min(we, w);
          if (hs >= he || ws >= we) continue;
          double div =
              a.divisorOverride() > 0
                  ? a.divisorOverride()
                  : a.countIncludePad() ? poolSize : (he - hs) * (we - ws);
          int oi = (pl * oh + y) * ow + z;
          for (int ih = hs; ih < he; ih++)
            for (int iw = ws; iw < we; iw++) v.visit(oi, pl * h * w + ih * w + iw, div);
        }
      }
    }
  }
}
