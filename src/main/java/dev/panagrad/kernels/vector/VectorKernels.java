package dev.panagrad.kernels.vector;

import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.Kernels;
import dev.panagrad.kernels.ScalarKernels;
import dev.panagrad.kernels.UnaryOp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
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
  // Species must be static final constants: only then does C2 turn vector operations into
  // machine instructions (with a species held in a field they run as plain Java, many times
  // slower). Other widths are tested in forked JVMs with -Dpanagrad.vectorBitSize.
  static final int BITS =
      Integer.getInteger("panagrad.vectorBitSize", FloatVector.SPECIES_PREFERRED.vectorBitSize());
  static final VectorSpecies<Float> FS =
      VectorSpecies.of(float.class, VectorShape.forBitSize(BITS));
  static final VectorSpecies<Double> DS =
      VectorSpecies.of(double.class, VectorShape.forBitSize(BITS));
  static final VectorSpecies<Integer> IS =
      VectorSpecies.of(int.class, VectorShape.forBitSize(BITS));
  private static final ByteOrder LE = ByteOrder.nativeOrder();
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;
  private static final int SUM_BLOCK = 1024;

  /** The tails of the fused optimizer updates: the reference loop, on the last few elements. */
  private static final ScalarKernels SCALAR = new ScalarKernels();

  @Override
  public String name() {
    return "vector-" + BITS;
  }

  // The elementwise loops live in ElementwiseLoops (Note [Whole vectors or none] is there).

  @Override
  public void unaryF(
      UnaryOp op, MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    ElementwiseLoops.unaryF(op, a, ao, out, oo, n, p, q);
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
    ElementwiseLoops.binaryF(op, a, ao, as, b, bo, bs, out, oo, n, p);
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
    ElementwiseLoops.unaryD(op, a, ao, out, oo, n, p, q);
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
    ElementwiseLoops.binaryD(op, a, ao, as, b, bo, bs, out, oo, n, p);
  }

  /**
   * Blocks of {@link #SUM_BLOCK} floats are summed in four vector accumulators (independent chains,
   * so the adds overlap), combined in a fixed order, lanes added in index order; block sums join a
   * double total. Never {@code reduceLanes(ADD)}: its order is unspecified.
   */
  @Override
  public double sumF(MemorySegment a, long ao, long n) {
    int lanes = FS.length();
    double total = 0;
    for (long start = 0; start < n; start += SUM_BLOCK) {
      long end = Math.min(n, start + SUM_BLOCK);
      FloatVector s0 = FloatVector.zero(FS), s1 = s0, s2 = s0, s3 = s0;
      long i = start;
      for (; i + 4L * lanes <= end; i += 4L * lanes) {
        s0 = s0.add(FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE));
        s1 = s1.add(FloatVector.fromMemorySegment(FS, a, (ao + i + lanes) * 4, LE));
        s2 = s2.add(FloatVector.fromMemorySegment(FS, a, (ao + i + 2L * lanes) * 4, LE));
        s3 = s3.add(FloatVector.fromMemorySegment(FS, a, (ao + i + 3L * lanes) * 4, LE));
      }
      for (; i + lanes <= end; i += lanes) {
        s0 = s0.add(FloatVector.fromMemorySegment(FS, a, (ao + i) * 4, LE));
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
    int lanes = DS.length();
    DoubleVector s0 = DoubleVector.zero(DS), s1 = s0, s2 = s0, s3 = s0;
    long i = 0;
    for (; i + 4L * lanes <= n; i += 4L * lanes) {
      s0 = s0.add(DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE));
      s1 = s1.add(DoubleVector.fromMemorySegment(DS, a, (ao + i + lanes) * 8, LE));
      s2 = s2.add(DoubleVector.fromMemorySegment(DS, a, (ao + i + 2L * lanes) * 8, LE));
      s3 = s3.add(DoubleVector.fromMemorySegment(DS, a, (ao + i + 3L * lanes) * 8, LE));
    }
    for (; i + lanes <= n; i += lanes)
      s0 = s0.add(DoubleVector.fromMemorySegment(DS, a, (ao + i) * 8, LE));
    DoubleVector s = s0.add(s1).add(s2.add(s3));
    double total = 0;
    for (int l = 0; l < lanes; l++) total += s.lane(l);
    for (; i < n; i++) total += a.getAtIndex(D, ao + i);
    return total;
  }

  // SGD: the same sequence of roundings as ScalarKernels.sgdF (mul, then add: no fma), lane by
  // lane. The flags are loop-invariant, so C2 unswitches the loop on them.
  @Override
  public void sgdF(
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
      boolean nesterov) {
    boolean decay = wd != 0, moment = buf != null;
    FloatVector sv = FloatVector.broadcast(FS, step), mv = FloatVector.broadcast(FS, momentum);
    FloatVector dv = FloatVector.broadcast(FS, damp), wdv = FloatVector.broadcast(FS, wd);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector p = FloatVector.fromMemorySegment(FS, w, (wo + i) * 4, LE);
      FloatVector d = FloatVector.fromMemorySegment(FS, g, (go + i) * 4, LE);
      if (decay) d = d.add(wdv.mul(p));
      if (moment) {
        FloatVector b = FloatVector.fromMemorySegment(FS, buf, (bo + i) * 4, LE).mul(mv);
        b = b.add(dv.mul(d));
        b.intoMemorySegment(buf, (bo + i) * 4, LE);
        d = nesterov ? d.add(mv.mul(b)) : b;
      }
      p.add(sv.mul(d)).intoMemorySegment(w, (wo + i) * 4, LE);
    }
    if (i < n) {
      SCALAR.sgdF(w, wo + i, g, go + i, buf, bo + i, n - i, step, momentum, damp, wd, nesterov);
    }
  }

  @Override
  public void sgdD(
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
      boolean nesterov) {
    boolean decay = wd != 0, moment = buf != null;
    DoubleVector sv = DoubleVector.broadcast(DS, step), mv = DoubleVector.broadcast(DS, momentum);
    DoubleVector dv = DoubleVector.broadcast(DS, damp), wdv = DoubleVector.broadcast(DS, wd);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector p = DoubleVector.fromMemorySegment(DS, w, (wo + i) * 8, LE);
      DoubleVector d = DoubleVector.fromMemorySegment(DS, g, (go + i) * 8, LE);
      if (decay) d = d.add(wdv.mul(p));
      if (moment) {
        DoubleVector b = DoubleVector.fromMemorySegment(DS, buf, (bo + i) * 8, LE).mul(mv);
        b = b.add(dv.mul(d));
        b.intoMemorySegment(buf, (bo + i) * 8, LE);
        d = nesterov ? d.add(mv.mul(b)) : b;
      }
      p.add(sv.mul(d)).intoMemorySegment(w, (wo + i) * 8, LE);
    }
    if (i < n) {
      SCALAR.sgdD(w, wo + i, g, go + i, buf, bo + i, n - i, step, momentum, damp, wd, nesterov);
    }
  }

  // Adam and RMSprop: ScalarKernels' sequence of roundings lane by lane (mul, then add: no fma;
  // sqrt and division are correctly rounded in both, and lanewise max is Math.max). The flags are
  // loop-invariant, so C2 unswitches the loop on them.
  @Override
  public void adamF(
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
      float step) {
    // Note [Masks, not branches]: the options are loop-invariant masks, all lanes or none, not
    // branches around vector code. C2 keeps vectors in registers only along one path: once a loop
    // had run both ways (Adam, then AdamW with amsgrad, in one JVM), a vector assigned in a
    // branch was boxed at the merge, megabytes a step. Without amsgrad, the running maximum is
    // taken over v itself (just stored: the same values) and not stored.
    VectorMask<Float> scaled = FS.maskAll(scale != 1), decay = FS.maskAll(l2 != 0);
    VectorMask<Float> ams = FS.maskAll(vmax != null);
    MemorySegment x = vmax != null ? vmax : v;
    long xAt = vmax != null ? xo : vo;
    FloatVector b1v = FloatVector.broadcast(FS, b1), c1v = FloatVector.broadcast(FS, c1);
    FloatVector b2v = FloatVector.broadcast(FS, b2), c2v = FloatVector.broadcast(FS, c2);
    FloatVector ev = FloatVector.broadcast(FS, eps), l2v = FloatVector.broadcast(FS, l2);
    FloatVector scv = FloatVector.broadcast(FS, scale), bcv = FloatVector.broadcast(FS, bcSqrt);
    FloatVector sv = FloatVector.broadcast(FS, step);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector p = FloatVector.fromMemorySegment(FS, w, (wo + i) * 4, LE);
      FloatVector d = FloatVector.fromMemorySegment(FS, g, (go + i) * 4, LE);
      p = p.mul(scv, scaled);
      d = d.add(l2v.mul(p), decay);
      FloatVector mi = FloatVector.fromMemorySegment(FS, m, (mo + i) * 4, LE).mul(b1v);
      mi = mi.add(c1v.mul(d));
      FloatVector vi = FloatVector.fromMemorySegment(FS, v, (vo + i) * 4, LE).mul(b2v);
      vi = vi.add(c2v.mul(d.mul(d)));
      mi.intoMemorySegment(m, (mo + i) * 4, LE);
      vi.intoMemorySegment(v, (vo + i) * 4, LE);
      FloatVector top = FloatVector.fromMemorySegment(FS, x, (xAt + i) * 4, LE).max(vi);
      top.intoMemorySegment(x, (xAt + i) * 4, LE, ams);
      vi = vi.blend(top, ams);
      FloatVector denom = vi.sqrt().div(bcv).add(ev);
      p.add(sv.mul(mi.div(denom))).intoMemorySegment(w, (wo + i) * 4, LE);
    }
    if (i < n) {
      SCALAR.adamF(
          w, wo + i, g, go + i, m, mo + i, v, vo + i, vmax, xo + i, n - i, b1, c1, b2, c2, eps, l2,
          scale, bcSqrt, step);
    }
  }

  @Override
  public void adamD(
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
      double step) {
    // Note [Masks, not branches] (adamF).
    VectorMask<Double> scaled = DS.maskAll(scale != 1), decay = DS.maskAll(l2 != 0);
    VectorMask<Double> ams = DS.maskAll(vmax != null);
    MemorySegment x = vmax != null ? vmax : v;
    long xAt = vmax != null ? xo : vo;
    DoubleVector b1v = DoubleVector.broadcast(DS, b1), c1v = DoubleVector.broadcast(DS, c1);
    DoubleVector b2v = DoubleVector.broadcast(DS, b2), c2v = DoubleVector.broadcast(DS, c2);
    DoubleVector ev = DoubleVector.broadcast(DS, eps), l2v = DoubleVector.broadcast(DS, l2);
    DoubleVector scv = DoubleVector.broadcast(DS, scale), bcv = DoubleVector.broadcast(DS, bcSqrt);
    DoubleVector sv = DoubleVector.broadcast(DS, step);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector p = DoubleVector.fromMemorySegment(DS, w, (wo + i) * 8, LE);
      DoubleVector d = DoubleVector.fromMemorySegment(DS, g, (go + i) * 8, LE);
      p = p.mul(scv, scaled);
      d = d.add(l2v.mul(p), decay);
      DoubleVector mi = DoubleVector.fromMemorySegment(DS, m, (mo + i) * 8, LE).mul(b1v);
      mi = mi.add(c1v.mul(d));
      DoubleVector vi = DoubleVector.fromMemorySegment(DS, v, (vo + i) * 8, LE).mul(b2v);
      vi = vi.add(c2v.mul(d.mul(d)));
      mi.intoMemorySegment(m, (mo + i) * 8, LE);
      vi.intoMemorySegment(v, (vo + i) * 8, LE);
      DoubleVector top = DoubleVector.fromMemorySegment(DS, x, (xAt + i) * 8, LE).max(vi);
      top.intoMemorySegment(x, (xAt + i) * 8, LE, ams);
      vi = vi.blend(top, ams);
      DoubleVector denom = vi.sqrt().div(bcv).add(ev);
      p.add(sv.mul(mi.div(denom))).intoMemorySegment(w, (wo + i) * 8, LE);
    }
    if (i < n) {
      SCALAR.adamD(
          w, wo + i, g, go + i, m, mo + i, v, vo + i, vmax, xo + i, n - i, b1, c1, b2, c2, eps, l2,
          scale, bcSqrt, step);
    }
  }

  @Override
  public void rmspropF(
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
      float step) {
    // Note [Masks, not branches] (adamF): centered and momentum as masks; without them, the
    // running mean is read from sq and the buffer from w, and neither is stored.
    VectorMask<Float> decay = FS.maskAll(wd != 0), centered = FS.maskAll(ga != null);
    VectorMask<Float> moment = FS.maskAll(buf != null);
    MemorySegment gaSeg = ga != null ? ga : sq, bufSeg = buf != null ? buf : w;
    long gaAt = ga != null ? ao : so, bufAt = buf != null ? bo : wo;
    FloatVector av = FloatVector.broadcast(FS, a), cv = FloatVector.broadcast(FS, c);
    FloatVector ev = FloatVector.broadcast(FS, eps), wdv = FloatVector.broadcast(FS, wd);
    FloatVector muv = FloatVector.broadcast(FS, mu), sv = FloatVector.broadcast(FS, step);
    long i = 0, bound = FS.loopBound(n);
    for (; i < bound; i += FS.length()) {
      FloatVector p = FloatVector.fromMemorySegment(FS, w, (wo + i) * 4, LE);
      FloatVector d = FloatVector.fromMemorySegment(FS, g, (go + i) * 4, LE);
      d = d.add(wdv.mul(p), decay);
      FloatVector s2 = FloatVector.fromMemorySegment(FS, sq, (so + i) * 4, LE).mul(av);
      s2 = s2.add(cv.mul(d.mul(d)));
      s2.intoMemorySegment(sq, (so + i) * 4, LE);
      FloatVector ag = FloatVector.fromMemorySegment(FS, gaSeg, (gaAt + i) * 4, LE).mul(av);
      ag = ag.add(cv.mul(d));
      ag.intoMemorySegment(gaSeg, (gaAt + i) * 4, LE, centered);
      FloatVector avg = s2.sub(ag.mul(ag), centered).sqrt().add(ev);
      FloatVector q = d.div(avg);
      FloatVector b = FloatVector.fromMemorySegment(FS, bufSeg, (bufAt + i) * 4, LE).mul(muv);
      b = b.add(q);
      b.intoMemorySegment(bufSeg, (bufAt + i) * 4, LE, moment);
      p.add(sv.mul(q.blend(b, moment))).intoMemorySegment(w, (wo + i) * 4, LE);
    }
    if (i < n) {
      SCALAR.rmspropF(
          w, wo + i, g, go + i, sq, so + i, ga, ao + i, buf, bo + i, n - i, a, c, eps, wd, mu,
          step);
    }
  }

  @Override
  public void rmspropD(
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
      double step) {
    // Note [Masks, not branches] (adamF): centered and momentum as masks; without them, the
    // running mean is read from sq and the buffer from w, and neither is stored.
    VectorMask<Double> decay = DS.maskAll(wd != 0), centered = DS.maskAll(ga != null);
    VectorMask<Double> moment = DS.maskAll(buf != null);
    MemorySegment gaSeg = ga != null ? ga : sq, bufSeg = buf != null ? buf : w;
    long gaAt = ga != null ? ao : so, bufAt = buf != null ? bo : wo;
    DoubleVector av = DoubleVector.broadcast(DS, a), cv = DoubleVector.broadcast(DS, c);
    DoubleVector ev = DoubleVector.broadcast(DS, eps), wdv = DoubleVector.broadcast(DS, wd);
    DoubleVector muv = DoubleVector.broadcast(DS, mu), sv = DoubleVector.broadcast(DS, step);
    long i = 0, bound = DS.loopBound(n);
    for (; i < bound; i += DS.length()) {
      DoubleVector p = DoubleVector.fromMemorySegment(DS, w, (wo + i) * 8, LE);
      DoubleVector d = DoubleVector.fromMemorySegment(DS, g, (go + i) * 8, LE);
      d = d.add(wdv.mul(p), decay);
      DoubleVector s2 = DoubleVector.fromMemorySegment(DS, sq, (so + i) * 8, LE).mul(av);
      s2 = s2.add(cv.mul(d.mul(d)));
      s2.intoMemorySegment(sq, (so + i) * 8, LE);
      DoubleVector ag = DoubleVector.fromMemorySegment(DS, gaSeg, (gaAt + i) * 8, LE).mul(av);
      ag = ag.add(cv.mul(d));
      ag.intoMemorySegment(gaSeg, (gaAt + i) * 8, LE, centered);
      DoubleVector avg = s2.sub(ag.mul(ag), centered).sqrt().add(ev);
      DoubleVector q = d.div(avg);
      DoubleVector b = DoubleVector.fromMemorySegment(DS, bufSeg, (bufAt + i) * 8, LE).mul(muv);
      b = b.add(q);
      b.intoMemorySegment(bufSeg, (bufAt + i) * 8, LE, moment);
      p.add(sv.mul(q.blend(b, moment))).intoMemorySegment(w, (wo + i) * 8, LE);
    }
    if (i < n) {
      SCALAR.rmspropD(
          w, wo + i, g, go + i, sq, so + i, ga, ao + i, buf, bo + i, n - i, a, c, eps, wd, mu,
          step);
    }
  }

  /**
   * Eight running sums as one, two or four vectors (lane l of vector k is sum k * lanes + l), so
   * every width adds the same pairs as {@link ScalarKernels#sumFixedOrder}; the branches on the
   * lane count are on a constant and fold away.
   */
  @Override
  public double sumFixedOrder(double[] a, int n) {
    int lanes = DS.length();
    DoubleVector s0 = DoubleVector.zero(DS), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      s0 = s0.add(DoubleVector.fromArray(DS, a, i));
      if (lanes < 8) s1 = s1.add(DoubleVector.fromArray(DS, a, i + lanes));
      if (lanes < 4) {
        s2 = s2.add(DoubleVector.fromArray(DS, a, i + 2 * lanes));
        s3 = s3.add(DoubleVector.fromArray(DS, a, i + 3 * lanes));
      }
    }
    double sum =
        ((eighth(s0, s1, s2, s3, 0) + eighth(s0, s1, s2, s3, 1))
                + (eighth(s0, s1, s2, s3, 2) + eighth(s0, s1, s2, s3, 3)))
            + ((eighth(s0, s1, s2, s3, 4) + eighth(s0, s1, s2, s3, 5))
                + (eighth(s0, s1, s2, s3, 6) + eighth(s0, s1, s2, s3, 7)));
    for (; i < n; i++) sum += a[i];
    return sum;
  }

  /** Running sum j of {@link #sumFixedOrder}: lane j % lanes of vector j / lanes. */
  private static double eighth(
      DoubleVector s0, DoubleVector s1, DoubleVector s2, DoubleVector s3, int j) {
    int lanes = DS.length();
    DoubleVector s =
        switch (j / lanes) {
          case 0 -> s0;
          case 1 -> s1;
          case 2 -> s2;
          default -> s3;
        };
    return s.lane(j % lanes);
  }

  /** The float species with as many lanes as {@link #DS}: float32 rows convert to and from it. */
  static final VectorSpecies<Float> FH =
      VectorSpecies.of(float.class, VectorShape.forBitSize(BITS / 2));

  // softmax: the max, the sum and the normalisation in vectors; exp and log one element at a time
  // (Note [Deterministic transcendentals]). The max is exact in any order (lanewise max is
  // Math.max: NaN wins, +0 beats -0), the sum keeps sumFixedOrder's pairs, and the division and
  // the conversion to float round once each, as the scalar loop does.
  @Override
  public void softmaxRowsF(
      MemorySegment x,
      long xo,
      MemorySegment y,
      long yo,
      long rows,
      int n,
      boolean log,
      double[] work) {
    int bound = DS.loopBound(n);
    for (long r = 0; r < rows; r++) {
      long xr = xo + r * n, yr = yo + r * n;
      FloatVector mv = FloatVector.broadcast(FS, Float.NEGATIVE_INFINITY);
      int j = 0;
      for (; j < FS.loopBound(n); j += FS.length()) {
        mv = mv.max(FloatVector.fromMemorySegment(FS, x, (xr + j) * 4, LE));
      }
      float mf = Float.NEGATIVE_INFINITY;
      for (int l = 0; l < FS.length(); l++) mf = Math.max(mf, mv.lane(l));
      for (; j < n; j++) mf = Math.max(mf, x.getAtIndex(F, xr + j));
      double m = mf;
      for (j = 0; j < n; j++) work[j] = Math.exp(x.getAtIndex(F, xr + j) - m);
      double sum = sumFixedOrder(work, n);
      if (log) {
        double ls = Math.log(sum);
        DoubleVector shift = DoubleVector.broadcast(DS, m), lsv = DoubleVector.broadcast(DS, ls);
        for (j = 0; j < bound; j += DS.length()) {
          DoubleVector z =
              (DoubleVector)
                  FloatVector.fromMemorySegment(FH, x, (xr + j) * 4, LE)
                      .convertShape(VectorOperators.F2D, DS, 0);
          z.sub(shift)
              .sub(lsv)
              .convertShape(VectorOperators.D2F, FH, 0)
              .intoMemorySegment(y, (yr + j) * 4, LE);
        }
        for (; j < n; j++) y.setAtIndex(F, yr + j, (float) ((x.getAtIndex(F, xr + j) - m) - ls));
      } else {
        DoubleVector sv = DoubleVector.broadcast(DS, sum);
        for (j = 0; j < bound; j += DS.length()) {
          DoubleVector.fromArray(DS, work, j)
              .div(sv)
              .convertShape(VectorOperators.D2F, FH, 0)
              .intoMemorySegment(y, (yr + j) * 4, LE);
        }
        for (; j < n; j++) y.setAtIndex(F, yr + j, (float) (work[j] / sum));
      }
    }
  }

  @Override
  public void softmaxRowsD(
      MemorySegment x,
      long xo,
      MemorySegment y,
      long yo,
      long rows,
      int n,
      boolean log,
      double[] work) {
    int bound = DS.loopBound(n);
    for (long r = 0; r < rows; r++) {
      long xr = xo + r * n, yr = yo + r * n;
      DoubleVector mv = DoubleVector.broadcast(DS, Double.NEGATIVE_INFINITY);
      int j = 0;
      for (; j < bound; j += DS.length()) {
        mv = mv.max(DoubleVector.fromMemorySegment(DS, x, (xr + j) * 8, LE));
      }
      double m = Double.NEGATIVE_INFINITY;
      for (int l = 0; l < DS.length(); l++) m = Math.max(m, mv.lane(l));
      for (; j < n; j++) m = Math.max(m, x.getAtIndex(D, xr + j));
      for (j = 0; j < n; j++) work[j] = Math.exp(x.getAtIndex(D, xr + j) - m);
      double sum = sumFixedOrder(work, n);
      if (log) {
        double ls = Math.log(sum);
        DoubleVector shift = DoubleVector.broadcast(DS, m), lsv = DoubleVector.broadcast(DS, ls);
        for (j = 0; j < bound; j += DS.length()) {
          DoubleVector.fromMemorySegment(DS, x, (xr + j) * 8, LE)
              .sub(shift)
              .sub(lsv)
              .intoMemorySegment(y, (yr + j) * 8, LE);
        }
        for (; j < n; j++) y.setAtIndex(D, yr + j, (x.getAtIndex(D, xr + j) - m) - ls);
      } else {
        DoubleVector sv = DoubleVector.broadcast(DS, sum);
        for (j = 0; j < bound; j += DS.length()) {
          DoubleVector.fromArray(DS, work, j).div(sv).intoMemorySegment(y, (yr + j) * 8, LE);
        }
        for (; j < n; j++) y.setAtIndex(D, yr + j, work[j] / sum);
      }
    }
  }

  @Override
  public void logSoftmaxBackwardRowsF(
      MemorySegment g,
      long go,
      MemorySegment y,
      long yo,
      MemorySegment gi,
      long gio,
      long rows,
      int n,
      double[] work) {
    int bound = FS.loopBound(n);
    for (long r = 0; r < rows; r++) {
      long gr = go + r * n, yr = yo + r * n, ir = gio + r * n;
      for (int j = 0; j < n; j++) work[j] = g.getAtIndex(F, gr + j);
      float s = (float) sumFixedOrder(work, n);
      // exp is scalar (Math.exp, as the scalar kernel), written to gi; then gi = g - gi s in
      // vectors: a float multiply and a float subtract, the scalar kernel's two roundings.
      for (int j = 0; j < n; j++)
        gi.setAtIndex(F, ir + j, (float) Math.exp(y.getAtIndex(F, yr + j)));
      FloatVector sv = FloatVector.broadcast(FS, s);
      int j = 0;
      for (; j < bound; j += FS.length()) {
        FloatVector e = FloatVector.fromMemorySegment(FS, gi, (ir + j) * 4, LE);
        FloatVector.fromMemorySegment(FS, g, (gr + j) * 4, LE)
            .sub(e.mul(sv))
            .intoMemorySegment(gi, (ir + j) * 4, LE);
      }
      for (; j < n; j++) {
        gi.setAtIndex(F, ir + j, g.getAtIndex(F, gr + j) - gi.getAtIndex(F, ir + j) * s);
      }
    }
  }

  @Override
  public void logSoftmaxBackwardRowsD(
      MemorySegment g,
      long go,
      MemorySegment y,
      long yo,
      MemorySegment gi,
      long gio,
      long rows,
      int n,
      double[] work) {
    int bound = DS.loopBound(n);
    for (long r = 0; r < rows; r++) {
      long gr = go + r * n, yr = yo + r * n, ir = gio + r * n;
      for (int j = 0; j < n; j++) work[j] = g.getAtIndex(D, gr + j);
      double s = sumFixedOrder(work, n);
      for (int j = 0; j < n; j++) gi.setAtIndex(D, ir + j, Math.exp(y.getAtIndex(D, yr + j)));
      DoubleVector sv = DoubleVector.broadcast(DS, s);
      int j = 0;
      for (; j < bound; j += DS.length()) {
        DoubleVector e = DoubleVector.fromMemorySegment(DS, gi, (ir + j) * 8, LE);
        DoubleVector.fromArray(DS, work, j).sub(e.mul(sv)).intoMemorySegment(gi, (ir + j) * 8, LE);
      }
      for (; j < n; j++) gi.setAtIndex(D, ir + j, work[j] - gi.getAtIndex(D, ir + j) * s);
    }
  }

  /**
   * The reference loop: picking one element per row is a gather, and the Vector API gathers only
   * from arrays, not from memory segments. The sum of the picked values is the vector part.
   */
  @Override
  public int nllPickF(
      MemorySegment x,
      long xo,
      long cls,
      MemorySegment t,
      long to,
      int n,
      long ignore,
      double[] picked) {
    return SCALAR.nllPickF(x, xo, cls, t, to, n, ignore, picked);
  }

  @Override
  public int nllPickD(
      MemorySegment x,
      long xo,
      long cls,
      MemorySegment t,
      long to,
      int n,
      long ignore,
      double[] picked) {
    return SCALAR.nllPickD(x, xo, cls, t, to, n, ignore, picked);
  }

  @Override
  public void copyRowsF(
      float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride, int rows, int cols) {
    // System.arraycopy, not vectors: a copy has no arithmetic to vectorise, and this kernel is
    // inlined into large callers (the direct convolution's loop), where C2 once stopped inlining
    // the Vector API's own methods and boxed every row's vectors (266 KB a replayed CNN step).
    for (int r = 0; r < rows; r++) {
      System.arraycopy(src, sOff + r * sStride, dst, dOff + r * dStride, cols);
    }
  }

  @Override
  public void addRowsF(
      float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride, int rows, int cols) {
    int lanes = FS.length(), tail = cols - cols % lanes;
    VectorMask<Float> m = lanesIn(0, cols - tail);
    for (int r = 0; r < rows; r++) {
      int from = sOff + r * sStride, to = dOff + r * dStride, c = 0;
      for (; c + lanes <= cols; c += lanes) {
        FloatVector x = FloatVector.fromArray(FS, dst, to + c);
        x.add(FloatVector.fromArray(FS, src, from + c)).intoArray(dst, to + c);
      }
      if (c < cols && from + c + lanes <= src.length && to + c + lanes <= dst.length) {
        FloatVector x = FloatVector.fromArray(FS, dst, to + c, m);
        x.add(FloatVector.fromArray(FS, src, from + c, m)).intoArray(dst, to + c, m);
        c = cols;
      }
      for (; c < cols; c++) dst[to + c] += src[from + c];
    }
  }

  /** Lane l holds l. */
  private static final FloatVector LANE_INDEX =
      FloatVector.fromArray(FS, laneIndex(FS.length()), 0);

  private static float[] laneIndex(int lanes) {
    float[] l = new float[lanes];
    for (int i = 0; i < lanes; i++) l[i] = i;
    return l;
  }

  /**
   * The lanes l with lo <= l < hi, from two float compares: {@code FS.indexInRange} with bounds
   * that are not constants runs as plain Java (C2 leaves it out of line): 12% of a W7 step.
   */
  private static VectorMask<Float> lanesIn(int lo, int hi) {
    return LANE_INDEX
        .compare(VectorOperators.GE, lo)
        .and(LANE_INDEX.compare(VectorOperators.LT, hi));
  }

  /** Lane l holds 2l: a window's first column in a row of 2x2 windows. */
  private static final int[] EVEN_LANES = new int[FS.length()];

  /**
   * The same indices as floats, and their odd neighbours: the selectFrom tables that pick a row's
   * even and odd columns out of two consecutive vectors.
   */
  private static final float[] EVEN_COLUMNS = new float[FS.length()],
      ODD_COLUMNS = new float[FS.length()];

  static {
    for (int l = 0; l < EVEN_LANES.length; l++) {
      EVEN_LANES[l] = 2 * l;
      EVEN_COLUMNS[l] = 2 * l;
      ODD_COLUMNS[l] = 2 * l + 1;
    }
  }

  /**
   * A vector of windows at a time: each of the two rows loaded as two consecutive vectors and split
   * into its even and odd columns by a two-table selectFrom (one permute each; gathers at stride 2
   * cost several times more and were 8% of a W7 step), the four candidates' maximum (NaN if any is
   * NaN), then the first candidate equal to it, or the last NaN where the maximum is NaN: the value
   * and position ATen's sequential rule picks (equal values, +0 and -0 among them, keep the earlier
   * candidate, whose bits are the ones stored).
   */
  @Override
  public void maxPool2x2F(
      float[] in, int w, float[] out, int[] arg, int argAt, int base, int oh, int ow) {
    int lanes = FS.length();
    IntVector lane2 = IntVector.fromArray(IS, EVEN_LANES, 0);
    FloatVector even = FloatVector.fromArray(FS, EVEN_COLUMNS, 0);
    FloatVector odd = FloatVector.fromArray(FS, ODD_COLUMNS, 0);
    for (int y = 0; y < oh; y++) {
      int r0 = 2 * y * w, o = y * ow, z = 0;
      for (; z < ow; z += lanes) {
        int i = r0 + 2 * z;
        // both rows' two vectors (masked-off lanes too) and the masked stores must fit
        if (i + w + 2 * lanes > in.length
            || o + z + lanes > out.length
            || argAt + o + z + lanes > arg.length) break;
        VectorMask<Float> m = lanesIn(0, ow - z);
        FloatVector lo = FloatVector.fromArray(FS, in, i);
        FloatVector hi = FloatVector.fromArray(FS, in, i + lanes);
        FloatVector a = even.selectFrom(lo, hi), b = odd.selectFrom(lo, hi);
        lo = FloatVector.fromArray(FS, in, i + w);
        hi = FloatVector.fromArray(FS, in, i + w + lanes);
        FloatVector c = even.selectFrom(lo, hi), e = odd.selectFrom(lo, hi);
        FloatVector max = a.max(b).max(c.max(e));
        FloatVector best = e;
        IntVector at = IntVector.broadcast(IS, w + 1);
        VectorMask<Float> q = c.eq(max);
        best = best.blend(c, q);
        at = at.blend(w, q.cast(IS));
        q = b.eq(max);
        best = best.blend(b, q);
        at = at.blend(1, q.cast(IS));
        q = a.eq(max);
        best = best.blend(a, q);
        at = at.blend(0, q.cast(IS));
        VectorMask<Float> nan = max.test(VectorOperators.IS_NAN);
        if (nan.anyTrue()) {
          FloatVector lastNan = a;
          IntVector nanAt = IntVector.zero(IS);
          q = b.test(VectorOperators.IS_NAN);
          lastNan = lastNan.blend(b, q);
          nanAt = nanAt.blend(1, q.cast(IS));
          q = c.test(VectorOperators.IS_NAN);
          lastNan = lastNan.blend(c, q);
          nanAt = nanAt.blend(w, q.cast(IS));
          q = e.test(VectorOperators.IS_NAN);
          lastNan = lastNan.blend(e, q);
          nanAt = nanAt.blend(w + 1, q.cast(IS));
          best = best.blend(lastNan, nan);
          at = at.blend(nanAt, nan.cast(IS));
        }
        best.intoArray(out, o + z, m);
        at.add(lane2).add(base + i).intoArray(arg, argAt + o + z, m.cast(IS));
      }
      for (; z < ow; z++) ScalarKernels.maxPool2x2Window(in, w, out, arg, argAt, base, y, z, ow);
    }
  }

  /**
   * A plane row at a time, a vector of columns at a time: the row's values stay in a register while
   * every tap that reaches the row adds its run, shifted by the tap's column, under a mask of the
   * columns it covers. Each element is loaded and stored once; a loop over taps would reload values
   * a shifted store of the previous tap has just written, which cannot be forwarded and stalls. The
   * terms reach each element in tap order, as in the scalar loop.
   */
  @Override
  public void col2imPlaneF(
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
      int p1) {
    int lanes = FS.length();
    int lastRun = runsAt + (kh * kw - 1) * runStride;
    if (runsAt < lanes || lastRun + oh * ow + lanes > runs.length || h * w + lanes > plane.length) {
      SCALAR.col2imPlaneF(runs, runsAt, runStride, plane, h, w, oh, ow, kh, kw, p0, p1);
      return;
    }
    for (int r = 0; r < h; r++) {
      for (int c0 = 0; c0 < w; c0 += lanes) {
        VectorMask<Float> inRow = lanesIn(0, w - c0);
        FloatVector acc = FloatVector.fromArray(FS, plane, r * w + c0, inRow);
        // The taps that reach this row and these columns, as loop bounds rather than skips:
        // a vector updated on some paths of a loop body and not others is one C2 may box
        // (Note [Masks, not branches]). Tap ki reads output row y = r + p0 - ki in [0, oh); tap
        // kj reads columns from z0 = c0 - kj + p1, some of them inside [0, ow).
        int kiFrom = Math.max(0, r + p0 - oh + 1), kiTo = Math.min(kh, r + p0 + 1);
        int kjFrom = Math.max(0, c0 + p1 - ow + 1), kjTo = Math.min(kw, c0 + p1 + lanes);
        for (int ki = kiFrom; ki < kiTo; ki++) {
          int y = r + p0 - ki;
          for (int kj = kjFrom; kj < kjTo; kj++) {
            int z0 = c0 - kj + p1; // column c takes z = c - (kj - p1)
            VectorMask<Float> m = lanesIn(-z0, ow - z0).and(inRow);
            int at = runsAt + (ki * kw + kj) * runStride + y * ow + z0;
            acc = acc.add(FloatVector.fromArray(FS, runs, at, m), m);
          }
        }
        acc.intoArray(plane, r * w + c0, inRow);
      }
    }
  }

  /**
   * A tap at a time over the whole plane, laid out as rows of wp values: the tap's input is then
   * the padded planes shifted by one constant, so each tap is one flat loop of independent vector
   * operations (a row at a time, the taps' sums form a chain of dependent adds that runs several
   * times slower). Each output still gets its products in tap order.
   */
  @Override
  public void convPlaneF(
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
      int ow) {
    int lanes = FS.length(), plane = hp * wp, flat = oh * wp;
    // the last tap's last vector reads kw - 1 + lanes past the last plane's end at most
    if ((cin - 1) * plane + (kh - 1) * wp + kw - 1 + flat + lanes > x.length
        || flat + lanes > out.length) {
      SCALAR.convPlaneF(x, cin, hp, wp, wts, wAt, kh, kw, hasBias, bias, out, oh, ow);
      return;
    }
    FloatVector zero = FloatVector.zero(FS);
    for (int ci = 0, t = 0; ci < cin; ci++) {
      for (int ki = 0; ki < kh; ki++) {
        for (int kj = 0; kj < kw; kj++, t++) {
          int shift = ci * plane + ki * wp + kj;
          float wt = wts[wAt + t];
          if (t == 0) {
            for (int j = 0; j < flat; j += lanes) {
              zero.add(FloatVector.fromArray(FS, x, shift + j).mul(wt)).intoArray(out, j);
            }
            continue;
          }
          for (int j = 0; j < flat; j += lanes) {
            FloatVector product = FloatVector.fromArray(FS, x, shift + j).mul(wt);
            FloatVector.fromArray(FS, out, j).add(product).intoArray(out, j);
          }
        }
      }
    }
    if (hasBias) {
      for (int j = 0; j < flat; j += lanes) {
        FloatVector.fromArray(FS, out, j).add(bias).intoArray(out, j);
      }
    }
  }

  /**
   * A row of gradient values a vector at a time, loaded once and multiplied into every tap's
   * partial sums, which live in {@code work} (one vector per tap): the taps' adds are independent,
   * where a tap at a time would make each add wait for the one before. Then each tap's lanes are
   * summed in lane order. A row's last partial vector adds under a mask.
   */
  @Override
  public void convWeightGradF(
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
      float[] work) {
    int lanes = FS.length(), plane = hp * wp, taps = cin * kh * kw;
    if ((cin - 1) * plane + (kh - 1 + oh - 1) * wp + kw - 1 + ow + lanes > x.length
        || (oh - 1) * ow + ow + lanes > g.length
        || taps * lanes > work.length) {
      SCALAR.convWeightGradF(g, x, cin, hp, wp, kh, kw, oh, ow, acc, accAt, work);
      return;
    }
    int full = ow - ow % lanes; // columns in whole vectors; the rest (maybe none) under tail
    VectorMask<Float> tail = lanesIn(0, ow % lanes);
    // Tap by tap, three taps of a kernel row at once, each tap's lane sums held in a register over
    // the whole plane: a sum per tap in memory, loaded and stored for every vector of the plane,
    // was a store-to-load chain. Each lane still adds its products in (r, c) order, so the sums
    // are the same as one pass over the plane for all taps. No vector is assigned in a branch
    // (Note [Masks, not branches]): a short group repeats its first tap, and every row ends with
    // the masked tail, empty when the row fills whole vectors.
    for (int ci = 0, t = 0; ci < cin; ci++) {
      for (int ki = 0; ki < kh; ki++) {
        for (int kj = 0; kj < kw; kj += 3) {
          int count = Math.min(3, kw - kj), base = ci * plane + ki * wp + kj;
          int o1 = count > 1 ? 1 : 0, o2 = count > 2 ? 2 : 0;
          FloatVector s0 = FloatVector.zero(FS), s1 = s0, s2 = s0;
          for (int r = 0; r < oh; r++) {
            int xRow = base + r * wp, gRow = r * ow, c0 = 0;
            for (; c0 < full; c0 += lanes) {
              FloatVector gv = FloatVector.fromArray(FS, g, gRow + c0);
              s0 = s0.add(gv.mul(FloatVector.fromArray(FS, x, xRow + c0)));
              s1 = s1.add(gv.mul(FloatVector.fromArray(FS, x, xRow + c0 + o1)));
              s2 = s2.add(gv.mul(FloatVector.fromArray(FS, x, xRow + c0 + o2)));
            }
            FloatVector gv = FloatVector.fromArray(FS, g, gRow + c0);
            s0 = s0.add(gv.mul(FloatVector.fromArray(FS, x, xRow + c0)), tail);
            s1 = s1.add(gv.mul(FloatVector.fromArray(FS, x, xRow + c0 + o1)), tail);
            s2 = s2.add(gv.mul(FloatVector.fromArray(FS, x, xRow + c0 + o2)), tail);
          }
          s0.intoArray(work, t++ * lanes);
          if (count > 1) s1.intoArray(work, t++ * lanes);
          if (count > 2) s2.intoArray(work, t++ * lanes);
        }
      }
    }
    for (int t = 0; t < taps; t++) {
      float total = 0;
      for (int l = 0; l < lanes; l++) total += work[t * lanes + l];
      acc[accAt + t] = total;
    }
  }
}
