package dev.panagrad.replay;

import dev.panagrad.DType;
import dev.panagrad.Elements;
import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.autograd.GradMode;
import dev.panagrad.memory.Recorder;
import dev.panagrad.memory.Scope;
import dev.panagrad.memory.StoragePool;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A training step (forward, backward, optimizer update) recorded once and replayed: the same
 * kernels on the same buffers, with new input data copied in, no dispatch and no allocation.
 *
 * {@snippet :
 * try (TrainStep step = TrainStep.capture(in -> {
 *       Tensor loss = F.crossEntropy(model.forward(in[0]), in[1]);
 *       loss.backward();
 *       opt.step();
 *       opt.zeroGrad();
 *       return loss;
 *     }, x, target)) {
 *   for (Tensor[] batch : batches) {
 *     double loss = step.run(batch[0], batch[1]); // 0 bytes of heap per step
 *   }
 * }
 * }
 *
 * <p>What capture does, step by step (each is a real training step on the example inputs, so a
 * capture-then-replay loop trains exactly as the eager loop does, step for step):
 *
 * <ol>
 *   <li>{@code warmup} eager steps, so lazily made state exists (momentum buffers, gradients kept
 *       between steps);
 *   <li>two recorded steps, each inside its own {@link Scope}: every kernel call is also recorded
 *       as an instruction on raw memory ({@link Recorder}), and storage comes from a pool private
 *       to this step, so no other code can be handed the bytes the program writes;
 *   <li>the two instruction lists must have equal signatures (kinds, sizes, scalar parameters),
 *       else the step is not static and capture fails; the second is kept.
 * </ol>
 *
 * <p>Parameters and optimizer state live outside the step and are updated in place. After a replay,
 * {@code param.grad()} shows what the eager step leaves: null when the step ends with {@code
 * zeroGrad()} (the program keeps its gradient buffers privately), or the gradient tensor kept
 * between steps, holding what the last replayed step wrote into it. Scalars such as the learning
 * rate are fixed at capture: capture again after changing them. Tensors made inside the captured
 * step belong to it and raise {@link IllegalStateException} when used afterwards.
 */
public final class TrainStep implements AutoCloseable {
  /** One training step on the given inputs, returning its one-element loss. */
  @FunctionalInterface
  public interface Body {
    Tensor step(Tensor... inputs);
  }

  private final Tensor[] inputs;
  private final long[][] inputShapes;
  private final Recorder.Instruction[] program;
  private final List<String> signatures;
  private final MemorySegment lossSegment;
  private final long lossOffset;
  private final DType lossType;
  private final StoragePool pool;
  private final double[] captureLosses;
  private boolean closed;

  private TrainStep(
      Tensor[] inputs,
      Recorder.Instruction[] program,
      Recording loss,
      StoragePool pool,
      double[] captureLosses) {
    this.inputs = inputs;
    this.inputShapes = new long[inputs.length][];
    for (int i = 0; i < inputs.length; i++) inputShapes[i] = inputs[i].shape();
    this.program = program;
    this.signatures = List.copyOf(loss.recorder().signatures());
    this.lossSegment = loss.loss();
    this.lossOffset = loss.lossOffset();
    this.lossType = loss.lossType();
    this.pool = pool;
    this.captureLosses = captureLosses;
  }

  /** Captures {@code body} after one warm-up step; see the class comment. */
  public static TrainStep capture(Body body, Tensor... examples) {
    return capture(body, 1, examples);
  }

  /**
   * Runs {@code warmup} eager steps and two recorded steps of {@code body} on copies of {@code
   * examples} (the program owns the copies; {@link #run} copies new data into them).
   *
   * @throws IllegalStateException when the step uses an op that cannot be replayed (naming it), or
   *     is not static (two recordings differ, or it keeps tensors it made)
   */
  public static TrainStep capture(Body body, int warmup, Tensor... examples) {
    if (warmup < 0) throw new IllegalArgumentException("warmup must be >= 0, got " + warmup);
    StoragePool pool = StoragePool.newPrivate();
    Tensor[] inputs = new Tensor[examples.length];
    List<Double> losses = new ArrayList<>();
    boolean ok = false;
    try {
      StoragePool.installOnThisThread(pool);
      try (var ng = GradMode.noGrad()) {
        for (int i = 0; i < examples.length; i++) {
          inputs[i] = Tensor.emptyUnscoped(examples[i].dtype(), examples[i].shape());
          inputs[i].copy_(examples[i]);
        }
      } finally {
        StoragePool.installOnThisThread(null);
      }
      for (int w = 0; w < warmup; w++) {
        try (Scope scope = Scope.open("TrainStep warm-up")) {
          losses.add(checkLoss(body.step(inputs.clone())).item());
        }
      }
      Recording first = record(body, inputs, pool, losses);
      Recording second = record(body, inputs, pool, losses);
      compare(first.recorder().signatures(), second.recorder().signatures());
      TrainStep step =
          new TrainStep(
              inputs,
              Fusion.fuse(second.recorder().instructions().toArray(new Recorder.Instruction[0])),
              second,
              pool,
              losses.stream().mapToDouble(Double::doubleValue).toArray());
      ok = true;
      return step;
    } finally {
      if (!ok) release(inputs, pool);
    }
  }

