package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Elements;
import dev.panagrad.Shapes;
import dev.panagrad.StridedLoop;
import dev.panagrad.Tensor;
import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.KernelProvider;
import dev.panagrad.kernels.Kernels;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.kernels.UnaryOp;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/**
 * Elementwise loops over any shapes and strides, through {@link StridedLoop}: the general path
 * every pointwise op can take. Floating values are computed in double and rounded once to the
 * output type, which for +, -, *, / and sqrt gives the same float32 result as float arithmetic.
 */
public final class Pointwise {
  private Pointwise() {}

  /** Result dtype of a binary op, PyTorch's result_type (0-d tensors count as lower priority). */
  public static DType resultType(Tensor a, Tensor b) {
    DType da = a.dtype(), db = b.dtype();
    if (da == db) return da;
    boolean za = a.dim() == 0, zb = b.dim() == 0;
    if (za != zb) {
      Tensor dimmed = za ? b : a, zero = za ? a : b;
      if (category(zero.dtype()) <= category(dimmed.dtype())) return dimmed.dtype();
      return zero.dtype();
    }
    return DType.promote(da, db);
  }

  /** Result dtype of a tensor with a Java double scalar (a "wrapped number"). */
  public static DType resultTypeWithScalar(Tensor a, boolean scalarIsFloating) {
    if (scalarIsFloating && !a.dtype().isFloatingPoint()) return DType.FLOAT32;
    if (!scalarIsFloating && a.dtype() == DType.BOOL) return DType.INT64;
    return a.dtype();
  }

  /** c10's ScalarType name, as PyTorch prints {@code tensor.scalar_type()} in messages: Float. */
  public static String scalarTypeName(DType d) {
    return switch (d) {
      case FLOAT32 -> "Float";
      case FLOAT64 -> "Double";
      case INT64 -> "Long";
      case BOOL -> "Bool";
    };
  }

  /** caffe2's TypeMeta name, as PyTorch prints {@code tensor.dtype()} in C++ messages: float. */
  static String typeMetaName(DType d) {
    return switch (d) {
      case FLOAT32 -> "float";
      case FLOAT64 -> "double";
      case INT64 -> "long int";
      case BOOL -> "bool";
    };
  }

  static int category(DType d) {
    return switch (d) {
      case BOOL -> 0;
      case INT64 -> 1;
      case FLOAT32, FLOAT64 -> 2;
    };
  }

  public static Tensor unary(Tensor a, DType outType, DoubleUnaryOperator f) {
    Tensor out = Tensor.empty(outType, a.shapeArray());
    unaryInto(out, a, f);
    return out;
  }

  /** out[i] = f(a[i]); {@code a} broadcasts to out's shape. */
  public static void unaryInto(Tensor out, Tensor a, DoubleUnaryOperator f) {
    long[] shape = out.shapeArray();
    MemorySegment so = out.segment(), sa = a.segment();
    DType to = out.dtype(), ta = a.dtype();
    long[][] strides = {
      out.strideArray(), Shapes.broadcastStrides(a.shapeArray(), a.strideArray(), shape)
    };
    StridedLoop.forEach(
        shape,
        strides,
        new long[] {out.storageOffset(), a.storageOffset()},
        (off, inner, n) -> {
          long o = off[0], x = off[1];
          for (long i = 0; i < n; i++, o += inner[0], x += inner[1]) {
            Elements.put(so, to, o, f.applyAsDouble(Elements.get(sa, ta, x)));
          }
        });
  }

  public static Tensor binary(Tensor a, Tensor b, DType outType, DoubleBinaryOperator f) {
    Tensor out = Tensor.empty(outType, Shapes.broadcast(a.shapeArray(), b.shapeArray()));
    binaryInto(out, a, b, f);
    return out;
  }

  /** out[i] = f(a[i], b[i]); a and b broadcast to out's shape. */
  public static void binaryInto(Tensor out, Tensor a, Tensor b, DoubleBinaryOperator f) {
    long[] shape = out.shapeArray();
    MemorySegment so = out.segment(), sa = a.segment(), sb = b.segment();
    DType to = out.dtype(), ta = a.dtype(), tb = b.dtype();
    long[][] strides = {
      out.strideArray(),
      Shapes.broadcastStrides(a.shapeArray(), a.strideArray(), shape),
      Shapes.broadcastStrides(b.shapeArray(), b.strideArray(), shape)
    };
    StridedLoop.forEach(
        shape,
        strides,
        new long[] {out.storageOffset(), a.storageOffset(), b.storageOffset()},
        (off, inner, n) -> {
          long o = off[0], x = off[1], y = off[2];
          for (long i = 0; i < n; i++, o += inner[0], x += inner[1], y += inner[2]) {
            Elements.put(
                so, to, o, f.applyAsDouble(Elements.get(sa, ta, x), Elements.get(sb, tb, y)));
          }
        });
  }

