package dev.panagrad.kernels.vector;

import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.UnaryOp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The elementwise loops of {@link VectorKernels} (unary and binary ops, float and double): a class
 * of their own so that the project's JVMs can have C2 compile exactly these early (Note [Kernels
 * compiled early] in docs/ARCHITECTURE.md), without touching the fused kernels, whose C2 code
 * depends on a mature profile.
 */
final class ElementwiseLoops {
  private ElementwiseLoops() {}

  private static final VectorSpecies<Float> FS = VectorKernels.FS;
  private static final VectorSpecies<Double> DS = VectorKernels.DS;
  private static final ByteOrder LE = ByteOrder.nativeOrder();
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;

  // Note [Whole vectors or none]: the Vector API is intrinsic only in C2. Until C2 compiles a
  // kernel (thousands of calls, or a long loop in one call), it runs in C1 code, where every
  // vector, even one broadcast before a loop that never iterates, is a heap object. A kernel used
  // once a step on a few elements can stay there for hundreds of steps (W7's 640-element
  // log-softmax backward: 15 KB a replayed step in some JVMs, about four vectors per iteration).
  // An elementwise op shorter than one vector therefore never enters vector code, where it would
  // only box its broadcasts; the scalar loop computes the same bits. See also Note [Kernels
  // compiled early] in docs/ARCHITECTURE.md.

  static void unaryF(
      UnaryOp op, MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    // One loop per op: a loop over a switch of vector ops is too large for C2 to inline, and
    // a vector op that is not inlined runs as plain Java. Note [Whole vectors or none].
    long i =
        n < FS.length()
            ? 0
            : switch (op) {
              // Note [Deterministic transcendentals]: the Vector API computes exp, log and tanh
              // with one algorithm when C2 compiles the loop and another in the interpreter, so a
              // value would depend on JIT timing. These ops run the scalar tail (Math.*), which
              // HotSpot keeps identical in every tier.
              case EXP, LOG, TANH, SIGMOID -> 0;
              case COPY -> copyF(a, ao, out, oo, n, p, q);
              case NEG -> negF(a, ao, out, oo, n, p, q);
              case ABS -> absF(a, ao, out, oo, n, p, q);
              case RELU -> reluF(a, ao, out, oo, n, p, q);
              case SQRT -> sqrtF(a, ao, out, oo, n, p, q);
              case ADD_SCALAR -> addScalarF(a, ao, out, oo, n, p, q);
              case MUL_SCALAR -> mulScalarF(a, ao, out, oo, n, p, q);
              case RSUB_SCALAR -> rsubScalarF(a, ao, out, oo, n, p, q);
              case DIV_SCALAR -> divScalarF(a, ao, out, oo, n, p, q);
              case CLAMP -> clampF(a, ao, out, oo, n, p, q);
              case SQUARE -> squareF(a, ao, out, oo, n, p, q);
              case FILL -> fillF(a, ao, out, oo, n, p, q);
            };
    for (; i < n; i++) out.setAtIndex(F, oo + i, op.apply(a.getAtIndex(F, ao + i), p, q));
  }

