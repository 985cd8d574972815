package dev.panagrad.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;

/**
 * Turns JMH's JSON results (and PyTorch's, from bench/pytorch/workloads.py) into the {@code
 * workloads} section of bench/results/latest.json, a table on standard output, and a PNG bar chart
 * of the ratios. Other sections of latest.json are kept as they are.
 *
 * <p>Usage: {@code Report OUT_JSON OUT_PNG JMH_JSON... [--pytorch PYTORCH_JSON...] [--c
 * C_JSON...]}, where C_JSON is W5's C baseline (bench/c/sgemm.c: cblas_sgemm of the same library).
 */
public final class Report {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How a workload is read from JMH: the benchmark, its parameters, and the unit maths. */
  record Workload(String name, String benchmark, String params, String unit) {}

  static final List<Workload> WORKLOADS =
      List.of(
          new Workload("W1", "TrainingStepBench.w1TwoLayerNet", "", "us/step"),
          new Workload("W2", "TrainingStepBench.w2Mlp", "", "us/step"),
          new Workload("W3", "TrainingStepBench.w3TinyOps", "", "us/op"),
          new Workload("W4", "ElementwiseBench.addOut", "", "GB/s"),
          new Workload("W5", "GemmBench.sgemm", "1024x1024x1024", "GFLOP/s"),
          new Workload("W7", "TrainingStepBench.w7Cnn", "", "us/step"));

  private Report() {}

  /**
   * The median of the samples of every C baseline run (scripts/bench runs it in halves before and
   * after the Java side, so both see the machine at the speeds the Java run saw).
   */
  static double medianOfSamples(List<JsonNode> runs) {
    List<Double> all = new ArrayList<>();
    for (JsonNode run : runs) run.path("samples").forEach(v -> all.add(v.asDouble()));
    if (all.isEmpty()) throw new IllegalArgumentException("a C baseline run has no samples");
    return median(all);
  }

  public static void main(String[] args) throws IOException {
    Path outJson = Path.of(args[0]), outPng = Path.of(args[1]);
    List<JsonNode> jmh = new ArrayList<>();
    Map<String, JsonNode> pytorch = new LinkedHashMap<>();
    String pytorchVersion = null;
    List<JsonNode> cBaselines = new ArrayList<>();
    boolean py = false, c = false;
    for (String a : Arrays.asList(args).subList(2, args.length)) {
      if (a.equals("--pytorch") || a.equals("--c")) {
        py = a.equals("--pytorch");
        c = a.equals("--c");
        continue;
      }
      JsonNode n = JSON.readTree(Path.of(a).toFile());
      if (c) {
        cBaselines.add(n);
      } else if (py) {
        pytorchVersion = n.path("version").asText(null);
        n.path("workloads").properties().forEach(e -> pytorch.put(e.getKey(), e.getValue()));
      } else {
        n.forEach(jmh::add);
      }
    }
    ObjectNode root =
        Files.exists(outJson)
            ? (ObjectNode) JSON.readTree(outJson.toFile())
            : JSON.createObjectNode();
    // A run of some workloads (scripts/bench W3) replaces their entries and keeps the others'.
    ObjectNode section =
        root.get("workloads") instanceof ObjectNode kept ? kept : JSON.createObjectNode();
    StringBuilder table = new StringBuilder();
    table.append(
        String.format(
            "%-4s %-8s %14s %14s %8s %14s%n",
            "", "unit", "panagrad", "pytorch", "ratio", "alloc B/op"));
    for (Workload w : WORKLOADS) {
      JsonNode r = find(jmh, w);
      if (r == null) continue;
      double ours =
          convert(
              w,
              median(r.path("primaryMetric")),
              r.path("primaryMetric").path("scoreUnit").asText());
      JsonNode alloc = r.path("secondaryMetrics").path("gc.alloc.rate.norm");
      Double pt =
          pytorch.containsKey(w.name()) ? pytorch.get(w.name()).path("median").asDouble() : null;
      // ratio > 1: Panagrad is faster (less time, or more throughput)
      Double ratio = pt == null ? null : w.unit().startsWith("us") ? pt / ours : ours / pt;
      ObjectNode o = section.putObject(w.name());
      o.put("unit", w.unit());
      o.put("panagrad", ours);
      if (pt == null) o.putNull("pytorch");
      else o.put("pytorch", pt);
      if (ratio == null) o.putNull("ratio");
      else o.put("ratio", ratio);
      Double allocPerOp =
          alloc.isMissingNode() ? null : allocPerOp(w, alloc.path("score").asDouble());
      if (allocPerOp == null) o.putNull("alloc_bytes_per_op");
      else o.put("alloc_bytes_per_op", allocPerOp);
      table.append(
          String.format(
              "%-4s %-8s %14.3f %14s %8s %14s%n",
              w.name(),
              w.unit(),
              ours,
              pt == null ? "-" : String.format("%.3f", pt),
              ratio == null ? "-" : String.format("%.2fx", ratio),
              allocPerOp == null ? "-" : String.format("%.1f", allocPerOp)));
    }
    JsonNode baseline = findBenchmark(jmh, "ElementwiseBench.plainLoopAdd", "");
    if (baseline != null && section.has("W4")) {
      double plain =
          convert(
              WORKLOADS.get(3),
              median(baseline.path("primaryMetric")),
              baseline.path("primaryMetric").path("scoreUnit").asText());
      ((ObjectNode) section.get("W4")).put("plain_loop", plain);
      table.append(
          String.format(
              "W4 plain Java loop: %.3f GB/s (panagrad / plain = %.2fx)%n",
              plain, section.get("W4").get("panagrad").asDouble() / plain));
    }
    if (!cBaselines.isEmpty() && section.has("W5")) {
      ObjectNode w5 = (ObjectNode) section.get("W5");
      double cGflops = medianOfSamples(cBaselines);
      w5.put("c_openblas", cGflops);
      w5.put("ratio_c", w5.get("panagrad").asDouble() / cGflops);
      table.append(
          String.format(
              "W5 C cblas_sgemm, same library and threads: %.3f GFLOP/s (panagrad / C = %.2fx)%n",
              cGflops, w5.get("ratio_c").asDouble()));
    }
    root.set("workloads", section);
    if (pytorchVersion != null) root.put("pytorch_version", pytorchVersion);
    Files.createDirectories(outJson.toAbsolutePath().getParent());
    JSON.writerWithDefaultPrettyPrinter().writeValue(outJson.toFile(), root);
    System.out.print(table);
    if (pytorchVersion != null) System.out.println("compared against PyTorch " + pytorchVersion);
    Map<String, Double> ratios = new LinkedHashMap<>();
    for (Workload w : WORKLOADS) {
      JsonNode ratio = section.path(w.name()).path("ratio");
      if (ratio.isNumber()) ratios.put(w.name(), ratio.asDouble());
    }
    if (!ratios.isEmpty()) chart(ratios, outPng);
  }

