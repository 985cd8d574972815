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