  // Note [Copies are bulk copies]: a copy is bytes, so it goes to MemorySegment.copy, which
  // HotSpot compiles to a memmove in every tier. As a vector loop, it was the one kernel that C2
  // sometimes left boxing every vector it loaded: in 3 of 50 fresh JVMs, a replayed AdamW step
  // allocated 81,920 bytes (16,384 copied floats, an 80-byte array each 16) in every step, for
  // good.
  private static long copyF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    MemorySegment.copy(a, ao * 4, out, oo * 4, n * 4);
    return n;
  }

  private static long negF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (x.neg()).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  private static long absF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (x.abs()).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  private static long reluF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (x.max(x.broadcast(0))).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  private static long sqrtF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (x.sqrt()).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  private static long addScalarF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (x.add(pv)).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  private static long mulScalarF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (x.mul(pv)).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  private static long rsubScalarF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (pv.sub(x)).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  private static long divScalarF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (x.div(pv)).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  private static long clampF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (x.max(pv).min(qv)).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  private static long squareF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (x.mul(x)).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  private static long fillF(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    FloatVector pv = FloatVector.broadcast(FS, p), qv = FloatVector.broadcast(FS, q);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
      (pv).intoMemorySegment(out, (oo + i) * 4, LE);
    }
    return i;
  }

  static void binaryF(
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
      float p) {
    if (n == 0) return; // nothing to read, not even a broadcast scalar
    long i =
        as + bs == 0 || n < FS.length() // Note [Whole vectors or none]
            ? 0
            : switch (op) {
              case ADD -> addF(a, ao, as, b, bo, bs, out, oo, n, p);
              case SUB -> subF(a, ao, as, b, bo, bs, out, oo, n, p);
              case MUL -> mulF(a, ao, as, b, bo, bs, out, oo, n, p);
              case DIV -> divF(a, ao, as, b, bo, bs, out, oo, n, p);
              case MAX -> maxF(a, ao, as, b, bo, bs, out, oo, n, p);
              case MIN -> minF(a, ao, as, b, bo, bs, out, oo, n, p);
              case RELU_BACKWARD -> reluBackwardF(a, ao, as, b, bo, bs, out, oo, n, p);
              case CLAMP_MIN_BACKWARD, CLAMP_MAX_BACKWARD ->
                  clampBackwardF(op, a, ao, as, b, bo, bs, out, oo, n, p);
              case TANH_BACKWARD -> tanhBackwardF(a, ao, as, b, bo, bs, out, oo, n, p);
              case SIGMOID_BACKWARD -> sigmoidBackwardF(a, ao, as, b, bo, bs, out, oo, n, p);
              case SQUARED_DIFFERENCE -> squaredDifferenceF(a, ao, as, b, bo, bs, out, oo, n);
            };
    for (; i < n; i++) {
      out.setAtIndex(
          F, oo + i, op.apply(a.getAtIndex(F, ao + i * as), b.getAtIndex(F, bo + i * bs), p));
    }
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long addF(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      float p) {
    FloatVector pv = FloatVector.broadcast(FS, p);
    long i = 0, bound = FS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.add(y.mul(pv))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else if (as == 1) {
      FloatVector y = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        (x.add(y.mul(pv))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      FloatVector x = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
      for (; i < bound; i += FS.length()) {
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.add(y.mul(pv))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long subF(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      float p) {
    FloatVector pv = FloatVector.broadcast(FS, p);
    long i = 0, bound = FS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.sub(y.mul(pv))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else if (as == 1) {
      FloatVector y = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        (x.sub(y.mul(pv))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      FloatVector x = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
      for (; i < bound; i += FS.length()) {
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.sub(y.mul(pv))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long mulF(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      float p) {
    FloatVector pv = FloatVector.broadcast(FS, p);
    long i = 0, bound = FS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.mul(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else if (as == 1) {
      FloatVector y = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        (x.mul(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      FloatVector x = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
      for (; i < bound; i += FS.length()) {
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.mul(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long divF(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      float p) {
    FloatVector pv = FloatVector.broadcast(FS, p);
    long i = 0, bound = FS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.div(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else if (as == 1) {
      FloatVector y = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        (x.div(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      FloatVector x = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
      for (; i < bound; i += FS.length()) {
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.div(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long maxF(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      float p) {
    FloatVector pv = FloatVector.broadcast(FS, p);
    long i = 0, bound = FS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.max(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else if (as == 1) {
      FloatVector y = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        (x.max(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      FloatVector x = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
      for (; i < bound; i += FS.length()) {
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.max(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long minF(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      float p) {
    FloatVector pv = FloatVector.broadcast(FS, p);
    long i = 0, bound = FS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.min(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else if (as == 1) {
      FloatVector y = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        (x.min(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      FloatVector x = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
      for (; i < bound; i += FS.length()) {
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.min(y)).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  /**
   * clamp's backward at one bound, for strides (1, 1); other layouts go to the caller's scalar loop
   * (returns 0). Each bound has its own loop so the comparison is a constant C2 can compile.
   */
  private static long clampBackwardF(
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
      float p) {
    if (as != 1 || bs != 1) return 0;
    FloatVector pv = FloatVector.broadcast(FS, p), zero = FloatVector.zero(FS);
    long i = 0, bound = FS.loopBound(n);
    if (op == BinaryOp.CLAMP_MIN_BACKWARD) {
      for (; i < bound; i += FS.length()) {
        FloatVector g = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector x = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        g.blend(zero, x.compare(VectorOperators.GE, pv).not())
            .intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      for (; i < bound; i += FS.length()) {
        FloatVector g = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector x = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        g.blend(zero, x.compare(VectorOperators.LE, pv).not())
            .intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  /**
   * clamp's backward at one bound, for strides (1, 1); other layouts go to the caller's scalar loop
   * (returns 0). Each bound has its own loop so the comparison is a constant C2 can compile.
   */
  private static long clampBackwardD(
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
      double p) {
    if (as != 1 || bs != 1) return 0;
    DoubleVector pv = DoubleVector.broadcast(DS, p), zero = DoubleVector.zero(DS);
    long i = 0, bound = DS.loopBound(n);
    if (op == BinaryOp.CLAMP_MIN_BACKWARD) {
      for (; i < bound; i += DS.length()) {
        DoubleVector g = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector x = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        g.blend(zero, x.compare(VectorOperators.GE, pv).not())
            .intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      for (; i < bound; i += DS.length()) {
        DoubleVector g = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector x = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        g.blend(zero, x.compare(VectorOperators.LE, pv).not())
            .intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long reluBackwardF(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      float p) {
    FloatVector pv = FloatVector.broadcast(FS, p);
    long i = 0, bound = FS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.blend(x.broadcast(0), y.compare(VectorOperators.LE, 0)))
            .intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else if (as == 1) {
      FloatVector y = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        (x.blend(x.broadcast(0), y.compare(VectorOperators.LE, 0)))
            .intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      FloatVector x = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
      for (; i < bound; i += FS.length()) {
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.blend(x.broadcast(0), y.compare(VectorOperators.LE, 0)))
            .intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  /** g (1 - y^2), rounded after each operation as the scalar definition is. */
  private static long tanhBackwardF(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      float p) {
    FloatVector pv = FloatVector.broadcast(FS, p);
    long i = 0, bound = FS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.mul(x.broadcast(1).sub(y.mul(y)))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else if (as == 1) {
      FloatVector y = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        (x.mul(x.broadcast(1).sub(y.mul(y)))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      FloatVector x = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
      for (; i < bound; i += FS.length()) {
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.mul(x.broadcast(1).sub(y.mul(y)))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  /** (a - b)^2: the difference rounded, then squared, as the scalar definition is. */
  private static long squaredDifferenceF(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n) {
    long i = 0, bound = FS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += FS.length()) {
        FloatVector d =
            FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE)
                .sub(FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE));
        d.mul(d).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else if (as == 1) {
      FloatVector y = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
      for (; i < bound; i += FS.length()) {
        FloatVector d = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE).sub(y);
        d.mul(d).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      FloatVector x = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
      for (; i < bound; i += FS.length()) {
        FloatVector d = x.sub(FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE));
        d.mul(d).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  /** g y (1 - y), rounded after each operation as the scalar definition is. */
  private static long sigmoidBackwardF(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      float p) {
    FloatVector pv = FloatVector.broadcast(FS, p);
    long i = 0, bound = FS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.mul(y.mul(x.broadcast(1).sub(y)))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else if (as == 1) {
      FloatVector y = FloatVector.broadcast(FS, b.getAtIndex(F, bo));
      for (; i < bound; i += FS.length()) {
        FloatVector x = FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE);
        (x.mul(y.mul(x.broadcast(1).sub(y)))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    } else {
      FloatVector x = FloatVector.broadcast(FS, a.getAtIndex(F, ao));
      for (; i < bound; i += FS.length()) {
        FloatVector y = FloatVector.fromMemorySegment(FS, b, (bo + i) * 4, LE);
        (x.mul(y.mul(x.broadcast(1).sub(y)))).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    return i;
  }

  static void unaryD(
      UnaryOp op,
      MemorySegment a,
      long ao,
      MemorySegment out,
      long oo,
      long n,
      double p,
      double q) {
    // One loop per op: a loop over a switch of vector ops is too large for C2 to inline, and
    // a vector op that is not inlined runs as plain Java. Note [Whole vectors or none].
    long i =
        n < DS.length()
            ? 0
            : switch (op) {
              case EXP, LOG, TANH, SIGMOID -> 0; // Note [Deterministic transcendentals]
              case COPY -> copyD(a, ao, out, oo, n, p, q);
              case NEG -> negD(a, ao, out, oo, n, p, q);
              case ABS -> absD(a, ao, out, oo, n, p, q);
              case RELU -> reluD(a, ao, out, oo, n, p, q);
              case SQRT -> sqrtD(a, ao, out, oo, n, p, q);
              case ADD_SCALAR -> addScalarD(a, ao, out, oo, n, p, q);
              case MUL_SCALAR -> mulScalarD(a, ao, out, oo, n, p, q);
              case RSUB_SCALAR -> rsubScalarD(a, ao, out, oo, n, p, q);
              case DIV_SCALAR -> divScalarD(a, ao, out, oo, n, p, q);
              case CLAMP -> clampD(a, ao, out, oo, n, p, q);
              case SQUARE -> squareD(a, ao, out, oo, n, p, q);
              case FILL -> fillD(a, ao, out, oo, n, p, q);
            };
    for (; i < n; i++) out.setAtIndex(D, oo + i, op.apply(a.getAtIndex(D, ao + i), p, q));
  }

  // Note [Copies are bulk copies] (copyF).
  private static long copyD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    MemorySegment.copy(a, ao * 8, out, oo * 8, n * 8);
    return n;
  }

  private static long negD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (x.neg()).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  private static long absD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (x.abs()).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  private static long reluD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (x.max(x.broadcast(0))).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  private static long sqrtD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (x.sqrt()).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  private static long addScalarD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (x.add(pv)).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  private static long mulScalarD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (x.mul(pv)).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  private static long rsubScalarD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (pv.sub(x)).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  private static long divScalarD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (x.div(pv)).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  private static long clampD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (x.max(pv).min(qv)).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  private static long squareD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (x.mul(x)).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  private static long fillD(
      MemorySegment a, long ao, MemorySegment out, long oo, long n, double p, double q) {
    DoubleVector pv = DoubleVector.broadcast(DS, p), qv = DoubleVector.broadcast(DS, q);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
      (pv).intoMemorySegment(out, (oo + i) * 8, LE);
    }
    return i;
  }

  static void binaryD(
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
      double p) {
    if (n == 0) return; // nothing to read, not even a broadcast scalar
    long i =
        as + bs == 0 || n < DS.length() // Note [Whole vectors or none]
            ? 0
            : switch (op) {
              case ADD -> addD(a, ao, as, b, bo, bs, out, oo, n, p);
              case SUB -> subD(a, ao, as, b, bo, bs, out, oo, n, p);
              case MUL -> mulD(a, ao, as, b, bo, bs, out, oo, n, p);
              case DIV -> divD(a, ao, as, b, bo, bs, out, oo, n, p);
              case MAX -> maxD(a, ao, as, b, bo, bs, out, oo, n, p);
              case MIN -> minD(a, ao, as, b, bo, bs, out, oo, n, p);
              case RELU_BACKWARD -> reluBackwardD(a, ao, as, b, bo, bs, out, oo, n, p);
              case CLAMP_MIN_BACKWARD, CLAMP_MAX_BACKWARD ->
                  clampBackwardD(op, a, ao, as, b, bo, bs, out, oo, n, p);
              case TANH_BACKWARD -> tanhBackwardD(a, ao, as, b, bo, bs, out, oo, n, p);
              case SIGMOID_BACKWARD -> sigmoidBackwardD(a, ao, as, b, bo, bs, out, oo, n, p);
              case SQUARED_DIFFERENCE -> squaredDifferenceD(a, ao, as, b, bo, bs, out, oo, n);
            };
    for (; i < n; i++) {
      out.setAtIndex(
          D, oo + i, op.apply(a.getAtIndex(D, ao + i * as), b.getAtIndex(D, bo + i * bs), p));
    }
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long addD(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      double p) {
    DoubleVector pv = DoubleVector.broadcast(DS, p);
    long i = 0, bound = DS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.add(y.mul(pv))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else if (as == 1) {
      DoubleVector y = DoubleVector.broadcast(DS, b.getAtIndex(D, bo));
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        (x.add(y.mul(pv))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      DoubleVector x = DoubleVector.broadcast(DS, a.getAtIndex(D, ao));
      for (; i < bound; i += DS.length()) {
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.add(y.mul(pv))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long subD(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      double p) {
    DoubleVector pv = DoubleVector.broadcast(DS, p);
    long i = 0, bound = DS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.sub(y.mul(pv))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else if (as == 1) {
      DoubleVector y = DoubleVector.broadcast(DS, b.getAtIndex(D, bo));
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        (x.sub(y.mul(pv))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      DoubleVector x = DoubleVector.broadcast(DS, a.getAtIndex(D, ao));
      for (; i < bound; i += DS.length()) {
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.sub(y.mul(pv))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long mulD(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      double p) {
    DoubleVector pv = DoubleVector.broadcast(DS, p);
    long i = 0, bound = DS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.mul(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else if (as == 1) {
      DoubleVector y = DoubleVector.broadcast(DS, b.getAtIndex(D, bo));
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        (x.mul(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      DoubleVector x = DoubleVector.broadcast(DS, a.getAtIndex(D, ao));
      for (; i < bound; i += DS.length()) {
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.mul(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long divD(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      double p) {
    DoubleVector pv = DoubleVector.broadcast(DS, p);
    long i = 0, bound = DS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.div(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else if (as == 1) {
      DoubleVector y = DoubleVector.broadcast(DS, b.getAtIndex(D, bo));
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        (x.div(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      DoubleVector x = DoubleVector.broadcast(DS, a.getAtIndex(D, ao));
      for (; i < bound; i += DS.length()) {
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.div(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long maxD(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      double p) {
    DoubleVector pv = DoubleVector.broadcast(DS, p);
    long i = 0, bound = DS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.max(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else if (as == 1) {
      DoubleVector y = DoubleVector.broadcast(DS, b.getAtIndex(D, bo));
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        (x.max(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      DoubleVector x = DoubleVector.broadcast(DS, a.getAtIndex(D, ao));
      for (; i < bound; i += DS.length()) {
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.max(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long minD(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      double p) {
    DoubleVector pv = DoubleVector.broadcast(DS, p);
    long i = 0, bound = DS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.min(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else if (as == 1) {
      DoubleVector y = DoubleVector.broadcast(DS, b.getAtIndex(D, bo));
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        (x.min(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      DoubleVector x = DoubleVector.broadcast(DS, a.getAtIndex(D, ao));
      for (; i < bound; i += DS.length()) {
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.min(y)).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }

  /** Strides (1, 1), or one operand a broadcast scalar (stride 0). */
  private static long reluBackwardD(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      double p) {
    DoubleVector pv = DoubleVector.broadcast(DS, p);
    long i = 0, bound = DS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.blend(x.broadcast(0), y.compare(VectorOperators.LE, 0)))
            .intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else if (as == 1) {
      DoubleVector y = DoubleVector.broadcast(DS, b.getAtIndex(D, bo));
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        (x.blend(x.broadcast(0), y.compare(VectorOperators.LE, 0)))
            .intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      DoubleVector x = DoubleVector.broadcast(DS, a.getAtIndex(D, ao));
      for (; i < bound; i += DS.length()) {
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.blend(x.broadcast(0), y.compare(VectorOperators.LE, 0)))
            .intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }

  /** g (1 - y^2), rounded after each operation as the scalar definition is. */
  private static long tanhBackwardD(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      double p) {
    DoubleVector pv = DoubleVector.broadcast(DS, p);
    long i = 0, bound = DS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.mul(x.broadcast(1).sub(y.mul(y)))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else if (as == 1) {
      DoubleVector y = DoubleVector.broadcast(DS, b.getAtIndex(D, bo));
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        (x.mul(x.broadcast(1).sub(y.mul(y)))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      DoubleVector x = DoubleVector.broadcast(DS, a.getAtIndex(D, ao));
      for (; i < bound; i += DS.length()) {
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.mul(x.broadcast(1).sub(y.mul(y)))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }

  /** (a - b)^2: the difference rounded, then squared, as the scalar definition is. */
  private static long squaredDifferenceD(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n) {
    long i = 0, bound = DS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += DS.length()) {
        DoubleVector d =
            DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE)
                .sub(DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE));
        d.mul(d).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else if (as == 1) {
      DoubleVector y = DoubleVector.broadcast(DS, b.getAtIndex(D, bo));
      for (; i < bound; i += DS.length()) {
        DoubleVector d = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE).sub(y);
        d.mul(d).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      DoubleVector x = DoubleVector.broadcast(DS, a.getAtIndex(D, ao));
      for (; i < bound; i += DS.length()) {
        DoubleVector d = x.sub(DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE));
        d.mul(d).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }

  /** g y (1 - y), rounded after each operation as the scalar definition is. */
  private static long sigmoidBackwardD(
      MemorySegment a,
      long ao,
      long as,
      MemorySegment b,
      long bo,
      long bs,
      MemorySegment out,
      long oo,
      long n,
      double p) {
    DoubleVector pv = DoubleVector.broadcast(DS, p);
    long i = 0, bound = DS.loopBound(n);
    if (as == 1 && bs == 1) {
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.mul(y.mul(x.broadcast(1).sub(y)))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else if (as == 1) {
      DoubleVector y = DoubleVector.broadcast(DS, b.getAtIndex(D, bo));
      for (; i < bound; i += DS.length()) {
        DoubleVector x = DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE);
        (x.mul(y.mul(x.broadcast(1).sub(y)))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    } else {
      DoubleVector x = DoubleVector.broadcast(DS, a.getAtIndex(D, ao));
      for (; i < bound; i += DS.length()) {
        DoubleVector y = DoubleVector.fromMemorySegment(DS, b, (bo + i) * 8, LE);
        (x.mul(y.mul(x.broadcast(1).sub(y)))).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    return i;
  }
}
