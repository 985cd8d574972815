package dev.panagrad.kernels;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * Note [Float tanh]: FloatTanh.tanh(x) is {@code (float) Math.tanh(x)} bit for bit. The suite
 * checks every 251st float bit pattern (17 million, both signs, every exponent) and the edges;
 * {@code -Dpanagrad.test.exhaustive=true} checks all 2^32.
 */
class FloatTanhTest {
  /** The bit patterns in [from, to) that differ, with the first few spelled out. */
  private static String mismatches(long from, long to) {
    StringBuilder first = new StringBuilder();
    long count = 0;
    for (long b = from; b < to; b++) {
      float x = Float.intBitsToFloat((int) b);
      int got = Float.floatToRawIntBits(FloatTanh.tanh(x));
      int want = Float.floatToRawIntBits((float) Math.tanh(x));
      if (got != want && count++ < 5) {
        first.append(String.format(" x=%s (0x%08x): %08x, want %08x;", x, (int) b, got, want));
      }
    }
    return count == 0 ? "" : count + " differ:" + first;
  }

  @Test
  void edgesGiveMathTanhsBits() {
    float[] edges = {
      0f,
      -0f,
      Float.MIN_VALUE,
      -Float.MIN_VALUE,
      Float.MIN_NORMAL,
      0x1p-12f,
      1f / 256,
      1f / 128,
      0.5f,
      1f,
      -1f,
      9.999999f,
      10f,
      -10f,
      Math.nextDown(10f),
      Math.nextUp(10f),
      20f,
      Float.MAX_VALUE,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      Float.NaN,
      Float.intBitsToFloat(0x7fc00001) // a NaN with a payload
    };
    for (float x : edges) {
      assertEquals(
          Float.floatToRawIntBits((float) Math.tanh(x)),
          Float.floatToRawIntBits(FloatTanh.tanh(x)),
          "tanh(" + x + ")");
    }
  }

  @Test
  void everyFloatGivesMathTanhsBits() {
    // 256 chunks of 2^24 bit patterns, over the common pool's threads
    String differ =
        java.util.stream.IntStream.range(0, 256)
            .parallel()
            .mapToObj(i -> mismatches((long) i << 24, (long) (i + 1) << 24))
            .filter(m -> !m.isEmpty())
            .collect(java.util.stream.Collectors.joining(" "));
    assertEquals("", differ);
  }
}
