package dev.panagrad.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Plain loops: the reference every other implementation is tested against. */
public final class ScalarKernels implements Kernels {
  static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;

  /** Elements summed in float before a block's sum joins the double total. */
  static final int SUM_BLOCK = 1024;

  @Override
  public String name() {
    return "scalar";
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
    for (long i = 0; i < n; i++) {
      float x = a.getAtIndex(F, ao + i * as), y = b.getAtIndex(F, bo + i * bs);
      out.setAtIndex(F, oo + i, op.apply(x, y, p));
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
    for (long i = 0; i < n; i++) {
      double x = a.getAtIndex(D, ao + i * as), y = b.getAtIndex(D, bo + i * bs);
      out.setAtIndex(D, oo + i, op.apply(x, y, p));
    }
  }

  @Override
  public void unaryF(
      UnaryOp op, MemorySegment a, long ao, MemorySegment out, long oo, long n, float p, float q) {
    for (long i = 0; i < n; i++) out.setAtIndex(F, oo + i, op.apply(a.getAtIndex(F, ao + i), p, q));
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
    for (long i = 0; i < n; i++) out.setAtIndex(D, oo + i, op.apply(a.getAtIndex(D, ao + i), p, q));
  }

  @Override
  public double sumF(MemorySegment a, long ao, long n) {
    double total = 0;
    for (long start = 0; start < n; start += SUM_BLOCK) {
      long end = Math.min(n, start + SUM_BLOCK);
      float block = 0;
      for (long i = start; i < end; i++) block += a.getAtIndex(F, ao + i);
      total += block;
    }
    return total;
  }

  @Override
  public double sumD(MemorySegment a, long ao, long n) {
    double total = 0;
    for (long i = 0; i < n; i++) total += a.getAtIndex(D, ao + i);
    return total;
  }

  /** The scalar SGD update of elements [from, n); see {@link Kernels#sgdF}. */
  public static void sgdF(
      MemorySegment ws,
      long wo,
      MemorySegment gs,
      long go,
      MemorySegment bs,
      long bo,
      long from,
      long n,
      boolean decay,
      float wd,
      float m,
      float damp,
      float step,
      boolean nesterov) {
    for (long i = from; i < n; i++) {
      float w = ws.getAtIndex(F, wo + i), d = gs.getAtIndex(F, go + i);
      if (decay) d = d + wd * w;
      if (bs != null) {
        float b = bs.getAtIndex(F, bo + i) * m;
        b = b + damp * d;
        bs.setAtIndex(F, bo + i, b);
        d = nesterov ? d + m * b : b;
      }
      ws.setAtIndex(F, wo + i, w + step * d);
    }
  }
}
