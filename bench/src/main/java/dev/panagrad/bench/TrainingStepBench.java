package dev.panagrad.bench;

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
import org.openjdk.jmh.annotations.Warmup;

/** W1, W2, W3 and W7: one training step each, as a user writes it. */
// Average time per step: the figure PyTorch users compare (time per iteration).
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
// Warm-up long enough for C2 to compile the kernels and for the pool to hold every size class.
@Warmup(iterations = 3, time = 2)
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
@State(Scope.Thread)
public class TrainingStepBench {
  Workloads.W1 w1;
  Workloads.W2 w2;
  Workloads.W3 w3;
  Workloads.W7 w7;

  @Setup
  public void setUp() {
    w1 = new Workloads.W1();
    w2 = new Workloads.W2();
    w3 = new Workloads.W3();
    w7 = new Workloads.W7();
  }

  @Benchmark
  public double w1TwoLayerNet() {
    return w1.step();
  }

  @Benchmark
  public double w2Mlp() {
    return w2.step();
  }

  @Benchmark
  public double w3TinyOps() {
    return w3.step();
  }

  // A W7 step takes seconds until the JIT has compiled its loops, ~20 ms after: ten 1 s warm-up
  // iterations (~400 steps) reach the steady state, where 3 x 2 s measured 1.5-2x above it.
  @Benchmark
  @Warmup(iterations = 10, time = 1)
  public double w7Cnn() {
    return w7.step();
  }
}
