package dev.panagrad.replay;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.Tensor;
import dev.panagrad.kernels.Parallel;
import dev.panagrad.memory.MemoryStats;
import dev.panagrad.optim.AdamW;
import dev.panagrad.optim.RMSprop;
import dev.panagrad.testing.ChildJvm;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Replayed steps allocate 0 heap bytes and no native memory, counted by the JVM for the replaying
 * thread over 1,000 steps. Each workload runs in a JVM of its own ({@link ChildJvm} says why): in
 * the suite's JVM, one subset of seven test classes before this one left a Vector API kernel in C1
 * code, which boxed its vectors in every replayed step.
 */
class ReplayAllocationTest {
  @Test
  void twoLayerNetAndMlpReplaysAllocateNothingOver1000Steps() throws Exception {
    String out = ChildJvm.run(Workload.class, "W1", "W2");
    assertTrue(out.contains("W1 allocates nothing") && out.contains("W2 allocates nothing"), out);
  }

  /**
   * The convolution kernels too: a vector merged after a branch in one of them once had C2 box it,
   * 15 KB a replayed W7 step, while the two-layer and MLP replays stayed at 0.
   */
  @Test
  void cnnReplayAllocatesNothing() throws Exception {
    String out = ChildJvm.run(Workload.class, "CNN");
    assertTrue(out.contains("CNN allocates nothing"), out);
  }

  /**
   * An MLP 64-256-256-10 on a batch of 32 with AdamW (its per-step corrections are computed in
   * place) and with RMSprop: the 256 x 256 weight is past Parallel.MIN_SPLIT_PASS, so the updates
   * also split over the pool. Smaller than W2, so 1,000 steps stay quick.
   */
  @Test
  void adamWAndRmspropReplaysAllocateNothing() throws Exception {
    assertTrue(256 * 256 >= Parallel.MIN_SPLIT_PASS);
    String out = ChildJvm.run(Workload.class, "AdamW", "RMSprop");
    assertTrue(
        out.contains("AdamW allocates nothing") && out.contains("RMSprop allocates nothing"), out);
  }

  /**
   * The child JVM: captures each named workload's step and asserts its replays allocate nothing.
   */
  public static final class Workload {
    public static void main(String[] names) {
      for (String name : names) {
        switch (name) {
          case "W1" -> {
            var net = new TrainStepTest.TwoLayer();
            assertReplayAllocatesNothing(net::step, net.x, net.y, name);
          }
          case "W2" -> {
            var mlp = new TrainStepTest.Mlp();
            assertReplayAllocatesNothing(mlp::step, mlp.x, mlp.target, name);
          }
          case "CNN" -> {
            manualSeed(0);
            Tensor x = rand(8, 1, 28, 28), target = randint(0, 10, 8);
            TrainStep.Body body = TrainStepTest.cnnStep(TrainStepTest.cnnParams());
            assertReplayAllocatesNothing(body, x, target, name);
          }
          case "AdamW" -> {
            var mlp =
                new TrainStepTest.Mlp(
                    ps -> new AdamW(ps, 1e-3, 0.9, 0.999, 1e-8, 1e-2, true), 32, 64, 256);
            assertReplayAllocatesNothing(mlp::step, mlp.x, mlp.target, name);
          }
          case "RMSprop" -> {
            var mlp =
                new TrainStepTest.Mlp(
                    ps -> new RMSprop(ps, 1e-3, 0.99, 1e-8, 1e-4, 0.9, true), 32, 64, 256);
            assertReplayAllocatesNothing(mlp::step, mlp.x, mlp.target, name);
          }
          default -> throw new IllegalArgumentException("no workload " + name);
        }
        System.out.println(name + " allocates nothing");
      }
    }
  }

  static void assertReplayAllocatesNothing(TrainStep.Body body, Tensor a, Tensor b, String what) {
    var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    try (TrainStep step = TrainStep.capture(body, a, b)) {
      // Warm-up until the JIT has compiled the loop: Vector API code allocates until C2
      // compiles it, so warm up until a window of 50 steps allocates nothing (bounded).
      int warmUp = 0;
      for (int round = 0; round < 30; round++) {
        long start = bean.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 50; i++) step.run(a, b);
        warmUp += 50;
        if (round >= 2 && bean.getCurrentThreadAllocatedBytes() == start) break;
      }
      long slabs = MemoryStats.slabCount();
      // A deoptimisation (the JIT recompiling a kernel, more likely on a loaded machine) runs
      // code in the interpreter for a moment, which allocates: that is the JIT's, not the
      // program's. In a fresh JVM the first windows still see it as the JIT settles (the CNN
      // measured 912, 1,272, 4,264, then 0 bytes; W1 on a machine whose two cores were busy with
      // other work 1,672, 1,872, 1,184, 2,872, then 0, with or without the split product, and one
      // CI run five such windows). Up to ten windows; one of 1,000 steps must allocate exactly 0,
      // which no program allocating anything per step could do.
      long allocated = -1;
      List<Long> windows = new ArrayList<>();
      for (int attempt = 0; attempt < 10 && allocated != 0; attempt++) {
        long before = bean.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 1_000; i++) step.run(a, b);
        allocated = bean.getCurrentThreadAllocatedBytes() - before;
        windows.add(allocated);
      }
      String seen = warmUp + " warm-up steps, then windows of " + windows + " bytes";
      System.out.println(what + ": " + seen);
      assertEquals(0, allocated, what + ": heap bytes over 1,000 steps (" + seen + ")");
      assertEquals(slabs, MemoryStats.slabCount(), what + ": no native allocation either");
    }
  }
}
