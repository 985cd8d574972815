package dev.panagrad.replay;

import dev.panagrad.blas.Gemm;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.Recorder;
import java.util.List;

/**
 * A matrix product and the elementwise kernels that follow it over its output, run in row blocks,
 * one per thread: each thread computes its rows of C as a one-thread BLAS product, then runs the
 * kernels over those rows' elements while they are in its own cache.
 *
 * <p>Why: W1's products (6.4M multiply-adds) are too small for OpenBLAS to split well, so eager
 * runs them on one thread; splitting them alone loses, because the next kernel, on the calling
 * thread, then reads half of C from the other core's cache (W1's gradient update took 45 us after a
 * one-thread product and 100 us after a two-thread one). Here each core uses what it wrote.
 *
 * <p>Bit-identical to the unfused instructions: each row block gives the whole product's bits for
 * its rows (checked on the loaded BLAS for each product before it is split, {@link
 * Gemm.Prepared#rowBlocksKeepBits}), the kernels compute each element as before, and row blocks end
 * on multiples of 64 elements, so SIMD loops and tails fall where they fell ({@link Fusion}).
 */
final class SplitProduct implements Recorder.Instruction {
  /**
   * Products below this many multiply-adds stay whole: handing a block to another thread costs a
   * few microseconds, a product of 2M multiply-adds takes about 20 us on one core here.
   */
  static final long MIN_MACS = 1L << 21;

  private final Gemm.Prepared product;
  private final long columns;
  private final int unit;
  private final Recorder.Span[] spans;
  private final Parallel.Range range = this::runRows; // made once: run() allocates nothing
  private final Runnable body;

  SplitProduct(Gemm.Prepared product, List<Recorder.Elementwise> kernels) {
    this.product = product;
    this.columns = product.columns();
    this.unit = rowUnit(columns);
    this.spans = new Recorder.Span[kernels.size()];
    for (int i = 0; i < spans.length; i++) spans[i] = kernels.get(i).span();
    int rows = product.rows();
    this.body = () -> Parallel.forUnits(rows, unit, range);
  }

  /**
   * True when {@code product} is worth splitting, and splits with the same bits. Each thread reads
   * its rows of A and all of B, so B must be small beside A: data moved between cores is slow here
   * (W1's x @ w1, whose B is 400 KB against A's 256 KB, took 118 us a half split against 125 us
   * whole, inside the step; its weight gradient, B 25 KB, took 63 us a half against 108 us).
   */
  static boolean splits(Gemm.Prepared product) {
    Recorder.Operand[] in = product.inputs();
    return product.macs() >= MIN_MACS
        && in[1].elementBytes() * 4 <= in[0].elementBytes()
        && product.rowBlocksKeepBits(rowUnit(product.columns()));
  }

  /** The fewest rows whose elements are a multiple of 64: 64 / gcd(columns, 64). */
  private static int rowUnit(long columns) {
    return (int) (64 / Math.min(64, Long.lowestOneBit(columns)));
  }

  /**
   * The product as an elementwise instruction over C, for {@link
   * Recorder.Elementwise#commutesBlockwise}: it writes C element for element and reads all of A and
   * B (ranges nobody else may write). {@link Fusion} starts a chain with it, and knows it by its
   * {@code whole()}, the product itself.
   */
  static Recorder.Elementwise asElementwise(Gemm.Prepared product) {
    return new Recorder.Elementwise(
        (long) product.rows() * product.columns(),
        (from, to) -> {
          throw new IllegalStateException("a product runs by rows, not by elements");
        },
        product,
        product.output(),
        product.inputs());
  }

  int kernels() {
    return spans.length;
  }

  int rowUnit() {
    return unit;
  }

  @Override
  public void run() {
    Gemm.concurrently(body);
  }

  private void runRows(long r0, long r1) {
    product.runRows((int) r0, (int) r1);
    long end = r1 * columns;
    for (long b = r0 * columns; b < end; b += Fusion.BLOCK) {
      long e = Math.min(end, b + Fusion.BLOCK);
      for (Recorder.Span span : spans) span.run(b, e);
    }
  }
}
