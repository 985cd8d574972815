package dev.panagrad.ops;

import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import org.junit.jupiter.api.Test;

/**
 * The tiled copy of column-major matrices: every element lands where the strided definition puts it
 * (dst[i, j] = src[i, j], read element by element), across tile edges and with padded leading
 * dimensions and offsets on both sides.
 */
class TransposeCopyTest {
  static final long[][] SHAPES = {{2, 3}, {3, 70}, {64, 64}, {65, 130}, {129, 63}, {200, 1}};

  @Test
  void cloneOfATransposedViewEqualsTheViewElementByElement() {
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      for (long[] s : SHAPES) {
        Torch.manualSeed(s[0] * 1000 + s[1]);
        Tensor src = Torch.randn(dt, s[1], s[0]).t(); // [s0, s1], strides (1, s0)
        Tensor copy = src.clone();
        assertTrue(copy.isContiguous());
        assertSameElements(src, copy, dt + " " + s[0] + "x" + s[1]);
      }
    }
  }

  @Test
  void paddedLeadingDimensionsAndOffsetsOnBothSides() {
    Torch.manualSeed(7);
    // src: rows 5..74 and columns 3..72 of a column-major 100 x 80 matrix (ld 100, offset)
    Tensor src = Torch.randn(80, 100).t().narrow(0, 5, 70).narrow(1, 3, 70);
    // dst: a 70 x 70 window of a row-major 90 x 120 matrix (ld 120, offset)
    Tensor big = Torch.zeros(90, 120);
    Tensor dst = big.narrow(0, 10, 70).narrow(1, 20, 70);
    assertTrue(TransposeCopy.applies(dst, src));
    dst.copy_(src);
    assertSameElements(src, dst, "window");
    // nothing outside the window was written
    assertEquals(0.0, big.narrow(0, 0, 10).abs().sum().item());
    assertEquals(0.0, big.narrow(1, 90, 30).abs().sum().item());
  }

  @Test
  void viewsOfOneStorageTakeTheGeneralLoop() {
    Tensor m = Torch.randn(8, 8);
    assertFalse(TransposeCopy.applies(m, m.t()));
  }

  static void assertSameElements(Tensor want, Tensor got, String what) {
    long[] sh = want.shape();
    for (long i = 0; i < sh[0]; i++) {
      for (long j = 0; j < sh[1]; j++) {
        assertEquals(
            Double.doubleToLongBits(want.get(i, j)),
            Double.doubleToLongBits(got.get(i, j)),
            what + " at " + i + "," + j);
      }
    }
  }
}