  /** A three-operand map, for where(cond, a, b) and friends. */
  public interface Ternary {
    double apply(double a, double b, double c);
  }

  public static Tensor ternary(Tensor a, Tensor b, Tensor c, DType outType, Ternary f) {
    long[] shape =
        Shapes.broadcast(Shapes.broadcast(a.shapeArray(), b.shapeArray()), c.shapeArray());
    Tensor out = Tensor.empty(outType, shape);
    MemorySegment so = out.segment(), sa = a.segment(), sb = b.segment(), sc = c.segment();
    DType to = out.dtype(), ta = a.dtype(), tb = b.dtype(), tc = c.dtype();
    long[][] strides = {
      out.strideArray(),
      Shapes.broadcastStrides(a.shapeArray(), a.strideArray(), shape),
      Shapes.broadcastStrides(b.shapeArray(), b.strideArray(), shape),
      Shapes.broadcastStrides(c.shapeArray(), c.strideArray(), shape)
    };
    StridedLoop.forEach(
        shape,
        strides,
        new long[] {0, a.storageOffset(), b.storageOffset(), c.storageOffset()},
        (off, inner, n) -> {
          long o = off[0], x = off[1], y = off[2], z = off[3];
          for (long i = 0; i < n; i++, o += inner[0], x += inner[1], y += inner[2], z += inner[3]) {
            Elements.put(
                so,
                to,
                o,
                f.apply(Elements.get(sa, ta, x), Elements.get(sb, tb, y), Elements.get(sc, tc, z)));
          }
        });
    return out;
  }

  /** Copies {@code src} (broadcast, converted) into {@code dst}. */
  public static void copyInto(Tensor dst, Tensor src) {
    if (!sameShape(dst, src)) {
      Shapes.broadcast(dst.shapeArray(), src.shapeArray()); // message if they do not broadcast
    }
    if (dst.dtype() == DType.INT64 && src.dtype() == DType.INT64) {
      copyLongs(dst, src);
    } else if (TransposeCopy.applies(dst, src)) {
      TransposeCopy.copy(dst, src);
    } else {
      unaryInto(dst, src, UnaryOp.COPY, 0, 0);
    }
  }

  /** int64 copies go through longs: doubles would round values above 2^53. */
  private static void copyLongs(Tensor dst, Tensor src) {
    long[] shape = dst.shapeArray();
    MemorySegment so = dst.segment(), sa = src.segment();
    StridedLoop.forEach(
        shape,
        new long[][] {
          dst.strideArray(), Shapes.broadcastStrides(src.shapeArray(), src.strideArray(), shape)
        },
        new long[] {dst.storageOffset(), src.storageOffset()},
        (off, inner, n) -> {
          long o = off[0], x = off[1];
          for (long i = 0; i < n; i++, o += inner[0], x += inner[1]) {
            so.setAtIndex(ValueLayout.JAVA_LONG, o, sa.getAtIndex(ValueLayout.JAVA_LONG, x));
          }
        });
  }

  // ------------------------------------------------------------ kernel-backed maps
  //
  // Each run of float32 (or float64) elements goes to the kernels when all operands share that
  // dtype and step by one (a broadcast operand may step by zero in binary ops); other runs take
  // a per-element loop with the same arithmetic (float ops for float32, double for the rest),
  // so strided and contiguous inputs give identical results.

  private static final Kernels K = KernelProvider.get();

