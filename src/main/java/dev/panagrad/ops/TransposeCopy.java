package dev.panagrad.ops;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A matrix copied across layouts: a row-major destination from a column-major source of the same
 * shape and floating dtype, in separate storages (a {@code t().contiguous()}, or a clone of a
 * transposed view). The general strided loop would read the source one element per cache line; this
 * copy moves square tiles through the heap, each source column and destination row piece in one
 * bulk copy.
 */
final class TransposeCopy {
  /** The tile side, in elements: a 64 x 64 float64 tile (32 KiB) stays in the L1 or L2 cache. */
  static final int TILE = 64;

  /** The tiles a copy moves through, one set per thread (a copy never nests in another). */
  private static final class Scratch {
    final float[] inF = new float[TILE * TILE], outF = new float[TILE * TILE];
    final double[] inD = new double[TILE * TILE], outD = new double[TILE * TILE];
  }

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  private TransposeCopy() {}

  /** True when dst is a row-major and src a column-major matrix of the same shape and dtype. */
  static boolean applies(Tensor dst, Tensor src) {
    if (dst.dim() != 2 || src.dim() != 2 || dst.dtype() != src.dtype()) return false;
    // Views of one storage keep the element-by-element loop's behaviour.
    if (dst.storage() == src.storage()) return false;
    if (dst.dtype() != DType.FLOAT32 && dst.dtype() != DType.FLOAT64) return false;
    long[] sh = dst.shapeArray(), ds = dst.strideArray(), ss = src.strideArray();
    return Arrays.equals(sh, src.shapeArray())
        && sh[0] > 1
        && sh[1] > 1
        && ds[1] == 1
        && ds[0] >= sh[1]
        && ss[0] == 1
        && ss[1] >= sh[0];
  }

  /**
   * dst[i, j] = src[i, j], tile by tile; exact (a copy, no arithmetic). While a step is captured
   * the copy is recorded too: the weight gradient of a linear layer may arrive transposed.
   */
  static void copy(Tensor dst, Tensor src) {
    boolean f32 = dst.dtype() == DType.FLOAT32;
    long rows = dst.shapeArray()[0], cols = dst.shapeArray()[1];
    long ldd = dst.strideArray()[0], lds = src.strideArray()[1];
    long dOff = dst.storageOffset(), sOff = src.storageOffset();
    MemorySegment d = dst.segment(), s = src.segment();
    copy(f32, s, sOff, lds, d, dOff, ldd, rows, cols);
    if (Recorder.active()) {
      Recorder.record(
          "transposed copy " + rows + "x" + cols,
          () -> copy(f32, s, sOff, lds, d, dOff, ldd, rows, cols));
    }
  }

  /** The copy on raw memory: a column-major source (column stride lds) to a row-major dst. */
  private static void copy(
      boolean f32,
      MemorySegment s,
      long sOff,
      long lds,
      MemorySegment d,
      long dOff,
      long ldd,
      long rows,
      long cols) {
    ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE;
    int es = f32 ? 4 : 8;
    Scratch t = SCRATCH.get();
    float[] inF = t.inF, outF = t.outF;
    double[] inD = t.inD, outD = t.outD;
    for (long i0 = 0; i0 < rows; i0 += TILE) {
      int h = (int) Math.min(TILE, rows - i0);
      for (long j0 = 0; j0 < cols; j0 += TILE) {
        int w = (int) Math.min(TILE, cols - j0);
        // Column j of the tile is a contiguous run of the source: tile row jj of the heap copy.
        for (int jj = 0; jj < w; jj++) {
          long at = (sOff + i0 + (j0 + jj) * lds) * es;
          if (f32) MemorySegment.copy(s, F, at, inF, jj * TILE, h);
          else MemorySegment.copy(s, D, at, inD, jj * TILE, h);
        }
        for (int ii = 0; ii < h; ii++) {
          for (int jj = 0; jj < w; jj++) {
            if (f32) outF[ii * TILE + jj] = inF[jj * TILE + ii];
            else outD[ii * TILE + jj] = inD[jj * TILE + ii];
          }
          long at = (dOff + (i0 + ii) * ldd + j0) * es;
          if (f32) MemorySegment.copy(outF, ii * TILE, d, F, at, w);
          else MemorySegment.copy(outD, ii * TILE, d, D, at, w);
        }
      }
    }
  }
}
