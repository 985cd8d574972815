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
    // a product that splits heads a chain as an elementwise kernel over C (see SplitProduct)
    List<Recorder.Elementwise> chain = new ArrayList<>();
    for (Recorder.Instruction instruction : program) {
      if (instruction instanceof Recorder.Elementwise e && joins(chain, e)) {
        chain.add(e);
        continue;
      }
      flush(chain, out);
      if (instruction instanceof Gemm.Prepared p && SplitProduct.splits(p)) {
        chain.add(SplitProduct.asElementwise(p));
      } else if (instruction instanceof Recorder.Elementwise e) {
        chain.add(e);
      } else {
        out.add(instruction);
      }
    }
    flush(chain, out);
    return out.toArray(new Recorder.Instruction[0]);
  }

  /** True when {@code e} can run block by block with every instruction of {@code chain}. */
  private static boolean joins(List<Recorder.Elementwise> chain, Recorder.Elementwise e) {
    if (chain.isEmpty()) return false;
    for (Recorder.Elementwise earlier : chain) if (!earlier.commutesBlockwise(e)) return false;
    return true;
  }

  private static void flush(List<Recorder.Elementwise> chain, List<Recorder.Instruction> out) {
    if (chain.isEmpty()) return;
    if (chain.get(0).whole() instanceof Gemm.Prepared product) {
      List<Recorder.Elementwise> kernels = chain.subList(1, chain.size());
      out.add(kernels.isEmpty() ? product : new SplitProduct(product, kernels));
    } else {
      out.add(chain.size() == 1 ? chain.get(0) : new Chain(chain));
    }
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