  /**
   * Runs a kernel over a run of n elements through the intra-op pool; while a step is captured,
   * records the same call (the signature string is built only then).
   */
  private static void forRange(
      String kind,
      Object op,
      long n,
      Parallel.Range body,
      long elementBytes,
      MemorySegment out,
      long o,
      MemorySegment a,
      long x,
      long ia,
      MemorySegment b,
      long y,
      long ib) {
    Parallel.forRange(n, body);
    if (Recorder.active()) {
      String signature = kind + " " + op + " n=" + n;
      Recorder.Instruction whole = () -> Parallel.forRange(n, body);
      if (!out.isNative() || !a.isNative() || (b != null && !b.isNative())) {
        Recorder.record(signature, whole);
        return;
      }
      Recorder.Operand[] in =
          b == null
              ? new Recorder.Operand[] {operand(a, x, ia, elementBytes)}
              : new Recorder.Operand[] {
                operand(a, x, ia, elementBytes), operand(b, y, ib, elementBytes)
              };
      Recorder.record(
          signature,
          new Recorder.Elementwise(n, body::run, whole, operand(out, o, 1, elementBytes), in));
    }
  }

  private static Recorder.Operand operand(
      MemorySegment s, long offset, long stride, long elementBytes) {
    return new Recorder.Operand(
        s.address() + offset * elementBytes, elementBytes, stride * elementBytes);
  }

  static boolean sameShape(Tensor a, Tensor b) {
    long[] sa = a.shapeArray(), sb = b.shapeArray();
    return sa == sb || Arrays.equals(sa, sb);
  }

  /**
   * True when {@code in} and {@code out} are contiguous, of the same shape (no broadcasting) and
   * the same floating dtype: the whole op is one run for the kernels.
   */
  public static boolean isContiguousRun(Tensor out, Tensor in) {
    DType d = out.dtype();
    return (d == DType.FLOAT32 || d == DType.FLOAT64)
        && in.dtype() == d
        && sameShape(out, in)
        && out.isContiguous()
        && in.isContiguous();
  }

  /**
   * How the kernels step through {@code in} for contiguous float {@code out} of in's dtype: 1 when
   * in is a contiguous run of out's shape, 0 when it is one element (a single-element tensor, or a
   * view whose every dim of size above 1 has stride 0, of out's shape), -1 otherwise.
   */
  static long runStep(Tensor out, Tensor in) {
    DType d = out.dtype();
    if ((d != DType.FLOAT32 && d != DType.FLOAT64) || in.dtype() != d) return -1;
    if (sameShape(out, in)) {
      if (in.isContiguous()) return 1;
      long[] sh = in.shapeArray(), st = in.strideArray();
      for (int i = 0; i < sh.length; i++) if (sh[i] != 1 && st[i] != 0) return -1;
      return 0;
    }
    return in.numel() == 1 && in.dim() <= out.dim() ? 0 : -1;
  }

  /**
   * An eager unary kernel on one contiguous run, as the pool's split body: each thread re-aims its
   * own (eager ops never nest on a thread), so a large eager op makes no lambda.
   */
  private static final class UnarySplit implements Parallel.Range {
    private static final ThreadLocal<UnarySplit> OF_THREAD =
        ThreadLocal.withInitial(UnarySplit::new);
    private UnaryOp op;
    private MemorySegment sa, so;
    private long x, o;
    private boolean f32;
    private double p, q;

    static UnarySplit of(
        UnaryOp op,
        MemorySegment sa,
        long x,
        MemorySegment so,
        long o,
        boolean f32,
        double p,
        double q) {
      UnarySplit u = OF_THREAD.get();
      u.op = op;
      u.sa = sa;
      u.x = x;
      u.so = so;
      u.o = o;
      u.f32 = f32;
      u.p = p;
      u.q = q;
      return u;
    }

    @Override
    public void run(long lo, long hi) {
      if (f32) K.unaryF(op, sa, x + lo, so, o + lo, hi - lo, (float) p, (float) q);
      else K.unaryD(op, sa, x + lo, so, o + lo, hi - lo, p, q);
    }
  }

  /** {@link UnarySplit} for a binary kernel: a and b advance by ia and ib (0: broadcast). */
  private static final class BinarySplit implements Parallel.Range {
    private static final ThreadLocal<BinarySplit> OF_THREAD =
        ThreadLocal.withInitial(BinarySplit::new);
    private BinaryOp op;
    private MemorySegment sa, sb, so;
    private long x, ia, y, ib, o;
    private boolean f32;
    private double p;

    static BinarySplit of(
        BinaryOp op,
        MemorySegment sa,
        long x,
        long ia,
        MemorySegment sb,
        long y,
        long ib,
        MemorySegment so,
        long o,
        boolean f32,
        double p) {
      BinarySplit b = OF_THREAD.get();
      b.op = op;
      b.sa = sa;
      b.x = x;
      b.ia = ia;
      b.sb = sb;
      b.y = y;
      b.ib = ib;
      b.so = so;
      b.o = o;
      b.f32 = f32;
      b.p = p;
      return b;
    }

