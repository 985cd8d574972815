package dev.panagrad.examples;

import java.math.BigDecimal;

/** How Python's print shows values that are not tensors, for ports that print the same text. */
final class Py {
  private Py() {}

  /** {@code str(x)} of None, bools, and objects. */
  static String str(Object o) {
    if (o == null) return "None";
    if (o instanceof Boolean b) return b ? "True" : "False";
    return o.toString();
  }

  /**
   * {@code repr(float)}: the shortest digits that read back to the same double (Java's
   * Double.toString gives those since JDK 19), laid out as Python does: positional for decimal
   * exponents from -4 to 15, scientific otherwise.
   */
  static String repr(double v) {
    if (Double.isNaN(v)) return "nan";
    if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) return (1 / v < 0) ? "-0.0" : "0.0";
    BigDecimal d = new BigDecimal(Double.toString(v)).stripTrailingZeros();
    int exp = d.precision() - d.scale() - 1; // decimal exponent of the first digit
    if (exp >= -4 && exp < 16) {
      String s = d.toPlainString();
      return s.contains(".") ? s : s + ".0";
    }
    String digits = d.unscaledValue().abs().toString();
    String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
    String e = (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    return (v < 0 ? "-" : "") + mant + "e" + e;
  }
}
