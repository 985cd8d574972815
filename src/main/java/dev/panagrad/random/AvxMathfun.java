package dev.panagrad.random;

/**
 * One lane of {@code log256_ps} and {@code sincos256_ps} from PyTorch's
 * aten/src/ATen/native/cpu/avx_mathfun.h (Giovanni Garberoglio's AVX port of Julien Pommier's
 * sse_mathfun, zlib licence): the Cephes single-precision polynomials that PyTorch's AVX2 {@code
 * normal_fill_16_AVX2} uses for float32 {@code randn}. Each step is one float operation in the
 * header's order, so the result has the bits the vector code gives; the constants are C double
 * literals rounded to float, as {@code _PS256_CONST} does.
 *
 * <p>Where a multiply feeds an add this uses {@link Math#fma}: PyTorch's AVX2 kernels are built by
 * GCC with {@code -mfma} in GNU mode, where {@code -ffp-contract=fast} fuses {@code
 * _mm256_add_ps(_mm256_mul_ps(a, b), c)} (GCC defines these intrinsics as plain vector arithmetic).
 * GCC fuses the first multiply, in statement order, whose only use is an add or a subtract; the
 * pairs below follow that rule. With the fusions the float32 randn values of rng.jsonl match
 * PyTorch 1.13 bit for bit; without them 4 of its 483 values are 1 ulp off.
 */
final class AvxMathfun {
  private AvxMathfun() {}

  private static final float SQRTHF = (float) 0.707106781186547524;
  private static final float LOG_P0 = (float) 7.0376836292E-2;
  private static final float LOG_P1 = (float) -1.1514610310E-1;
  private static final float LOG_P2 = (float) 1.1676998740E-1;
  private static final float LOG_P3 = (float) -1.2420140846E-1;
  private static final float LOG_P4 = (float) +1.4249322787E-1;
  private static final float LOG_P5 = (float) -1.6668057665E-1;
  private static final float LOG_P6 = (float) +2.0000714765E-1;
  private static final float LOG_P7 = (float) -2.4999993993E-1;
  private static final float LOG_P8 = (float) +3.3333331174E-1;
  private static final float LOG_Q1 = (float) -2.12194440e-4;
  private static final float LOG_Q2 = (float) 0.693359375;

  private static final float MINUS_DP1 = (float) -0.78515625;
  private static final float MINUS_DP2 = (float) -2.4187564849853515625e-4;
  private static final float MINUS_DP3 = (float) -3.77489497744594108e-8;
  private static final float SINCOF_P0 = (float) -1.9515295891E-4;
  private static final float SINCOF_P1 = (float) 8.3321608736E-3;
  private static final float SINCOF_P2 = (float) -1.6666654611E-1;
  private static final float COSCOF_P0 = (float) 2.443315711809948E-005;
  private static final float COSCOF_P1 = (float) -1.388731625493765E-003;
  private static final float COSCOF_P2 = (float) 4.166664568298827E-002;
  private static final float FOPI = (float) 1.27323954473516; // 4 / pi

  /** {@code log256_ps}: natural log, NaN for x <= 0. */
  static float log(float x) {
    if (!(x > 0f)) {
      return Float.NaN; // the header ORs an all-ones mask in: a NaN
    }
    x = Math.max(x, Float.MIN_NORMAL); // cut off denormals
    int bits = Float.floatToRawIntBits(x);
    float e = (float) ((bits >>> 23) - 0x7f);
    // keep the mantissa, exponent of 0.5: x in [0.5, 1)
    x = Float.intBitsToFloat((bits & ~0x7f800000) | Float.floatToRawIntBits(0.5f));
    e = e + 1f;
    boolean below = x < SQRTHF;
    float tmp = below ? x : 0f;
    x = x - 1f;
    e = e - (below ? 1f : 0f);
    x = x + tmp;

    float z = x * x;
    float y = LOG_P0;
    y = Math.fma(y, x, LOG_P1);
    y = Math.fma(y, x, LOG_P2);
    y = Math.fma(y, x, LOG_P3);
    y = Math.fma(y, x, LOG_P4);
    y = Math.fma(y, x, LOG_P5);
    y = Math.fma(y, x, LOG_P6);
    y = Math.fma(y, x, LOG_P7);
    y = Math.fma(y, x, LOG_P8);
    y = y * x;
    y = Math.fma(y, z, e * LOG_Q1);
    y = Math.fma(-z, 0.5f, y);
    x = Math.fma(e, LOG_Q2, x + y);
    return x;
  }

  /**
   * {@code sincos256_ps} for one lane: writes sin(x) to {@code out[0]} and cos(x) to {@code
   * out[1]}.
   */
  static void sincos(float x, float[] out) {
    boolean negative = Float.floatToRawIntBits(x) < 0; // the sign bit, for the sine
    x = Math.abs(x);
    float y = x * FOPI;
    int j = (int) y; // cvttps: truncation
    j = (j + 1) & ~1;
    y = (float) j;
    boolean swapSin = (j & 4) != 0;
    boolean firstPoly = (j & 2) == 0; // sine uses the sine polynomial when true
    // "Extended precision modular arithmetic": x = ((x - y*DP1) - y*DP2) - y*DP3
    x = Math.fma(y, MINUS_DP1, x);
    x = Math.fma(y, MINUS_DP2, x);
    x = Math.fma(y, MINUS_DP3, x);
    boolean negCos = ((~(j - 2)) & 4) != 0;
    boolean negSin = negative ^ swapSin;

    float z = x * x;
    float c = COSCOF_P0;
    c = Math.fma(c, z, COSCOF_P1);
    c = Math.fma(c, z, COSCOF_P2);
    c = c * z;
    c = Math.fma(c, z, -(z * 0.5f));
    c = c + 1f;

    float s = SINCOF_P0;
    s = Math.fma(s, z, SINCOF_P1);
    s = Math.fma(s, z, SINCOF_P2);
    s = s * z;
    s = Math.fma(s, x, x);

    // The header selects with masks and adds the unselected polynomial as +0.
    float sinPart1 = firstPoly ? 0f : c;
    float sinPart2 = firstPoly ? s : 0f;
    float sin = sinPart1 + sinPart2;
    float cos = (c - sinPart1) + (s - sinPart2);
    out[0] = negSin ? -sin : sin;
    out[1] = negCos ? -cos : cos;
  }
}
