package dev.panagrad.memory;

import java.util.ArrayList;
import java.util.List;

/**
 * Records the kernel invocations of one training step as {@link Instruction}s, so the step can be
 * replayed without running the code that made them (see {@code dev.panagrad.replay.TrainStep}).
 *
 * <p>Why here, in the lowest layer: every layer that writes tensor data (ops, autograd, optimizers,
 * random fills) must either record what it does or refuse to be captured, and each of them can see
 * this package. When no recording is open on any thread, {@link #active()} is one read of a
 * volatile counter, and eager code allocates nothing extra.
 *
 * <p>An instruction holds raw {@code MemorySegment}s, element offsets, lengths and scalars, never
 * tensor handles, and calls the same static kernel with the same arguments as the eager code did:
 * replay is bit-identical by construction. Its {@link Instruction#run()} must not allocate.
 */
public final class Recorder {
  /** One recorded kernel invocation. */
  @FunctionalInterface
  public interface Instruction {
    /** Runs the kernel again on the same memory; allocates nothing. */
    void run();
  }

  /** A kernel call on the sub-range [from, to) of an {@link Elementwise} instruction's elements. */
  @FunctionalInterface
  public interface Span {
    void run(long from, long to);
  }

  /**
   * Where an elementwise instruction finds an operand: element i of the run is at byte {@code
   * address + i * step}, {@code step} being the element size, or 0 for a scalar broadcast along the
   * run.
   */
  public record Operand(long address, long elementBytes, long step) {
    /** The bytes of the whole run of {@code length} elements. */
    long end(long length) {
      return address + (step == 0 ? elementBytes : length * step);
    }

    boolean overlaps(Operand o, long length) {
      return address < o.end(length) && o.address < end(length);
    }

    /** Same memory, element for element. */
    boolean sameElements(Operand o) {
      return address == o.address && elementBytes == o.elementBytes && step == o.step && step != 0;
    }
  }

  /**
   * An elementwise kernel over {@code length} elements that writes element i of {@code out} from
   * element i of its inputs (or a broadcast scalar): any sub-range can run alone, so replay may run
   * several such instructions block by block (see {@code dev.panagrad.replay.Fusion}). {@link
   * #run()} runs {@code whole}, the call eager mode made.
   */
  public record Elementwise(long length, Span span, Instruction whole, Operand out, Operand[] in)
      implements Instruction {
    @Override
    public void run() {
      whole.run();
    }

    /**
     * True when this and {@code later} can run interleaved block by block with the result of
     * running one after the other: every pair of their operands where one is written either shares
     * no byte or is the same elements, so element i of one depends only on element i of the other.
     */
    public boolean commutesBlockwise(Elementwise later) {
      if (later.length != length) return false;
      return independent(out, later) && later.independent(later.out, this);
    }

    /** {@code written} (an output of one instruction) against every operand of {@code other}. */
    private boolean independent(Operand written, Elementwise other) {
      if (!fits(written, other.out)) return false;
      for (Operand o : other.in) if (!fits(written, o)) return false;
      return true;
    }

    private boolean fits(Operand written, Operand o) {
      return !written.overlaps(o, length) || written.sameElements(o);
    }
  }

  private static final ThreadLocal<Recorder> CURRENT = new ThreadLocal<>();
  private static volatile int open;

  private final List<Instruction> instructions = new ArrayList<>();
  private final List<String> signatures = new ArrayList<>();
  private int suspended;

  private Recorder() {}

  /** Starts recording on this thread; the kernels called until {@link #stop()} are recorded. */
  public static Recorder start() {
    if (CURRENT.get() != null) {
      throw new IllegalStateException("a step is already being captured on this thread");
    }
    Recorder r = new Recorder();
    CURRENT.set(r);
    synchronized (Recorder.class) {
      open++;
    }
    return r;
  }

  /** Stops recording on this thread. */
  public void stop() {
    if (CURRENT.get() != this) return;
    CURRENT.remove();
    synchronized (Recorder.class) {
      open--;
    }
  }

  /** True when this thread records, and the recording is not suspended. */
  public static boolean active() {
    if (open == 0) return false;
    Recorder r = CURRENT.get();
    return r != null && r.suspended == 0;
  }

  /**
   * Records {@code instruction}, described by {@code signature} (its kind, sizes and scalar
   * parameters, never data: two recordings of a static step have equal signatures). No-op when not
   * recording.
   */
  public static void record(String signature, Instruction instruction) {
    Recorder r = CURRENT.get();
    if (r == null || r.suspended > 0) return;
    r.instructions.add(instruction);
    r.signatures.add(signature);
  }

  /** The number of instructions recorded so far on this thread (0 when not recording). */
  public static int mark() {
    Recorder r = CURRENT.get();
    return r == null ? 0 : r.instructions.size();
  }

  /**
   * Throws when this thread records: {@code what} has no instruction and cannot be replayed.
   *
   * @param what the op, e.g. "randn/dropout"
   * @param why why, e.g. "random ops are not capturable"
   */
  public static void refuse(String what, String why) {
    if (open == 0) return;
    Recorder r = CURRENT.get();
    if (r == null || r.suspended > 0) return;
    throw new IllegalStateException(
        "TrainStep.capture: " + what + " cannot be replayed (" + why + ")");
  }

  /**
   * Suspends recording while an op runs kernels that it records itself as one instruction; pair
   * with {@link #resume()} in a finally block.
   */
  public static void suspend() {
    Recorder r = CURRENT.get();
    if (r != null) r.suspended++;
  }

  public static void resume() {
    Recorder r = CURRENT.get();
    if (r != null) r.suspended--;
  }

  public List<Instruction> instructions() {
    return instructions;
  }

  public List<String> signatures() {
    return signatures;
  }
}
