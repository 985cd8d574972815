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
    for (long i = 0; i < n; i++) {
      float p = w.getAtIndex(F, wo + i), d = g.getAtIndex(F, go + i);
      if (wd != 0) d = d + wd * p;
      if (buf != null) {
        float b = buf.getAtIndex(F, bo + i) * momentum;
        b = b + damp * d;
        buf.setAtIndex(F, bo + i, b);
        d = nesterov ? d + momentum * b : b;
      }
      w.setAtIndex(F, wo + i, p + step * d);
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
    for (long i = 0; i < n; i++) {
      double p = w.getAtIndex(D, wo + i), d = g.getAtIndex(D, go + i);
      if (wd != 0) d = d + wd * p;
      if (buf != null) {
        double b = buf.getAtIndex(D, bo + i) * momentum;
        b = b + damp * d;
        buf.setAtIndex(D, bo + i, b);
        d = nesterov ? d + momentum * b : b;
      }
      w.setAtIndex(D, wo + i, p + step * d);
    }
  }

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
    for (long i = 0; i < n; i++) {
      float p = w.getAtIndex(F, wo + i), d = g.getAtIndex(F, go + i);
      if (scale != 1) p = p * scale;
      if (l2 != 0) d = d + l2 * p;
      float mi = m.getAtIndex(F, mo + i) * b1;
      mi = mi + c1 * d;
      float vi = v.getAtIndex(F, vo + i) * b2;
      vi = vi + c2 * (d * d);
      m.setAtIndex(F, mo + i, mi);
      v.setAtIndex(F, vo + i, vi);
      if (vmax != null) { // amsgrad: the running maximum of v
        vi = Math.max(vmax.getAtIndex(F, xo + i), vi);
        vmax.setAtIndex(F, xo + i, vi);
      }
      float denom = (float) Math.sqrt(vi) / bcSqrt + eps;
      w.setAtIndex(F, wo + i, p + step * (mi / denom));
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
    for (long i = 0; i < n; i++) {
      double p = w.getAtIndex(D, wo + i), d = g.getAtIndex(D, go + i);
      if (scale != 1) p = p * scale;
      if (l2 != 0) d = d + l2 * p;
      double mi = m.getAtIndex(D, mo + i) * b1;
      mi = mi + c1 * d;
      double vi = v.getAtIndex(D, vo + i) * b2;
      vi = vi + c2 * (d * d);
      m.setAtIndex(D, mo + i, mi);
      v.setAtIndex(D, vo + i, vi);
      if (vmax != null) {
        vi = Math.max(vmax.getAtIndex(D, xo + i), vi);
        vmax.setAtIndex(D, xo + i, vi);
      }
      double denom = Math.sqrt(vi) / bcSqrt + eps;
      w.setAtIndex(D, wo + i, p + step * (mi / denom));
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
    for (long i = 0; i < n; i++) {
      float p = w.getAtIndex(F, wo + i), d = g.getAtIndex(F, go + i);
      if (wd != 0) d = d + wd * p;
      float s2 = sq.getAtIndex(F, so + i) * a;
      s2 = s2 + c * (d * d);
      sq.setAtIndex(F, so + i, s2);
      float avg;
      if (ga != null) { // centered: the running mean of g squared comes off the root
        float ag = ga.getAtIndex(F, ao + i) * a;
        ag = ag + c * d;
        ga.setAtIndex(F, ao + i, ag);
        avg = (float) Math.sqrt(s2 - ag * ag);
      } else {
        avg = (float) Math.sqrt(s2);
      }
      avg = avg + eps;
      if (buf != null) {
        float b = buf.getAtIndex(F, bo + i) * mu;
        b = b + d / avg;
        buf.setAtIndex(F, bo + i, b);
        w.setAtIndex(F, wo + i, p + step * b);
      } else {
        w.setAtIndex(F, wo + i, p + step * (d / avg));
      }
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
    for (long i = 0; i < n; i++) {
      double p = w.getAtIndex(D, wo + i), d = g.getAtIndex(D, go + i);
      if (wd != 0) d = d + wd * p;
      double s2 = sq.getAtIndex(D, so + i) * a;
      s2 = s2 + c * (d * d);
      sq.setAtIndex(D, so + i, s2);
      double avg;
      if (ga != null) {
        double ag = ga.getAtIndex(D, ao + i) * a;
        ag = ag + c * d;
        ga.setAtIndex(D, ao + i, ag);
        avg = Math.sqrt(s2 - ag * ag);
      } else {
        avg = Math.sqrt(s2);
      }
      avg = avg + eps;
      if (buf != null) {
        double b = buf.getAtIndex(D, bo + i) * mu;
        b = b + d / avg;
        buf.setAtIndex(D, bo + i, b);
        w.setAtIndex(D, wo + i, p + step * b);
      } else {
        w.setAtIndex(D, wo + i, p + step * (d / avg));
      }
    }
  }

  @Override
  public double sumFixedOrder(double[] a, int n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      s0 += a[i];
      s1 += a[i + 1];
      s2 += a[i + 2];
      s3 += a[i + 3];
      s4 += a[i + 4];
      s5 += a[i + 5];
      s6 += a[i + 6];
      s7 += a[i + 7];
    }
    double sum = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    for (; i < n; i++) sum += a[i];
    return sum;
  }

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
    for (long r = 0; r < rows; r++) {
      long xr = xo + r * n, yr = yo + r * n;
      float mf = Float.NEGATIVE_INFINITY;
      for (int j = 0; j < n; j++) mf = Math.max(mf, x.getAtIndex(F, xr + j));
      double m = mf;
      for (int j = 0; j < n; j++) work[j] = Math.exp(x.getAtIndex(F, xr + j) - m);
      double sum = sumFixedOrder(work, n);
      if (log) {
        double ls = Math.log(sum);
        for (int j = 0; j < n; j++)
          y.setAtIndex(F, yr + j, (float) ((x.getAtIndex(F, xr + j) - m) - ls));
      } else {
        for (int j = 0; j < n; j++) y.setAtIndex(F, yr + j, (float) (work[j] / sum));
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
    for (long r = 0; r < rows; r++) {
      long xr = xo + r * n, yr = yo + r * n;
      double m = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < n; j++) m = Math.max(m, x.getAtIndex(D, xr + j));
      for (int j = 0; j < n; j++) work[j] = Math.exp(x.getAtIndex(D, xr + j) - m);
      double sum = sumFixedOrder(work, n);
      if (log) {
        double ls = Math.log(sum);
        for (int j = 0; j < n; j++) y.setAtIndex(D, yr + j, (x.getAtIndex(D, xr + j) - m) - ls);
      } else {
        for (int j = 0; j < n; j++) y.setAtIndex(D, yr + j, work[j] / sum);
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
    for (long r = 0; r < rows; r++) {
      long gr = go + r * n, yr = yo + r * n, ir = gio + r * n;
      for (int j = 0; j < n; j++) work[j] = g.getAtIndex(F, gr + j);
      float s = (float) sumFixedOrder(work, n);
      for (int j = 0; j < n; j++) {
        float e = (float) Math.exp(y.getAtIndex(F, yr + j));
        gi.setAtIndex(F, ir + j, (float) work[j] - e * s); // g_j, exact in the double
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
    for (long r = 0; r < rows; r++) {
      long gr = go + r * n, yr = yo + r * n, ir = gio + r * n;
      for (int j = 0; j < n; j++) work[j] = g.getAtIndex(D, gr + j);
      double s = sumFixedOrder(work, n);
      for (int j = 0; j < n; j++) {
        gi.setAtIndex(D, ir + j, work[j] - Math.exp(y.getAtIndex(D, yr + j)) * s);
      }
    }
  }

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
    return nllPick(true, x, xo, cls, t, to, n, ignore, picked);
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
    return nllPick(false, x, xo, cls, t, to, n, ignore, picked);
  }

  /** nll_loss's row pass: one element a row, so one loop serves both types. */
  private static int nllPick(
      boolean f32,
      MemorySegment x,
      long xo,
      long cls,
      MemorySegment t,
      long to,
      int n,
      long ignore,
      double[] picked) {
    int count = 0;
    for (int i = 0; i < n; i++) {
      long c = t.getAtIndex(ValueLayout.JAVA_LONG, to + i);
      picked[i] = 0;
      if (c == ignore) continue;
      if (c < 0 || c >= cls) {
        throw new IndexOutOfBoundsException("Target " + c + " is out of bounds.");
      }
      long at = xo + i * cls + c;
      picked[i] = -(f32 ? x.getAtIndex(F, at) : x.getAtIndex(D, at));
      count++;
    }
    return count;
  }

  @Override
  public void copyRowsF(
      float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) dst[dOff + r * dStride + c] = src[sOff + r * sStride + c];
    }
  }

  @Override
  public void addRowsF(
      float[] src, int sOff, int sStride, float[] dst, int dOff, int dStride, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) dst[dOff + r * dStride + c] += src[sOff + r * sStride + c];
    }
  }

  @Override
  public void maxPool2x2F(
      float[] in, int w, float[] out, int[] arg, int argAt, int base, int oh, int ow) {
    for (int y = 0; y < oh; y++) {
      for (int z = 0; z < ow; z++) maxPool2x2Window(in, w, out, arg, argAt, base, y, z, ow);
    }
  }

  /** One window of {@link #maxPool2x2F}: the candidates in window order, as ATen's loop. */
  public static void maxPool2x2Window(
      float[] in, int w, float[] out, int[] arg, int argAt, int base, int y, int z, int ow) {
    int i = 2 * y * w + 2 * z, bi = i;
    float best = in[i], b = in[i + 1], c = in[i + w], e = in[i + w + 1];
    if (b > best || b != b) {
      best = b;
      bi = i + 1;
    }
    if (c > best || c != c) {
      best = c;
      bi = i + w;
    }
    if (e > best || e != e) {
      best = e;
      bi = i + w + 1;
    }
    out[y * ow + z] = best;
    arg[argAt + y * ow + z] = base + bi;
  }

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
    for (int ki = 0; ki < kh; ki++) {
      for (int kj = 0; kj < kw; kj++) {
        int run = runsAt + (ki * kw + kj) * runStride;
        for (int y = 0; y < oh; y++) {
          int r = y - p0 + ki;
          if (r < 0 || r >= h) continue;
          for (int z = 0; z < ow; z++) {
            int c = z - p1 + kj;
            if (c >= 0 && c < w) plane[r * w + c] += runs[run + y * ow + z];
          }
        }
      }
    }
  }

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
    for (int r = 0; r < oh; r++) {
      for (int c = 0; c < ow; c++) {
        out[r * wp + c] = convAt(x, cin, hp, wp, wts, wAt, kh, kw, hasBias, bias, r, c);
      }
    }
  }

  /** One output of {@link #convPlaneF}. */
  public static float convAt(
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
      int r,
      int c) {
    float sum = 0;
    for (int ci = 0, t = 0; ci < cin; ci++) {
      for (int ki = 0; ki < kh; ki++) {
        for (int kj = 0; kj < kw; kj++, t++) {
          sum += wts[wAt + t] * x[ci * hp * wp + (r + ki) * wp + c + kj];
        }
      }
    }
    return hasBias ? sum + bias : sum;
  }

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
    for (int ci = 0, t = 0; ci < cin; ci++) {
      for (int ki = 0; ki < kh; ki++) {
        for (int kj = 0; kj < kw; kj++, t++) {
          float sum = 0;
          int at = ci * hp * wp + ki * wp + kj;
          for (int r = 0; r < oh; r++) {
            for (int c = 0; c < ow; c++) sum += g[r * ow + c] * x[at + r * wp + c];
          }
          acc[accAt + t] = sum;
        }
      }
    }
  }
}
