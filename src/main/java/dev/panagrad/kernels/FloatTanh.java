package dev.panagrad.kernels;

/**
 * Note [Float tanh]. tanh of a float32 element is defined as {@code (float) Math.tanh(x)}: the
 * double function, rounded once. HotSpot's Math.tanh takes about 25 ns from argument to result, and
 * a chain of one-element ops (W3's) waits for each. This computes the same float in about 15 ns: a
 * degree-6 Taylor polynomial of tanh around the nearest of the points k/128 (coefficients from
 * tanh's derivatives, which are polynomials in tanh itself, tabulated once), evaluated in double
 * with fused multiply-adds. Its error is below 2^-50 relative; Math.tanh's is below 2.5 ulp
 * (2^-51). Both therefore lie within 2^-45 relative of the polynomial's value q, and when q(1 -
 * 2^-45) and q(1 + 2^-45) round to the same float, every number between them does: that float is
 * what Math.tanh rounds to. Otherwise (about one float in two million, near a rounding boundary)
 * the result is Math.tanh's own. So the bits are Math.tanh's wherever it runs, whatever the
 * platform's Math.tanh; a run over all 2^32 float inputs found no difference on x86-64 (see the
 * test). float64 keeps Math.tanh.
 */
final class FloatTanh {
  private FloatTanh() {}

  /** Points per unit: |x - k / 128| <= 1/256, where the seventh power is below 2^-56. */
  private static final int STEPS = 128;

  /** Beyond this, (float) tanh(x) is 1: tanh(10) = 1 - 4e-9, and floats below 1 step by 6e-8. */
  private static final float SATURATED = 10f;

  /** Seven Taylor coefficients for each point k / 128, k = 0 ... 1280 (eight slots apart). */
  private static final double[] COEFFICIENTS = coefficients();

  /** Relative half-width of the interval around q known to hold tanh(x) and Math.tanh(x). */
  private static final double BOUND = 0x1p-45;

  private static double[] coefficients() {
    int points = (int) SATURATED * STEPS + 1;
    double[] c = new double[points * 8];
    for (int k = 0; k < points; k++) {
      // tanh' = u with u = 1 - t^2, and u' = -2 t u: each derivative is a polynomial in t; the
      // j-th divided by j! is the coefficient of r^j in tanh(a + r).
      double t = Math.tanh((double) k / STEPS), t2 = t * t, u = 1 - t2;
      int o = k * 8;
      c[o] = t;
      c[o + 1] = u;
      c[o + 2] = -t * u;
      c[o + 3] = u * (3 * t2 - 1) / 3;
      c[o + 4] = t * u * (2 - 3 * t2) / 3;
      c[o + 5] = u * (15 * t2 * t2 - 15 * t2 + 2) / 15;
      c[o + 6] = -t * u * (45 * t2 * t2 - 60 * t2 + 17) / 45;
    }
    return c;
  }

  /** {@code (float) Math.tanh(x)}, bit for bit. */
  static float tanh(float x) {
    float ax = Math.abs(x);
    if (!(ax < SATURATED)) return ax >= SATURATED ? Math.copySign(1f, x) : (float) Math.tanh(x);
    double v = ax;
    // round(v * 128) by the 2^52 trick: the sum's low bits are the integer, with no conversion
    double shifted = v * STEPS + 0x1p52;
    int k = (int) Double.doubleToRawLongBits(shifted);
    double r = v - (shifted - 0x1p52) / STEPS; // exact: the two are within a factor of 2
    int o = k * 8;
    double[] c = COEFFICIENTS;
    double q = Math.fma(r, c[o + 6], c[o + 5]);
    q = Math.fma(r, q, c[o + 4]);
    q = Math.fma(r, q, c[o + 3]);
    q = Math.fma(r, q, c[o + 2]);
    q = Math.fma(r, q, c[o + 1]);
    q = Math.fma(r, q, c[o]);
    if ((float) (q * (1 + BOUND)) != (float) (q * (1 - BOUND))) return (float) Math.tanh(x);
    float y = (float) q;
    return x > 0 ? y : x < 0 ? -y : x; // tanh(-0) = -0
  }
}