  static JsonNode find(List<JsonNode> jmh, Workload w) {
    return findBenchmark(jmh, w.benchmark(), w.params());
  }

  static JsonNode findBenchmark(List<JsonNode> jmh, String suffix, String params) {
    for (JsonNode r : jmh) {
      if (!r.path("benchmark").asText().endsWith(suffix)) continue;
      JsonNode p = r.path("params");
      if (!params.isEmpty() && !params.equals(p.path("mkn").asText())) continue;
      return r;
    }
    return null;
  }

  /** The median of every measured iteration (JMH's score is their mean). */
  static double median(JsonNode metric) {
    List<Double> all = new ArrayList<>();
    metric.path("rawData").forEach(fork -> fork.forEach(v -> all.add(v.asDouble())));
    if (all.isEmpty()) return metric.path("score").asDouble();
    return median(all);
  }

  /** The median of non-empty {@code all} (sorts it). */
  static double median(List<Double> all) {
    all.sort(Double::compare);
    int n = all.size();
    return n % 2 == 1 ? all.get(n / 2) : (all.get(n / 2 - 1) + all.get(n / 2)) / 2;
  }

  /** From JMH's time per operation to the workload's unit. */
  static double convert(Workload w, double perOp, String jmhUnit) {
    double seconds =
        perOp
            * switch (jmhUnit) {
              case "us/op" -> 1e-6;
              case "ms/op" -> 1e-3;
              case "ns/op" -> 1e-9;
              default -> 1;
            };
    return switch (w.unit()) {
      case "us/step" -> seconds * 1e6;
      case "us/op" -> seconds * 1e6 / Workloads.W3.OPS;
      case "GB/s" -> 16L * 1024 * 1024 * 12 / seconds / 1e9;
      case "GFLOP/s" -> 2.0 * 1024 * 1024 * 1024 / seconds / 1e9;
      default -> throw new IllegalArgumentException(w.unit());
    };
  }

  /**
   * From JMH's heap bytes per benchmark call ({@code -prof gc}) to bytes per operation of the
   * workload's unit: a W3 call is a step of {@link Workloads.W3#OPS} tiny ops; every other call is
   * one step, one elementwise pass (W4) or one product (W5).
   */
  static double allocPerOp(Workload w, double bytesPerCall) {
    return w.unit().equals("us/op") ? bytesPerCall / Workloads.W3.OPS : bytesPerCall;
  }

  static void chart(Map<String, Double> ratios, Path png) throws IOException {
    CategoryChart chart =
        new CategoryChartBuilder()
            .width(800)
            .height(450)
            .title("Panagrad vs PyTorch (higher is better)")
            .xAxisTitle("workload")
            .yAxisTitle("speed ratio")
            .build();
    chart.getStyler().setLegendVisible(false);
    chart.addSeries("ratio", new ArrayList<>(ratios.keySet()), new ArrayList<>(ratios.values()));
    Files.createDirectories(png.toAbsolutePath().getParent());
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