    @Override
    public void run(long lo, long hi) {
      if (f32) {
        K.binaryF(op, sa, x + lo * ia, ia, sb, y + lo * ib, ib, so, o + lo, hi - lo, (float) p);
      } else {
        K.binaryD(op, sa, x + lo * ia, ia, sb, y + lo * ib, ib, so, o + lo, hi - lo, p);
      }
    }
  }

  /** Below the split threshold the kernel runs here, without Parallel's lambda. */
  private static boolean runsOnCaller(long n) {
    return n < Parallel.MIN_ELEMENTS || Parallel.threads() == 1;
  }

  public static Tensor unary(Tensor a, DType outType, UnaryOp op, double p, double q) {
    if (oneElementPair(a, a, outType)) return oneElement(a, outType, op, p, q);
    Tensor out = Tensor.emptyShaped(outType, a);
    unaryInto(out, a, op, p, q);
    return out;
  }

  /** out[i] = op(a[i]); {@code a} broadcasts to out's shape. */
  public static void unaryInto(Tensor out, Tensor a, UnaryOp op, double p, double q) {
    if (!Recorder.active() && isContiguousRun(out, a)) {
      // (A captured step takes the strided loop below, which records its kernel calls.)
      // Fast path: one contiguous run of one float dtype, straight to the kernel, with none of
      // the strided loop's arrays and lambdas (what a small tensor's op would spend its time on).
      MemorySegment so = out.segment(), sa = a.segment();
      long o = out.storageOffset(), x = a.storageOffset(), n = out.numel();
      if (n == 1) {
        oneElementInto(so, o, sa, x, out.dtype() == DType.FLOAT32, op, p, q);
      } else if (out.dtype() == DType.FLOAT32) {
        float fp = (float) p, fq = (float) q;
        if (runsOnCaller(n)) {
          K.unaryF(op, sa, x, so, o, n, fp, fq);
        } else {
          Parallel.forRange(n, UnarySplit.of(op, sa, x, so, o, true, p, q));
        }
      } else if (runsOnCaller(n)) {
        K.unaryD(op, sa, x, so, o, n, p, q);
      } else {
        Parallel.forRange(n, UnarySplit.of(op, sa, x, so, o, false, p, q));
      }
      return;
    }
    long[] shape = out.shapeArray();
    MemorySegment so = out.segment(), sa = a.segment();
    DType to = out.dtype(), ta = a.dtype();
    boolean f32 = to == DType.FLOAT32 && ta == DType.FLOAT32;
    boolean f64 = to == DType.FLOAT64 && ta == DType.FLOAT64;
    float fp = (float) p, fq = (float) q;
    long[][] strides = {
      out.strideArray(), Shapes.broadcastStrides(a.shapeArray(), a.strideArray(), shape)
    };
    StridedLoop.forEach(
        shape,
        strides,
        new long[] {out.storageOffset(), a.storageOffset()},
        (off, inner, n) -> {
          long o = off[0], x = off[1];
          boolean run = inner[0] == 1 && inner[1] == 1;
          if (f32 && run && !Recorder.active() && runsOnCaller(n)) {
            K.unaryF(op, sa, x, so, o, n, fp, fq); // what forRange would run, without its lambda
          } else if (f64 && run && !Recorder.active() && runsOnCaller(n)) {
            K.unaryD(op, sa, x, so, o, n, p, q);
          } else if ((f32 || f64) && run) {
            long x0 = x, o0 = o;
            Parallel.Range body =
                f32
                    ? (lo, hi) -> K.unaryF(op, sa, x0 + lo, so, o0 + lo, hi - lo, fp, fq)
                    : (lo, hi) -> K.unaryD(op, sa, x0 + lo, so, o0 + lo, hi - lo, p, q);
            forRange(
                f32 ? "unaryF" : "unaryD", op, n, body, f32 ? 4 : 8, so, o0, sa, x0, 1, null, 0, 0);
          } else if (f32) {
            for (long i = 0; i < n; i++, o += inner[0], x += inner[1]) {
              so.setAtIndex(
                  ValueLayout.JAVA_FLOAT,
                  o,
                  op.apply(sa.getAtIndex(ValueLayout.JAVA_FLOAT, x), fp, fq));
            }
          } else {
            for (long i = 0; i < n; i++, o += inner[0], x += inner[1]) {
              Elements.put(so, to, o, op.apply(Elements.get(sa, ta, x), p, q));
            }
          }
        });
  }

