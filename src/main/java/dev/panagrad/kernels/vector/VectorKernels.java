package dev.panagrad.kernels.vector;

import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.Kernels;
import dev.panagrad.kernels.UnaryOp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The kernels on the Vector API. Every loop has the same shape: a vector body, then a scalar tail
 * that applies the op's scalar definition. The species come from one bit size, {@code
 * -Dpanagrad.vectorBitSize=128|256|512} (default: the platform's preferred), so tests can cover
 * every width on one machine.
 */
public final class VectorKernels implements Kernels {
  private final int bits;
  private final VectorSpecies<Float> fs;
  private final VectorSpecies<Double> ds;
  private static final ByteOrder LE = ByteOrder.nativeOrder();
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;
  private static final int SUM_BLOCK = 1024;

  /** Kernels at {@code -Dpanagrad.vectorBitSize}, or the platform's preferred width. */
  public VectorKernels() {
    this(
        Integer.getInteger(
            "panagrad.vectorBitSize", FloatVector.SPECIES_PREFERRED.vectorBitSize()));
  }

  /** Kernels at one vector width (128, 256 or 512 bits). */
  public VectorKernels(int bits) {
    this.bits = bits;
    this.fs = VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    this.ds = VectorSpecies.of(double.class, VectorShape.forBitSize(bits));
  }

  @Override
  public String name() {
    return "vector-" + bits;
  }

  private static FloatVector apply(BinaryOp op, FloatVector x, FloatVector y, float p) {
    return switch (op) {
      case ADD -> p == 1 ? x.add(y) : x.add(y.mul(p));
      case SUB -> p == 1 ? x.sub(y) : x.sub(y.mul(p));
      case MUL -> x.mul(y);
      case DIV -> x.div(y);
      case MAX -> x.max(y);
      case MIN -> x.min(y);
    };
  }

  private static DoubleVector apply(BinaryOp op, DoubleVector x, DoubleVector y, double p) {
    return switch (op) {
      case ADD -> x.add(y.mul(p));
      case SUB -> x.sub(y.mul(p));
      case MUL -> x.mul(y);
      case DIV -> x.div(y);
      case MAX -> x.max(y);
      case MIN -> x.min(y);
    };
  }

  @Override
  public void binaryF(
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
    long i = 0;
    int lanes = fs.length();
    long bound = n - n % lanes;
    if (as + bs >= 1) { // both strided runs, or one broadcast scalar
      FloatVector ca = as == 0 ? FloatVector.broadcast(fs, a.getAtIndex(F, ao)) : null;
      FloatVector cb = bs == 0 ? FloatVector.broadcast(fs, b.getAtIndex(F, bo)) : null;
      for (; i < bound; i += lanes) {
        FloatVector x = ca != null ? ca : FloatVector.fromMemorySegment(fs, a, (ao + i) * 4, LE);
        FloatVector y = cb != null ? cb : FloatVector.fromMemorySegment(fs, b, (bo + i) * 4, LE);
        apply(op, x, y, p).intoMemorySegment(out, (oo + i) * 4, LE);
      }
    }
    for (; i < n; i++) {
      out.setAtIndex(
          F, oo + i, op.apply(a.getAtIndex(F, ao + i * as), b.getAtIndex(F, bo + i * bs), p));
    }
  }

  @Override
  public void binaryD(
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
    if (n == 0) return;
    long i = 0;
    int lanes = ds.length();
    long bound = n - n % lanes;
    if (as + bs >= 1) {
      DoubleVector ca = as == 0 ? DoubleVector.broadcast(ds, a.getAtIndex(D, ao)) : null;
      DoubleVector cb = bs == 0 ? DoubleVector.broadcast(ds, b.getAtIndex(D, bo)) : null;
      for (; i < bound; i += lanes) {
        DoubleVector x = ca != null ? ca : DoubleVector.fromMemorySegment(ds, a, (ao + i) * 8, LE);
        DoubleVector y = cb != null ? cb : DoubleVector.fromMemorySegment(ds, b, (bo + i) * 8, LE);
        apply(op, x, y, p).intoMemorySegment(out, (oo + i) * 8, LE);
      }
    }
    for (; i < n; i++) {
      out.setAtIndex(
          D, oo + i, op.apply(a.getAtIndex(D, ao + i * as), b.getAtIndex(D, bo + i * bs), p));
    }
  }

  private static FloatVector apply(UnaryOp op, FloatVector x, float p, float q) {
    return switch (op) {
      case COPY -> x;
      case NEG -> x.neg();
      case ABS -> x.abs();
      case RELU -> x.max(0f);
      case SQRT -> x.sqrt();
      case EXP -> x.lanewise(VectorOperators.EXP);
      case LOG -> x.lanewise(VectorOperators.LOG);
      case TANH -> x.lanewise(VectorOperators.TANH);
      case SIGMOID ->
          FloatVector.broadcast(x.species(), 1f).div(x.neg().lanewise(VectorOperators.EXP).add(1f));
      case ADD_SCALAR -> x.add(p);
      case MUL_SCALAR -> x.mul(p);
      case RSUB_SCALAR -> FloatVector.broadcast(x.species(), p).sub(x);
      case DIV_SCALAR -> x.div(p);
      case CLAMP -> x.max(p).min(q);
      case SQUARE -> x.mul(x);
      case FILL -> FloatVector.broadcast(x.species(), p);
    };
  }

  private static DoubleVector apply(UnaryOp op, DoubleVector x, double p, double q) {
    return switch (op) {
      case COPY -> x;
      case NEG -> x.neg();
      case ABS -> x.abs();
      case RELU -> x.max(0d);
      case SQRT -> x.sqrt();
      case EXP -> x.lanewise(VectorOperators.EXP);
      case LOG -> x.lanewise(VectorOperators.LOG);
      case TANH -> x.lanewise(VectorOperators.TANH);
      case SIGMOID ->
          DoubleVector.broadcast(x.species(), 1d)
              .div(x.neg().lanewise(VectorOperators.EXP).add(1d));
      case ADD_SCALAR -> x.add(p);
      case MUL_SCALAR -> x.mul(p);
      case RSUB_SCALAR -> DoubleVector.broadcast(x.species(), p).sub(x);
      case DIV_SCALAR -> x.div(p);
      case CLAMP -> x.max(p).min(q);
      case SQUARE -> x.mul(x);
      case FILL -> DoubleVector.broadcast(x.species(), p);
    };
  }

  @Override
  public void unaryF(
      UnaryOp op, MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    int lanes = fs.length();
    long i = 0, bound = n - n % lanes;
    for (; i < bound; i += lanes) {
      apply(op, FloatVector.fromMemorySegment(fs, a, (ao + i) * 4, LE), p, q)
          .intoMemorySegment(out, (oo + i) * 4, LE);
    }
    for (; i < n; i++) out.setAtIndex(F, oo + i, op.apply(a.getAtIndex(F, ao + i), p, q));
  }

  @Override
  public void unaryD(
      UnaryOp op,
      MemorySegment a,
      long ao,
      MemorySegment out,
      long oo,
      long n,
      double p,
      double q) {
    int lanes = ds.length();
    long i = 0, bound = n - n % lanes;
    for (; i < bound; i += lanes) {
      apply(op, DoubleVector.fromMemorySegment(ds, a, (ao + i) * 8, LE), p, q)
          .intoMemorySegment(out, (oo + i) * 8, LE);
    }
    for (; i < n; i++) out.setAtIndex(D, oo + i, op.apply(a.getAtIndex(D, ao + i), p, q));
  }

  /**
   * Blocks of {@link #SUM_BLOCK} floats are summed in four vector accumulators (independent chains,
   * so the adds overlap), combined in a fixed order, lanes added in index order; block sums join a
   * double total. Never {@code reduceLanes(ADD)}: its order is unspecified.
   */
  @Override
  public double sumF(MemorySegment a, long ao, long n) {
    int lanes = fs.length();
    double total = 0;
    for (long start = 0; start < n; start += SUM_BLOCK) {
      long end = Math.min(n, start + SUM_BLOCK);
      FloatVector s0 = FloatVector.zero(fs), s1 = s0, s2 = s0, s3 = s0;
      long i = start;
      for (; i + 4L * lanes <= end; i += 4L * lanes) {
        s0 = s0.add(FloatVector.fromMemorySegment(fs, a, (ao + i) * 4, LE));
        s1 = s1.add(FloatVector.fromMemorySegment(fs, a, (ao + i + lanes) * 4, LE));
        s2 = s2.add(FloatVector.fromMemorySegment(fs, a, (ao + i + 2L * lanes) * 4, LE));
        s3 = s3.add(FloatVector.fromMemorySegment(fs, a, (ao + i + 3L * lanes) * 4, LE));
      }
      for (; i + lanes <= end; i += lanes) {
        s0 = s0.add(FloatVector.fromMemorySegment(fs, a, (ao + i) * 4, LE));
      }
      FloatVector s = s0.add(s1).add(s2.add(s3));
      float block = 0;
      for (int l = 0; l < lanes; l++) block += s.lane(l);
      for (; i < end; i++) block += a.getAtIndex(F, ao + i);
      total += block;
    }
    return total;
  }

  @Override
  public double sumD(MemorySegment a, long ao, long n) {
    int lanes = ds.length();
    DoubleVector s0 = DoubleVector.zero(ds), s1 = s0, s2 = s0, s3 = s0;
    long i = 0;
    for (; i + 4L * lanes <= n; i += 4L * lanes) {
      s0 = s0.add(DoubleVector.fromMemorySegment(ds, a, (ao + i) * 8, LE));
      s1 = s1.add(DoubleVector.fromMemorySegment(ds, a, (ao + i + lanes) * 8, LE));
      s2 = s2.add(DoubleVector.fromMemorySegment(ds, a, (ao + i + 2L * lanes) * 8, LE));
      s3 = s3.add(DoubleVector.fromMemorySegment(ds, a, (ao + i + 3L * lanes) * 8, LE));
    }
    for (; i + lanes <= n; i += lanes)
      s0 = s0.add(DoubleVector.fromMemorySegment(ds, a, (ao + i) * 8, LE));
    DoubleVector s = s0.add(s1).add(s2.add(s3));
    double total = 0;
    for (int l = 0; l < lanes; l++) total += s.lane(l);
    for (; i < n; i++) total += a.getAtIndex(D, ao + i);
    return total;
  }
}
