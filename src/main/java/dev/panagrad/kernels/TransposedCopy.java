package dev.panagrad.kernels;

import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A float32 copy of a rows x cols matrix read with any strides (typically a transposed view) into
 * contiguous memory, in 32 x 32 tiles so both sides stay in cache. A copy is exact in any order, so
 * this gives the same bits as the element-by-element loop; a captured step replays it in place of
 * that loop (the weight gradient of a linear layer arrives transposed and is copied every step).
 */
public final class TransposedCopy implements Recorder.Instruction {
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
  private static final int TILE = 32;

  private final MemorySegment src, dst;
  private final long srcOffset, rowStride, colStride, dstOffset;
  private final int rows, cols;

  public TransposedCopy(
      MemorySegment src,
      long srcOffset,
      long rowStride,
      long colStride,
      MemorySegment dst,
      long dstOffset,
      int rows,
      int cols) {
    this.src = src;
    this.srcOffset = srcOffset;
    this.rowStride = rowStride;
    this.colStride = colStride;
    this.dst = dst;
    this.dstOffset = dstOffset;
    this.rows = rows;
    this.cols = cols;
  }

  @Override
  public void run() {
    for (int i0 = 0; i0 < rows; i0 += TILE) {
      int i1 = Math.min(rows, i0 + TILE);
      for (int j0 = 0; j0 < cols; j0 += TILE) {
        int j1 = Math.min(cols, j0 + TILE);
        for (int i = i0; i < i1; i++) {
          long from = srcOffset + i * rowStride, to = dstOffset + (long) i * cols;
          for (int j = j0; j < j1; j++) {
            dst.setAtIndex(F, to + j, src.getAtIndex(F, from + j * colStride));
          }
        }
      }
    }
  }
}
