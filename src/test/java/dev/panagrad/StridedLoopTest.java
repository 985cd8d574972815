package dev.panagrad;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The strided loop's runs, computed by hand from the shapes and strides: coalesced dims, broadcast
 * operands, and a loop started inside another loop's body (which must not disturb the outer one's
 * reused arrays).
 */
class StridedLoopTest {
  /**
   * Each run as {offset of operand 0, offset of operand 1, inner stride 0, inner stride 1, length}.
   */
  private static List<List<Long>> runs(long[] shape, long[][] strides, long[] offsets) {
    List<List<Long>> out = new ArrayList<>();
    StridedLoop.forEach(
        shape,
        strides,
        offsets,
        (off, inner, n) -> out.add(List.of(off[0], off[1], inner[0], inner[1], n)));
    return out;
  }

  @Test
  void runsOfAContiguousAndABroadcastOperand() {
    // out [2, 3] contiguous; a [3] broadcast along dim 0 (stride 0), starting at element 5.
    List<List<Long>> got =
        runs(new long[] {2, 3}, new long[][] {{3, 1}, {0, 1}}, new long[] {0, 5});
    assertEquals(List.of(List.of(0L, 5L, 1L, 1L, 3L), List.of(3L, 5L, 1L, 1L, 3L)), got);
    // Both contiguous: one coalesced run of 6.
    assertEquals(
        List.of(List.of(0L, 0L, 1L, 1L, 6L)),
        runs(new long[] {2, 3}, new long[][] {{3, 1}, {3, 1}}, new long[] {0, 0}));
  }

  @Test
  void aLoopInsideABodyLeavesTheOuterLoopIntact() {
    long[] shape = {3, 2};
    long[][] strides = {{1, 3}, {2, 1}}; // transposed out, contiguous a: no coalescing, 3 runs
    List<List<Long>> expected = runs(shape, strides, new long[] {0, 0});
    assertEquals(3, expected.size());
    List<List<Long>> got = new ArrayList<>();
    List<List<Long>> innerRuns = new ArrayList<>();
    StridedLoop.forEach(
        shape,
        strides,
        new long[] {0, 0},
        (off, inner, n) -> {
          innerRuns.addAll(runs(new long[] {4}, new long[][] {{2}, {1}}, new long[] {7, 9}));
          got.add(List.of(off[0], off[1], inner[0], inner[1], n));
        });
    assertEquals(expected, got);
    assertEquals(List.of(7L, 9L, 2L, 1L, 4L), innerRuns.get(0));
  }
}
