package dev.panagrad.replay;

import dev.panagrad.blas.Gemm;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.Recorder;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuses a recorded program's elementwise chains: consecutive {@link Recorder.Elementwise}
 * instructions of the same length run block by block, each block through every kernel of the chain
 * while it is in L1, instead of one full pass over memory per kernel. The gradient accumulation and
 * the hand-written SGD update of W1 ({@code grad += g}, {@code grad * lr}, {@code w -= that})
 * become one pass; the rows of a broadcast (a bias copied into each row of a linear layer's output)
 * become one instruction.
 *
 * <p>Bit-identical by construction: each kernel computes each element exactly as before, only the
 * order in which elements of different kernels are visited changes, and a chain is formed only when
 * that order cannot matter ({@link Recorder.Elementwise#commutesBlockwise}: no kernel writes memory
 * another reads or writes, except element for element). Blocks subdivide the intra-op pool's chunks
 * at multiples of 64 elements, so SIMD loops and their tails fall where they fell unfused.
 */
final class Fusion {
  /** Elements per block: 2048 floats are 8 KiB an operand, so a chain's operands stay in L1. */
  static final long BLOCK = 2048;

  private Fusion() {}

  /**
   * The program with its fusable chains replaced by one instruction each: elementwise chains
   * ({@link Chain}), and products with the elementwise kernels that follow over their output
   * ({@link SplitProduct}).
   */
  static Recorder.Instruction[] fuse(Recorder.Instruction[] program) {
    List<Recorder.Instruction> out = new ArrayList<>();
    Gemm.Prepared product = null; // when set, heads the chain
    List<Recorder.Elementwise> chain = new ArrayList<>();
    for (Recorder.Instruction instruction : program) {
      if (instruction instanceof Recorder.Elementwise e && joins(product, chain, e)) {
        chain.add(e);
        continue;
      }
      flush(product, chain, out);
      product = null;
      if (instruction instanceof Gemm.Prepared p && SplitProduct.splits(p)) product = p;
      else if (instruction instanceof Recorder.Elementwise e) chain.add(e);
      else out.add(instruction);
    }
    flush(product, chain, out);
    return out.toArray(new Recorder.Instruction[0]);
  }

  /** True when {@code e} can run block by block after {@code product} and every kernel of chain. */
  private static boolean joins(
      Gemm.Prepared product, List<Recorder.Elementwise> chain, Recorder.Elementwise e) {
    if (product != null) {
      if (!SplitProduct.asElementwise(product).commutesBlockwise(e)) return false;
    } else if (chain.isEmpty()) {
      return false;
    }
    for (Recorder.Elementwise earlier : chain) if (!earlier.commutesBlockwise(e)) return false;
    return true;
  }

  private static void flush(
      Gemm.Prepared product, List<Recorder.Elementwise> chain, List<Recorder.Instruction> out) {
    if (product != null) out.add(chain.isEmpty() ? product : new SplitProduct(product, chain));
    else if (chain.size() == 1) out.add(chain.get(0));
    else if (chain.size() > 1) out.add(new Chain(chain));
    chain.clear();
  }

  /** Several elementwise kernels of one length, run block by block. */
  static final class Chain implements Recorder.Instruction {
    private final long length;
    private final Recorder.Span[] spans;
    private final Parallel.Range range = this::runRange; // made once: run() allocates nothing

    Chain(List<Recorder.Elementwise> members) {
      this.length = members.get(0).length();
      this.spans = new Recorder.Span[members.size()];
      for (int i = 0; i < spans.length; i++) spans[i] = members.get(i).span();
    }

    int size() {
      return spans.length;
    }

    @Override
    public void run() {
      Parallel.forRange(length, range);
    }

    private void runRange(long from, long to) {
      for (long b = from; b < to; b += BLOCK) {
        long e = Math.min(to, b + BLOCK);
        for (Recorder.Span span : spans) span.run(b, e);
      }
    }
  }
}