  public static Tensor binary(Tensor a, Tensor b, DType outType, BinaryOp op, double p) {
    if (oneElementPair(a, b, outType)) return oneElement(a, b, outType, op, p);
    Tensor out =
        sameShape(a, b)
            ? Tensor.emptyShaped(outType, a)
            : Tensor.empty(outType, Shapes.broadcast(a.shapeArray(), b.shapeArray()));
    binaryInto(out, a, b, op, p);
    return out;
  }

  /**
   * Note [One-element ops]. An op on one-element operands of one shape and one float dtype (W3's
   * tiny ops, a loss's scalars) is the kernels' scalar definition on one number: computed here
   * directly, without the run checks that pick a kernel for a larger tensor (a fifth of such an
   * op's eager time). The arithmetic is the n == 1 case of {@link #binaryInto} and {@link
   * #unaryInto} ({@code oneElementInto}), so the bits are the same. Not while a step is captured,
   * whose kernels the strided loop records.
   */
  private static boolean oneElementPair(Tensor a, Tensor b, DType outType) {
    long[] sh = a.shapeArray();
    return sh == b.shapeArray()
        && (outType == DType.FLOAT32 || outType == DType.FLOAT64)
        && a.dtype() == outType
        && b.dtype() == outType
        && Shapes.isOneElement(sh)
        && !Recorder.active();
  }

  private static Tensor oneElement(Tensor a, Tensor b, DType outType, BinaryOp op, double p) {
    Tensor out = Tensor.emptyShaped(outType, a);
    oneElementInto(
        out.segment(),
        out.storageOffset(),
        a.segment(),
        a.storageOffset(),
        b.segment(),
        b.storageOffset(),
        outType == DType.FLOAT32,
        op,
        p);
    return out;
  }

  private static Tensor oneElement(Tensor a, DType outType, UnaryOp op, double p, double q) {
    Tensor out = Tensor.emptyShaped(outType, a);
    oneElementInto(
        out.segment(),
        out.storageOffset(),
        a.segment(),
        a.storageOffset(),
        outType == DType.FLOAT32,
        op,
        p,
        q);
    return out;
  }

  /**
   * so[o] = sa[x] (op) sb[y] for one element of float32 ({@code f32}) or float64: the strided
   * loop's per-element arithmetic, so one element gets the bits a larger tensor's would.
   */
  private static void oneElementInto(
      MemorySegment so,
      long o,
      MemorySegment sa,
      long x,
      MemorySegment sb,
      long y,
      boolean f32,
      BinaryOp op,
      double p) {
    if (f32) {
      float va = sa.getAtIndex(ValueLayout.JAVA_FLOAT, x);
      float vb = sb.getAtIndex(ValueLayout.JAVA_FLOAT, y);
      so.setAtIndex(ValueLayout.JAVA_FLOAT, o, op.apply(va, vb, (float) p));
    } else {
      double va = sa.getAtIndex(ValueLayout.JAVA_DOUBLE, x);
      double vb = sb.getAtIndex(ValueLayout.JAVA_DOUBLE, y);
      so.setAtIndex(ValueLayout.JAVA_DOUBLE, o, op.apply(va, vb, p));
    }
  }

  /** so[o] = op(sa[x]) for one element; see the binary form. */
  private static void oneElementInto(
      MemorySegment so,
      long o,
      MemorySegment sa,
      long x,
      boolean f32,
      UnaryOp op,
      double p,
      double q) {
    if (f32) {
      float va = sa.getAtIndex(ValueLayout.JAVA_FLOAT, x);
      so.setAtIndex(ValueLayout.JAVA_FLOAT, o, op.apply(va, (float) p, (float) q));
    } else {
      double va = sa.getAtIndex(ValueLayout.JAVA_DOUBLE, x);
      so.setAtIndex(ValueLayout.JAVA_DOUBLE, o, op.apply(va, p, q));
    }
  }

