package dev.panagrad.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.random.RngConformance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * The conformance runner: checks the library against files of cases computed by PyTorch (ops,
 * random streams, reprs, training runs). The kind of each case is known from its content, so files
 * may have any name. Prints each failure with its id and worst mismatch, then {@code N passed, M
 * failed}; exits 0 only when nothing failed. A case the library cannot run fails.
 */
public final class Conformance {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The outcome of one case. */
  public record Result(String id, boolean passed, String detail) {}

  private Conformance() {}

  public static void main(String[] args) throws IOException {
    List<Path> files = new ArrayList<>();
    for (String a : args) {
      Path p = Path.of(a);
      if (Files.isDirectory(p)) {
        try (Stream<Path> s = Files.list(p)) {
          s.filter(f -> f.toString().endsWith(".jsonl") || f.toString().endsWith(".json"))
              .sorted()
              .forEach(files::add);
        }
      } else {
        files.add(p);
      }
    }
    int passed = 0, failed = 0;
    for (Path f : files) {
      for (Result r : runFile(f)) {
        if (r.passed()) {
          passed++;
        } else {
          failed++;
          System.out.println("FAIL " + r.id() + ": " + r.detail());
        }
      }
    }
    System.out.println(passed + " passed, " + failed + " failed");
    System.exit(failed == 0 ? 0 : 1);
  }

  /** Every case of one file: a .jsonl of cases, or a single .json case. */
  public static List<Result> runFile(Path file) throws IOException {
    List<Result> out = new ArrayList<>();
    String name = file.getFileName().toString();
    if (name.endsWith(".jsonl")) {
      int lineNo = 0;
      for (String line : Files.readAllLines(file)) {
        lineNo++;
        if (line.isBlank()) continue;
        out.add(runCase(JSON.readTree(line), name + ":" + lineNo));
      }
    } else {
      JsonNode c = JSON.readTree(file.toFile());
      if (c.has("tensors") && c.has("model")) {
        try {
          out.add(TrainingConformance.linearInit(c, file, "linear_init " + name));
        } catch (IOException | RuntimeException e) {
          out.add(new Result("linear_init " + name, false, e.toString()));
        }
      } else {
        out.add(runCase(c, name));
      }
    }
    return out;
  }

  /** Runs one case of whatever kind its fields say it is. */
  public static Result runCase(JsonNode c, String where) {
    String id = c.has("id") ? c.get("id").asText() : where;
    try {
      if (c.has("calls")) return rng(c, "rng seed " + c.get("seed").asLong());
      if (c.has("repr")) return repr(c, "repr " + id);
      if (c.has("op")) return op(c, id);
      if (c.has("losses")) return TrainingConformance.training(c, "training " + where);
      return new Result(where, false, "unsupported case");
    } catch (IOException | RuntimeException e) {
      return new Result(id, false, e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }

  static Result rng(JsonNode c, String id) {
    List<String> problems = RngConformance.check(c);
    return new Result(id, problems.isEmpty(), String.join("; ", problems));
  }

  static Result repr(JsonNode c, String id) {
    Tensor t = tensorOf(c);
    if (c.path("requires_grad").asBoolean(false)) t.requiresGrad_(true);
    String got = t.toString(), want = c.get("repr").asText();
    return new Result(id, got.equals(want), "expected\n" + want + "\ngot\n" + got);
  }

  /** A tensor from a case's {@code shape}, {@code dtype} and {@code data} fields. */
  public static Tensor tensorOf(JsonNode n) {
    DType dt = dtype(n.get("dtype").asText());
    long[] shape = OpRegistry.longs(n.get("shape"));
    JsonNode data = n.get("data");
    double[] values = new double[data.size()];
    for (int i = 0; i < values.length; i++) values[i] = number(data.get(i));
    if (dt == DType.INT64) {
      Tensor t = Torch.zeros(DType.INT64, shape);
      for (int i = 0; i < values.length; i++) {
        t.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i, data.get(i).asLong());
      }
      return t;
    }
    return Torch.tensor(values, dt, shape);
  }

  static double number(JsonNode v) {
    if (v.isTextual()) {
      return switch (v.asText()) {
        case "nan" -> Double.NaN;
        case "inf" -> Double.POSITIVE_INFINITY;
        case "-inf" -> Double.NEGATIVE_INFINITY;
        default -> Double.parseDouble(v.asText());
      };
    }
    if (v.isBoolean()) return v.asBoolean() ? 1 : 0;
    return v.asDouble();
  }

  static DType dtype(String s) {
    return switch (s) {
      case "float32" -> DType.FLOAT32;
      case "float64" -> DType.FLOAT64;
      case "int64" -> DType.INT64;
      case "bool" -> DType.BOOL;
      default -> throw new IllegalArgumentException("unknown dtype " + s);
    };
  }

  /** Forward value, grad_fn name, and every input's gradient, within the case's tolerance. */
  static Result op(JsonNode c, String id) {
    String name = c.get("op").asText();
    OpRegistry.Call call = OpRegistry.OPS.get(name);
    if (call == null) return new Result(id, false, "unsupported: " + name);
    JsonNode ins = c.get("inputs");
    Tensor[] in = new Tensor[ins.size()];
    for (int i = 0; i < in.length; i++) {
      in[i] = tensorOf(ins.get(i));
      if (ins.get(i).path("requires_grad").asBoolean(false)) in[i].requiresGrad_(true);
    }
    double rtol = c.get("tol").get("rtol").asDouble(), atol = c.get("tol").get("atol").asDouble();
    Tensor out = call.apply(in, c.get("attrs"));
    String bad = compare("output", out, c.get("output"), rtol, atol);
    if (bad != null) return new Result(id, false, bad);
    String gradFn = out.gradFn() == null ? "None" : out.gradFn().name();
    if (!gradFn.equals(c.get("grad_fn").asText())) {
      return new Result(id, false, "grad_fn " + gradFn + ", expected " + c.get("grad_fn").asText());
    }
    out.backward(tensorOf(c.get("grad_output")));
    JsonNode grads = c.get("grads");
    for (int i = 0; i < in.length; i++) {
      JsonNode want = grads.get(i);
      if (want == null || want.isNull()) continue;
      if (in[i].grad() == null) return new Result(id, false, "input " + i + " got no gradient");
      bad = compare("grad of input " + i, in[i].grad(), want, rtol, atol);
      if (bad != null) return new Result(id, false, bad);
    }
    return new Result(id, true, "");
  }

  /** Null when {@code t} matches the expected tensor, else the worst mismatch. */
  static String compare(String what, Tensor t, JsonNode want, double rtol, double atol) {
    long[] shape = OpRegistry.longs(want.get("shape"));
    if (!Arrays.equals(t.shape(), shape)) {
      return what + " shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape);
    }
    double[] got = t.toDoubleArray();
    JsonNode data = want.get("data");
    double worst = 0;
    int at = -1;
    for (int i = 0; i < got.length; i++) {
      double e = number(data.get(i)), g = got[i];
      boolean ok =
          (Double.isNaN(e) && Double.isNaN(g))
              || e == g
              || Math.abs(g - e) <= atol + rtol * Math.abs(e);
      if (!ok) {
        double err =
            Double.isNaN(g)
                ? Double.POSITIVE_INFINITY
                : Math.abs(g - e) - (atol + rtol * Math.abs(e));
        if (at < 0 || err > worst) {
          worst = err;
          at = i;
        }
      }
    }
    if (at < 0) return null;
    return what + " index " + at + ": got " + got[at] + ", expected " + number(data.get(at));
  }
}
