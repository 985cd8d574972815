package dev.panagrad.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panagrad.Tensor;
import dev.panagrad.memory.MemoryStats;
import dev.panagrad.replay.TrainStep;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * Heap and native allocation per training step, eager and replayed ({@link TrainStep}), for W1, W2
 * and W7: heap bytes per step from {@code ThreadMXBean.getCurrentThreadAllocatedBytes} (this
 * thread's allocations, after warm-up), native slab allocations per step after warm-up, and steps
 * per second of each. Writes the {@code alloc} section of bench/results/latest.json (other sections
 * are kept) and prints a table. Steps per second are medians of alternating eager and replay
 * windows (the same machine load for both); JMH's {@code ReplayBench} is the measurement of speed.
 *
 * <p>Usage: {@code AllocReport OUT_JSON [REPLAY_BENCH_JMH_JSON] [--quick]}
 */
public final class AllocReport {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  /** A workload: its eager step, the body a TrainStep captures, its inputs, steps to measure. */
  record Case(String name, DoubleSupplier eager, TrainStep.Body body, Tensor[] inputs, int steps) {}

  /** What was measured over {@code steps} steps after warm-up. */
  record Figures(double bytesPerStep, double slabsPerStep, double stepsPerSecond) {}

  /** Alternating eager and replay windows for the speed figures. */
  private static final int ROUNDS = 5;

  private AllocReport() {}

  private static double median(double[] v) {
    double[] c = v.clone();
    java.util.Arrays.sort(c);
    return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
  }

  public static void main(String[] args) throws IOException {
    Path out = Path.of(args[0]);
    boolean quick = List.of(args).contains("--quick");
    int scale = quick ? 4 : 1;
    Workloads.W1 w1e = new Workloads.W1(), w1r = new Workloads.W1();
    Workloads.W2 w2e = new Workloads.W2(), w2r = new Workloads.W2();
    Workloads.W7 w7e = new Workloads.W7(), w7r = new Workloads.W7();
    List<Case> cases =
        List.of(
            new Case("W1", w1e::step, w1r::body, w1r.inputs(), 1_000 / scale),
            new Case("W2", w2e::step, w2r::body, w2r.inputs(), 200 / scale),
            new Case("W7", w7e::step, w7r::body, w7r.inputs(), 20 / scale));
    JsonNode jmh =
        args.length > 1 && !args[1].equals("--quick")
            ? JSON.readTree(Path.of(args[1]).toFile())
            : null;
    ObjectNode section = JSON.createObjectNode();
    StringBuilder table = new StringBuilder();
    table.append(
        String.format(
            "%-4s %16s %16s %14s %14s %14s%n",
            "", "eager B/step", "replay B/step", "native/step", "eager steps/s", "replay steps/s"));
    for (Case eager : cases) {
      Figures e = steadyState(eager.steps(), eager.eager());
      ObjectNode o = section.putObject(eager.name());
      o.put("eager_bytes_per_step", e.bytesPerStep());
      o.put("eager_steps_per_s", e.stepsPerSecond());
      Figures r = null;
      String error = null;
      try (TrainStep step = TrainStep.capture(eager.body(), eager.inputs())) {
        Tensor[] in = eager.inputs();
        DoubleSupplier run = in.length == 2 ? () -> step.run(in[0], in[1]) : () -> step.run(in);
        r = steadyState(eager.steps(), run);
        // Speed in alternating windows, so eager and replay see the same machine load.
        double[] eagerRate = new double[ROUNDS], replayRate = new double[ROUNDS];
        int window = Math.max(2, eager.steps() / ROUNDS);
        for (int k = 0; k < ROUNDS; k++) {
          eagerRate[k] = window(window, eager.eager()).stepsPerSecond();
          replayRate[k] = window(window, run).stepsPerSecond();
        }
        e = new Figures(e.bytesPerStep(), e.slabsPerStep(), median(eagerRate));
        r = new Figures(r.bytesPerStep(), r.slabsPerStep(), median(replayRate));
        o.put("eager_steps_per_s", e.stepsPerSecond());
      } catch (IllegalStateException ex) {
        error = ex.getMessage();
      }
      if (r == null) {
        o.putNull("replay_bytes_per_step");
        o.putNull("replay_steps_per_s");
        o.put("native_allocs_per_step", e.slabsPerStep());
        o.put("replay_error", error);
      } else {
        o.put("replay_bytes_per_step", r.bytesPerStep());
        o.put("replay_steps_per_s", r.stepsPerSecond());
        o.put("native_allocs_per_step", r.slabsPerStep());
        o.put("eager_native_allocs_per_step", e.slabsPerStep());
      }
      table.append(
          String.format(
              "%-4s %16.1f %16s %14s %14.1f %14s%n",
              eager.name(),
              e.bytesPerStep(),
              r == null ? "-" : String.format("%.1f", r.bytesPerStep()),
              String.format("%.3f", r == null ? e.slabsPerStep() : r.slabsPerStep()),
              e.stepsPerSecond(),
              r == null ? "-" : String.format("%.1f", r.stepsPerSecond())));
      if (jmh != null) addJmh(o, eager.name(), jmh, table);
      if (error != null)
        table.append("     ").append(eager.name()).append(": ").append(error).append('\n');
    }
    ObjectNode root =
        Files.exists(out) ? (ObjectNode) JSON.readTree(out.toFile()) : JSON.createObjectNode();
    root.set("alloc", section);
    Files.createDirectories(out.toAbsolutePath().getParent());
    JSON.writerWithDefaultPrettyPrinter().writeValue(out.toFile(), root);
    System.out.print(table);
  }

  /**
   * Adds ReplayBench's medians (microseconds per step, eager and replayed, one JMH run) and their
   * ratio to the workload's entry.
   */
  private static void addJmh(ObjectNode o, String name, JsonNode results, StringBuilder table) {
    String w = name.toLowerCase(java.util.Locale.ROOT);
    List<JsonNode> jmh = new java.util.ArrayList<>();
    results.forEach(jmh::add);
    JsonNode eager = Report.findBenchmark(jmh, "ReplayBench." + w + "Eager", "");
    JsonNode replay = Report.findBenchmark(jmh, "ReplayBench." + w + "Replay", "");
    if (eager == null || replay == null) return;
    double e = Report.median(eager.path("primaryMetric"));
    double r = Report.median(replay.path("primaryMetric"));
    o.put("jmh_eager_us_per_step", e);
    o.put("jmh_replay_us_per_step", r);
    o.put("jmh_speedup", e / r);
    JsonNode alloc = replay.path("secondaryMetrics").path("gc.alloc.rate.norm");
    if (alloc.isMissingNode()) o.putNull("jmh_replay_alloc_rate_norm");
    else o.put("jmh_replay_alloc_rate_norm", alloc.path("score").asDouble());
    table.append(
        String.format(
            "     %s JMH (one run): eager %.1f us/step, replay %.1f us/step, %.2fx; replay"
                + " gc.alloc.rate.norm: %s%n",
            name,
            e,
            r,
            e / r,
            alloc.isMissingNode() ? "absent (0 B)" : alloc.path("score").asText()));
    JsonNode harness = Report.findBenchmark(jmh, "ReplayBench.harnessOnly", "");
    if (alloc.isMissingNode() || harness == null) return;
    double replayBytes = bytesPerIteration(replay);
    double harnessBytes = bytesPerIteration(harness);
    double above = (replayBytes - harnessBytes) / (iterationMicros(replay) / r);
    o.put("jmh_replay_bytes_per_iteration", replayBytes);
    o.put("jmh_harness_bytes_per_iteration", harnessBytes);
    o.put("jmh_replay_bytes_per_step_above_harness", above);
    table.append(
        String.format(
            "     %s JMH: replay allocated %.0f B per iteration, JMH's harness alone %.0f B"
                + " (harnessOnly): %.2f B per step above the harness%n",
            name, replayBytes, harnessBytes, above));
  }

  /**
   * Bytes JMH's -prof gc counted in one measured iteration (median over iterations): it counts
   * every thread, and its own harness allocates a few kilobytes per iteration whatever the
   * benchmark does, so gc.alloc.rate.norm is never absent for a benchmark of milliseconds an op.
   * Comparing bytes per iteration with {@code ReplayBench.harnessOnly}'s separates the two.
   */
  private static double bytesPerIteration(JsonNode benchmark) {
    JsonNode times = benchmark.path("primaryMetric").path("rawData");
    JsonNode norms = benchmark.path("secondaryMetrics").path("gc.alloc.rate.norm").path("rawData");
    double iteration = iterationMicros(benchmark);
    List<Double> perIteration = new java.util.ArrayList<>();
    for (int f = 0; f < times.size(); f++) {
      for (int i = 0; i < times.get(f).size(); i++) {
        double opsInIteration = iteration / times.get(f).get(i).asDouble();
        perIteration.add(norms.get(f).get(i).asDouble() * opsInIteration);
      }
    }
    return Report.median(perIteration);
  }

  /** A measured iteration's length in microseconds (JMH writes it as "2 s"). */
  private static double iterationMicros(JsonNode benchmark) {
    String[] t = benchmark.path("measurementTime").asText().split(" ");
    double v = Double.parseDouble(t[0]);
    return switch (t[1]) {
      case "s" -> v * 1e6;
      case "ms" -> v * 1e3;
      case "us" -> v;
      default -> throw new IllegalArgumentException("JMH iteration time " + t[1]);
    };
  }

  /** Windows measured after warm-up; the least-allocating one is the steady state. */
  private static final int WINDOWS = 5;

  /**
   * The steady state of {@code step}: after {@code steps} warm-up steps, the window of {@code
   * steps} steps that allocated least of {@link #WINDOWS} (stopping at one that allocated nothing).
   * Until C2 has compiled them, Vector API kernels box their vectors, and a recompilation can fall
   * inside any one window; what every window allocates is what a step allocates.
   */
  static Figures steadyState(int steps, DoubleSupplier step) {
    for (int i = 0; i < steps; i++) step.getAsDouble();
    Figures best = null;
    for (int w = 0; w < WINDOWS && (best == null || best.bytesPerStep() > 0); w++) {
      Figures f = window(steps, step);
      if (best == null || f.bytesPerStep() < best.bytesPerStep()) best = f;
    }
    return best;
  }

  private static Figures window(int steps, DoubleSupplier step) {
    long slabs = MemoryStats.slabCount();
    long bytes = THREADS.getCurrentThreadAllocatedBytes();
    long t0 = System.nanoTime();
    for (int i = 0; i < steps; i++) step.getAsDouble();
    long t1 = System.nanoTime();
    long allocated = THREADS.getCurrentThreadAllocatedBytes() - bytes;
    return new Figures(
        (double) allocated / steps,
        (double) (MemoryStats.slabCount() - slabs) / steps,
        steps / ((t1 - t0) / 1e9));
  }
}