  /** One recorded step: its instructions, and where its loss lives (memory the program keeps). */
  private record Recording(
      Recorder recorder, MemorySegment loss, long lossOffset, DType lossType) {}

  private static Recording record(
      Body body, Tensor[] inputs, StoragePool pool, List<Double> losses) {
    StoragePool.installOnThisThread(pool);
    Recorder rec = Recorder.start();
    Recording r;
    try (Scope scope = Scope.open("captured TrainStep")) {
      Tensor l = checkLoss(body.step(inputs.clone()));
      losses.add(l.item());
      r = new Recording(rec, l.segment(), l.storageOffset(), l.dtype());
    } finally {
      rec.stop();
      StoragePool.installOnThisThread(null);
    }
    int kept = pool.outstanding() - inputs.length;
    if (kept != 0) {
      throw new IllegalStateException(
          "the step is not static: it keeps "
              + kept
              + " tensor(s) it made while captured (optimizer state or gradients made on first"
              + " use?); run more warm-up steps, or keep such tensors outside the step");
    }
    return r;
  }

  private static Tensor checkLoss(Tensor loss) {
    if (loss == null || loss.numel() != 1) {
      throw new IllegalArgumentException(
          "TrainStep: the step must return its loss as a one-element tensor, got "
              + (loss == null ? "null" : "shape " + Shapes.str(loss.shape())));
    }
    return loss;
  }

  private static void compare(List<String> a, List<String> b) {
    int n = Math.min(a.size(), b.size());
    for (int i = 0; i < n; i++) {
      if (!a.get(i).equals(b.get(i))) {
        throw new IllegalStateException(
            "the step is not static: kernel "
                + i
                + " was '"
                + a.get(i)
                + "' in the first recording and '"
                + b.get(i)
                + "' in the second (shapes, control flow or scalars changed between steps)");
      }
    }
    if (a.size() != b.size()) {
      throw new IllegalStateException(
          "the step is not static: the first recording ran "
              + a.size()
              + " kernels, the second "
              + b.size());
    }
  }

  private static void release(Tensor[] inputs, StoragePool pool) {
    for (Tensor t : inputs) if (t != null) t.storage().releaseIfUnscoped("its TrainStep closed");
    pool.returnAll();
  }

  /** The losses of the steps capture ran: the warm-up steps, then the two recorded ones. */
  public double[] captureLosses() {
    return captureLosses.clone();
  }

  /**
   * The number of instructions one replayed step runs: those recorded, less those fused into
   * elementwise chains ({@link Fusion}).
   */
  public int instructionCount() {
    return program.length;
  }

  /** The instructions one replayed step runs, after fusion: for tests. */
  Recorder.Instruction[] program() {
    return program.clone();
  }

  /**
   * What one replayed step runs, one line per kernel call as recorded (kind, sizes, scalar
   * parameters): for reading and for tests, like a profiler's trace.
   */
  public List<String> instructionSignatures() {
    return signatures;
  }

  /** Replays the step with no inputs; returns its loss. */
  public double run() {
    checkArity(0);
    return replay();
  }

  /** Replays the step on {@code x} (copied in); returns its loss. */
  public double run(Tensor x) {
    checkArity(1);
    copyIn(0, x);
    return replay();
  }

  /** Replays the step on {@code x} and {@code y} (copied in); returns its loss. */
  public double run(Tensor x, Tensor y) {
    checkArity(2);
    copyIn(0, x);
    copyIn(1, y);
    return replay();
  }

  /** Replays the step on {@code in} (copied in); returns its loss. */
  public double run(Tensor... in) {
    checkArity(in.length);
    for (int i = 0; i < in.length; i++) copyIn(i, in[i]);
    return replay();
  }

  private void checkArity(int n) {
    if (closed) throw new IllegalStateException("TrainStep.run: this step was closed");
    if (n != inputs.length) {
      throw new IllegalArgumentException(
          "TrainStep.run: expected " + inputs.length + " inputs, as captured, got " + n);
    }
  }

  /** Checks shape and dtype without allocating, then copies the data (contiguous inputs). */
  private void copyIn(int i, Tensor x) {
    Tensor dst = inputs[i];
    long[] shape = inputShapes[i];
    boolean same = x.dtype() == dst.dtype() && x.dim() == shape.length;
    for (int d = 0; same && d < shape.length; d++) same = x.size(d) == shape[d];
    if (!same) {
      throw new IllegalArgumentException(
          "TrainStep.run: input "
              + i
              + " must have shape "
              + Shapes.str(shape)
              + " and dtype "
              + dst.dtype()
              + " as captured, got shape "
              + Shapes.str(x.shape())
              + " and dtype "
              + x.dtype()
              + "; capture again for other shapes");
    }
    if (!x.isContiguous()) {
      throw new IllegalArgumentException(
          "TrainStep.run: input " + i + " must be contiguous; pass x.contiguous()");
    }
    long bytes = dst.storage().byteSize();
    long size = x.dtype().byteSize();
    MemorySegment.copy(x.segment(), x.storageOffset() * size, dst.segment(), 0, bytes);
  }

  private double replay() {
    for (Recorder.Instruction instruction : program) instruction.run();
    return Elements.get(lossSegment, lossType, lossOffset);
  }

  /** Returns the step's memory to the shared pool; later runs throw. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    release(inputs, pool);
  }
}
