package dev.panagrad.bench;

import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.kernels.BinaryOp;
import dev.panagrad.kernels.UnaryOp;
import dev.panagrad.memory.Scope;
import dev.panagrad.ops.Pointwise;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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

/**
 * W4: elementwise ops on 16M floats, beside a plain Java loop over the same segments (the C-like
 * baseline of the same run). Bandwidth = bytes moved / time: 12 bytes per element for a binary op
 * (two reads, one write), 8 for a unary one.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
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
      "-XX:+AlwaysPreTouch",
      "-Dpanagrad.quiet=true"
    })
@State(org.openjdk.jmh.annotations.Scope.Thread)
public class ElementwiseBench {
  @Param({"16777216"})
  public long n;

  Tensor a, b, out, leaf;

  @Setup
  public void setUp() {
    Torch.manualSeed(0);
    a = Torch.rand(n);
    b = Torch.rand(n);
    out = Torch.empty(n);
    leaf = Torch.rand(n).requiresGrad_(true);
  }

  /** The allocating form, {@code a.add(b)}, its memory returned to the pool each call. */
  @Benchmark
  public float add() {
    try (var s = Scope.open()) {
      return (float) a.add(b).get(0);
    }
  }

  /** {@code torch.add(a, b, out=out)}: no allocation. */
  @Benchmark
  public Tensor addOut() {
    Pointwise.binaryInto(out, a, b, BinaryOp.ADD, 1);
    return out;
  }

  @Benchmark
  public Tensor mulOut() {
    Pointwise.binaryInto(out, a, b, BinaryOp.MUL, 1);
    return out;
  }

  @Benchmark
  public Tensor reluOut() {
    Pointwise.unaryInto(out, a, UnaryOp.RELU, 0, 0);
    return out;
  }

  /** add then sum then backward: the elementwise part of a training step. */
  @Benchmark
  public float addBackward() {
    try (var s = Scope.open()) {
      leaf.add(b).sum().backward();
      float g = (float) leaf.grad().get(0);
      leaf.setGrad(null);
      return g;
    }
  }

  /** The baseline: the add as a plain Java loop over the same segments. */
  @Benchmark
  public MemorySegment plainLoopAdd() {
    MemorySegment sa = a.segment(), sb = b.segment(), so = out.segment();
    for (long i = 0; i < n; i++) {
      so.setAtIndex(
          ValueLayout.JAVA_FLOAT,
          i,
          sa.getAtIndex(ValueLayout.JAVA_FLOAT, i) + sb.getAtIndex(ValueLayout.JAVA_FLOAT, i));
    }
    return so;
  }
}
