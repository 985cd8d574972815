package dev.panagrad.random;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks one line of the conformance file rng.jsonl: {@code seed}, then {@code calls} ({@code fn}
 * randn/rand/randint/randperm, {@code shape}, {@code dtype}, {@code low}/{@code high}, {@code
 * data}) all drawn in order from one generator seeded once. rand, randint and randperm must match
 * bit for bit; randn within {@link #RANDN_MAX_ULP} units in the last place, because it goes through
 * log, cos and sin, whose last bit differs between maths libraries.
 */
public final class RngConformance {
  /** randn's tolerance in ulp (conformance README). */
  public static final long RANDN_MAX_ULP = 2;

  /** Mismatches listed per call before the rest are only counted. */
  private static final int MAX_REPORTED = 10;

  private RngConformance() {}

  /**
   * The failures of one line, empty when it passes. Uses its own {@link Generator} seeded with the
   * line's seed, so the default generator is left alone.
   */
  public static List<String> check(JsonNode line) {
    long seed = line.get("seed").asLong();
    Generator g = new Generator(seed);
    List<String> failures = new ArrayList<>();
    JsonNode calls = line.get("calls");
    for (int k = 0; k < calls.size(); k++) {
      failures.addAll(checkCall(g, seed, k, calls.get(k)));
    }
    return failures;
  }

  /**
   * Draws call number {@code index} of a line from {@code g} (which must be in the state the calls
   * before it left) and compares it with the call's {@code data}.
   */
  public static List<String> checkCall(Generator g, long seed, int index, JsonNode call) {
    String fn = call.get("fn").asText();
    String dtype = call.get("dtype").asText();
    List<Long> shape = new ArrayList<>();
    long n = 1;
    for (JsonNode d : call.get("shape")) {
      shape.add(d.asLong());
      n = Math.multiplyExact(n, d.asLong());
    }
    String where = "seed " + seed + " call " + index + " " + fn + shape + " " + dtype;
    List<String> failures = new ArrayList<>();
    JsonNode data = call.get("data");
    if (data == null || data.size() != n) {
      failures.add(where + ": expected data of " + n + " values");
      return failures;
    }
    int elementBytes = dtype.equals("float32") ? 4 : 8;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(Math.max(1, n * elementBytes));
      String draw = draw(g, fn, dtype, call, out, n);
      if (draw != null) {
        failures.add(where + ": " + draw);
        return failures;
      }
      long maxUlp = fn.equals("randn") ? RANDN_MAX_ULP : 0;
      int bad = 0;
      for (int i = 0; i < n; i++) {
        String mismatch = compare(dtype, data.get(i), out, i, maxUlp);
        if (mismatch != null && bad++ < MAX_REPORTED) {
          failures.add(where + ": index " + i + " " + mismatch);
        }
      }
      if (bad > MAX_REPORTED) {
        failures.add(where + ": " + (bad - MAX_REPORTED) + " more mismatches");
      }
    }
    return failures;
  }

  /** Runs the call on g into out; returns why it cannot, or null. */
  private static String draw(
      Generator g, String fn, String dtype, JsonNode call, MemorySegment out, long n) {
    switch (fn + "/" + dtype) {
      case "randn/float32" -> g.normalFloat(out, n, 0.0, 1.0);
      case "randn/float64" -> g.normalDouble(out, n, 0.0, 1.0);
      case "rand/float32" -> g.uniformFloat(out, n, 0.0, 1.0);
      case "rand/float64" -> g.uniformDouble(out, n, 0.0, 1.0);
      case "randint/int64" ->
          g.randint(out, n, call.get("low").asLong(), call.get("high").asLong());
      case "randperm/int64" -> g.randperm(out, n);
      default -> {
        return "unsupported function or dtype";
      }
    }
    return null;
  }

  /** Null when element i of out matches the expected value within maxUlp, else a description. */
  private static String compare(
      String dtype, JsonNode expectedNode, MemorySegment out, int i, long maxUlp) {
    switch (dtype) {
      case "float32" -> {
        float expected = (float) expectedNode.asDouble();
        float got = out.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
        long ulp = ulpDistance(expected, got);
        return ulp <= maxUlp ? null : describe(expected, got, ulp);
      }
      case "float64" -> {
        double expected = expectedNode.asDouble();
        double got = out.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
        long ulp = ulpDistance(expected, got);
        return ulp <= maxUlp ? null : describe(expected, got, ulp);
      }
      default -> {
        long expected = expectedNode.asLong();
        long got = out.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
        return expected == got ? null : "expected " + expected + " got " + got;
      }
    }
  }

  private static String describe(Object expected, Object got, long ulp) {
    String distance = ulp == Long.MAX_VALUE ? "NaN" : ulp + " ulp";
    return "expected " + expected + " got " + got + " (" + distance + ")";
  }

  /** Steps between two floats along the number line (0 and -0 are one value); NaN is infinite. */
  public static long ulpDistance(float a, float b) {
    if (Float.isNaN(a) || Float.isNaN(b)) {
      return Float.isNaN(a) && Float.isNaN(b) ? 0 : Long.MAX_VALUE;
    }
    return Math.abs(ordered(Float.floatToRawIntBits(a)) - ordered(Float.floatToRawIntBits(b)));
  }

  /** Steps between two doubles along the number line; NaN is infinite. */
  public static long ulpDistance(double a, double b) {
    if (Double.isNaN(a) || Double.isNaN(b)) {
      return Double.isNaN(a) && Double.isNaN(b) ? 0 : Long.MAX_VALUE;
    }
    long ia = ordered(Double.doubleToRawLongBits(a));
    long ib = ordered(Double.doubleToRawLongBits(b));
    // Differences of doubles far apart can overflow; saturate.
    long d = ia - ib;
    return ((ia ^ ib) & (ia ^ d)) < 0 ? Long.MAX_VALUE : Math.abs(d);
  }

  private static long ordered(int bits) {
    return bits < 0 ? (long) Integer.MIN_VALUE - bits : bits;
  }

  private static long ordered(long bits) {
    return bits < 0 ? Long.MIN_VALUE - bits : bits;
  }
}