  /** out[i] = a[i] (op) b[i]; a and b broadcast to out's shape. */
  public static void binaryInto(Tensor out, Tensor a, Tensor b, BinaryOp op, double p) {
    long stepA = runStep(out, a), stepB = runStep(out, b);
    if (!Recorder.active() && stepA >= 0 && stepB >= 0 && out.isContiguous()) {
      long ia = stepA, ib = stepB;
      // Fast path: see unaryInto. An operand may also be one element read for every output (a
      // broadcast scalar, such as sum's gradient expanded): the kernel's step 0, which is what
      // the strided loop would hand the kernel for it.
      MemorySegment so = out.segment(), sa = a.segment(), sb = b.segment();
      long o = out.storageOffset(), x = a.storageOffset(), y = b.storageOffset(), n = out.numel();
      if (n == 1) {
        oneElementInto(so, o, sa, x, sb, y, out.dtype() == DType.FLOAT32, op, p);
      } else if (out.dtype() == DType.FLOAT32) {
        float fp = (float) p;
        if (runsOnCaller(n)) {
          K.binaryF(op, sa, x, ia, sb, y, ib, so, o, n, fp);
        } else {
          Parallel.forRange(n, BinarySplit.of(op, sa, x, ia, sb, y, ib, so, o, true, p));
        }
      } else if (runsOnCaller(n)) {
        K.binaryD(op, sa, x, ia, sb, y, ib, so, o, n, p);
      } else {
        Parallel.forRange(n, BinarySplit.of(op, sa, x, ia, sb, y, ib, so, o, false, p));
      }
      return;
    }
    long[] shape = out.shapeArray();
    MemorySegment so = out.segment(), sa = a.segment(), sb = b.segment();
    DType to = out.dtype(), ta = a.dtype(), tb = b.dtype();
    boolean f32 = to == DType.FLOAT32 && ta == DType.FLOAT32 && tb == DType.FLOAT32;
    boolean f64 = to == DType.FLOAT64 && ta == DType.FLOAT64 && tb == DType.FLOAT64;
    float fp = (float) p;
    long[][] strides = {
      out.strideArray(),
      Shapes.broadcastStrides(a.shapeArray(), a.strideArray(), shape),
      Shapes.broadcastStrides(b.shapeArray(), b.strideArray(), shape)
    };
    StridedLoop.forEach(
        shape,
        strides,
        new long[] {out.storageOffset(), a.storageOffset(), b.storageOffset()},
        (off, inner, n) -> {
          long o = off[0], x = off[1], y = off[2];
          boolean run = inner[0] == 1 && (inner[1] | 1) == 1 && (inner[2] | 1) == 1;
          long ia = inner[1], ib = inner[2], x0 = x, y0 = y, o0 = o;
          if (f32 && run && !Recorder.active() && runsOnCaller(n)) {
            K.binaryF(op, sa, x, ia, sb, y, ib, so, o, n, fp); // forRange's call, without a lambda
          } else if (f64 && run && !Recorder.active() && runsOnCaller(n)) {
            K.binaryD(op, sa, x, ia, sb, y, ib, so, o, n, p);
          } else if ((f32 || f64) && run) {
            Parallel.Range body =
                f32
                    ? (lo, hi) ->
                        K.binaryF(
                            op,
                            sa,
                            x0 + lo * ia,
                            ia,
                            sb,
                            y0 + lo * ib,
                            ib,
                            so,
                            o0 + lo,
                            hi - lo,
                            fp)
                    : (lo, hi) ->
                        K.binaryD(
                            op,
                            sa,
                            x0 + lo * ia,
                            ia,
                            sb,
                            y0 + lo * ib,
                            ib,
                            so,
                            o0 + lo,
                            hi - lo,
                            p);
            forRange(
                f32 ? "binaryF" : "binaryD",
                op,
                n,
                body,
                f32 ? 4 : 8,
                so,
                o0,
                sa,
                x0,
                ia,
                sb,
                y0,
                ib);
          } else if (f32) {
            for (long i = 0; i < n; i++, o += inner[0], x += inner[1], y += inner[2]) {
              so.setAtIndex(
                  ValueLayout.JAVA_FLOAT,
                  o,
                  op.apply(
                      sa.getAtIndex(ValueLayout.JAVA_FLOAT, x),
                      sb.getAtIndex(ValueLayout.JAVA_FLOAT, y),
                      fp));
            }
          } else {
            for (long i = 0; i < n; i++, o += inner[0], x += inner[1], y += inner[2]) {
              Elements.put(
                  so, to, o, op.apply(Elements.get(sa, ta, x), Elements.get(sb, tb, y), p));
            }
          }
        });
  }
}
