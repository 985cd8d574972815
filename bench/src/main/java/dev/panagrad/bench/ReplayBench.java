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
      "-Xms2g",
      "-Xmx2g",
      "-XX:+AlwaysPreTouch",
      "-Dpanagrad.quiet=true"
    })
@State(Scope.Thread)
public class ReplayBench {
  Workloads.W1 w1Eager, w1Captured;
  Workloads.W2 w2Eager, w2Captured;
  TrainStep w1Step, w2Step;
  Tensor w1x, w1y, w2x, w2t;

  @Setup
  public void setUp() {
    w1Eager = new Workloads.W1();
    w2Eager = new Workloads.W2();
    w1Captured = new Workloads.W1();
    w2Captured = new Workloads.W2();
    Tensor[] in1 = w1Captured.inputs(), in2 = w2Captured.inputs();
    w1x = in1[0];
    w1y = in1[1];
    w2x = in2[0];
    w2t = in2[1];
    w1Step = TrainStep.capture(w1Captured::body, in1);
    w2Step = TrainStep.capture(w2Captured::body, in2);
  }

  @TearDown
  public void tearDown() {
    w1Step.close();
    w2Step.close();
  }

  @Benchmark
  public double w1Eager() {
    return w1Eager.step();
  }

  @Benchmark
  public double w1Replay() {
    return w1Step.run(w1x, w1y);
  }

  @Benchmark
  public double w2Eager() {
    return w2Eager.step();
  }

  @Benchmark
  public double w2Replay() {
    return w2Step.run(w2x, w2t);
  }
}
