package dev.panagrad.bench;

import dev.panagrad.Tensor;
import dev.panagrad.replay.TrainStep;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Eager steps against the same steps captured and replayed ({@link TrainStep}), paired in one class
 * so the ratio comes from one run. Run with {@code -prof gc}: a replayed step allocates nothing, so
 * JMH prints no {@code gc.alloc.rate.norm} for the replay methods.
 */
// Average time per step: the figure PyTorch users compare (time per iteration).
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// Warm-up long enough for C2 to compile the kernels and the replay loop: Vector API code
// allocates until it is compiled, and gc.alloc.rate.norm must see only compiled replay.
@Warmup(iterations = 5, time = 4)
@Measurement(iterations = 5, time = 2)
// One fork with the library's flags and a fixed, pre-touched heap, so GC noise stays low.
@Fork(
    value = 1,
    jvmArgsAppend = {
      "--add-modules=jdk.incubator.vector",
      "--enable-native-access=ALL-UNNAMED",
      Workloads.COMPILE_QUIET,
      Workloads.COMPILE_KERNELS_EARLY,
      "-Xms2g",
      "-Xmx2g",
      "-XX:+AlwaysPreTouch",
      "-Dpanagrad.quiet=true"
    })
public class ReplayBench {
  /** Warm-up by steps as well as JMH's timed warm-up; see {@link Replayed}. */
  static final int EAGER_WARM_UP = 100;

  @State(Scope.Thread)
  public static class EagerW1 {
    final Workloads.W1 w = new Workloads.W1();

    @Setup
    public void setUp() {
      for (int i = 0; i < EAGER_WARM_UP; i++) w.step();
    }
  }

  @State(Scope.Thread)
  public static class EagerW2 {
    final Workloads.W2 w = new Workloads.W2();

    @Setup
    public void setUp() {
      for (int i = 0; i < EAGER_WARM_UP; i++) w.step();
    }
  }

  /**
   * A captured step and its inputs. JMH's warm-up is timed: on a loaded machine it can end before
   * C2 has compiled the Vector API kernels, and until then they allocate; so the set-up also
   * replays until a window of steps allocates nothing (bounded).
   */
  abstract static class Replayed {
    TrainStep step;
    Tensor x, y;

    void capture(TrainStep.Body body, Tensor[] inputs) {
      x = inputs[0];
      y = inputs[1];
      step = TrainStep.capture(body, inputs);
      AllocReport.steadyState(200, () -> step.run(x, y));
    }

    @TearDown
    public void tearDown() {
      step.close();
    }
  }

  @State(Scope.Thread)
  public static class ReplayedW1 extends Replayed {
    @Setup
    public void setUp() {
      Workloads.W1 w = new Workloads.W1();
      capture(w::body, w.inputs());
    }
  }

  @State(Scope.Thread)
  public static class ReplayedW2 extends Replayed {
    @Setup
    public void setUp() {
      Workloads.W2 w = new Workloads.W2();
      capture(w::body, w.inputs());
    }
  }

  @Benchmark
  public double w1Eager(EagerW1 s) {
    return s.w.step();
  }

  @Benchmark
  public double w1Replay(ReplayedW1 s) {
    return s.step.run(s.x, s.y);
  }

  @Benchmark
  public double w2Eager(EagerW2 s) {
    return s.w.step();
  }

  @Benchmark
  public double w2Replay(ReplayedW2 s) {
    return s.step.run(s.x, s.y);
  }

  /**
   * No library code at all, about as long as a replayed W1 step: JMH's -prof gc counts every
   * thread's allocation (its own harness threads too), so whatever bytes per op this shows are the
   * harness's, the floor under the replay figures.
   */
  @Benchmark
  public void harnessOnly() {
    Blackhole.consumeCPU(HARNESS_TOKENS);
  }

  /** CPU tokens for {@link #harnessOnly}: a few hundred microseconds here. */
  static final long HARNESS_TOKENS = 200_000;
}
