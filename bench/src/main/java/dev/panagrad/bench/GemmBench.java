package dev.panagrad.bench;

import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.memory.Scope;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** W5: float32 matrix products, 1024^3 and the W1/W2 shapes (m x k times k x n). */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {
      "--add-modules=jdk.incubator.vector",
      "--enable-native-access=ALL-UNNAMED",
      Workloads.COMPILE_QUIET,
      Workloads.COMPILE_KERNELS_EARLY,
      "-Xms2g",
      "-Xmx2g",
      "-Dpanagrad.quiet=true"
    })
@State(org.openjdk.jmh.annotations.Scope.Thread)
public class GemmBench {
  /** m x k x n: 1024^3; W1's x@w1; W2's first layer (batch 128, 784 -> 512). */
  @Param({"1024x1024x1024", "64x1000x100", "128x784x512"})
  public String mkn;

  Tensor a, b;

  @Setup
  public void setUp() {
    String[] p = mkn.split("x");
    Torch.manualSeed(0);
    a = Torch.rand(Long.parseLong(p[0]), Long.parseLong(p[1]));
    b = Torch.rand(Long.parseLong(p[1]), Long.parseLong(p[2]));
  }

  @Benchmark
  public float sgemm() {
    try (var s = Scope.open()) {
      return (float) a.mm(b).get(0, 0);
    }
  }
}
