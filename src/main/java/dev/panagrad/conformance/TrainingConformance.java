package dev.panagrad.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.conformance.Conformance.Result;
import dev.panagrad.data.Digits;
import dev.panagrad.data.TensorDataset;
import dev.panagrad.io.Safetensors;
import dev.panagrad.memory.Scope;
import dev.panagrad.nn.Linear;
import dev.panagrad.nn.Module;
import dev.panagrad.nn.ReLU;
import dev.panagrad.nn.Sequential;
import dev.panagrad.optim.Adam;
import dev.panagrad.optim.Optimizer;
import dev.panagrad.optim.SGD;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The training-run and nn.Linear-init cases of the conformance files. */
final class TrainingConformance {
  private TrainingConformance() {}

  /** Linear(64, h1), ReLU, ..., Linear(hk, 10), built from the default generator. */
  static Sequential mlp(JsonNode hidden) {
    var model = new Sequential();
    long in = 64;
    for (JsonNode h : hidden) {
      model.add(new Linear(in, h.asLong())).add(new ReLU());
      in = h.asLong();
    }
    return model.add(new Linear(in, 10));
  }

  /**
   * A whole training run: manualSeed(seed), the model, the optimizer, then {@code randperm(n)}
   * once; batch k is {@code perm[(k*batch) % n:][:batch]}, or {@code perm[:batch]} when that is
   * short; each step's cross-entropy loss must match within {@code tol.rtol}.
   */
  static Result training(JsonNode c, String id) throws IOException {
    if (!c.path("data").asText().equals("digits")) {
      return new Result(id, false, "unsupported data " + c.path("data").asText());
    }
    TensorDataset digits = Digits.load();
    Tensor x = digits.tensor(0).mul(c.path("inputs_scaled_by").asDouble(1.0 / 16));
    Tensor y = digits.tensor(1);
    TensorDataset data = new TensorDataset(x, y);
    long n = data.size();
    int batch = c.get("batch").asInt(), steps = c.get("steps").asInt();
    double rtol = c.get("tol").get("rtol").asDouble();
    Torch.manualSeed(c.get("seed").asLong());
    Module model = mlp(c.get("hidden"));
    double lr = c.get("lr").asDouble();
    Optimizer opt =
        switch (c.get("optim").asText()) {
          case "sgd" -> new SGD(model.parameters(), lr, c.path("momentum").asDouble(0));
          case "adam" -> new Adam(model.parameters(), lr);
          default -> null;
        };
    if (opt == null) return new Result(id, false, "unsupported optimizer " + c.get("optim"));
    long[] perm = Torch.randperm(n).toLongArray();
    JsonNode want = c.get("losses");
    for (int k = 0; k < steps; k++) {
      long start = ((long) k * batch) % n;
      if (start + batch > n) start = 0;
      long[] idx = java.util.Arrays.copyOfRange(perm, (int) start, (int) start + batch);
      try (var step = Scope.open()) {
        Tensor[] b = data.rows(idx);
        opt.zeroGrad();
        Tensor loss = F.crossEntropy(model.forward(b[0]), b[1]);
        double got = loss.item(), expected = want.get(k).asDouble();
        if (Math.abs(got - expected) > rtol * Math.abs(expected)) {
          return new Result(id, false, "step " + k + ": loss " + got + ", expected " + expected);
        }
        loss.backward();
        opt.step();
      }
    }
    return new Result(id, true, "");
  }

  private static final Pattern LAYER = Pattern.compile("(Linear)\\((\\d+), (\\d+)\\)|(ReLU)\\(\\)");

  /** A {@code Sequential(Linear(a, b), ReLU(), ...)} from its description. */
  static Sequential parseModel(String s) {
    if (!s.startsWith("Sequential(")) throw new IllegalArgumentException("unsupported model " + s);
    var model = new Sequential();
    Matcher m = LAYER.matcher(s);
    while (m.find()) {
      if (m.group(1) != null) {
        model.add(new Linear(Long.parseLong(m.group(2)), Long.parseLong(m.group(3))));
      } else {
        model.add(new ReLU());
      }
    }
    return model;
  }

  /**
   * nn.Linear's default init: the model built after manualSeed(seed) holds exactly the case's
   * values; the safetensors file beside the case reads to the same values and loads into a model.
   */
  static Result linearInit(JsonNode c, Path file, String id) throws IOException {
    Torch.manualSeed(c.get("seed").asLong());
    Sequential model = parseModel(c.get("model").asText());
    String bad = compareExact("model", model.stateDict(), c.get("tensors"));
    if (bad != null) return new Result(id, false, bad);
    String name = file.getFileName().toString().replaceFirst("\\.json$", ".safetensors");
    Path st = file.resolveSibling(name);
    if (!Files.exists(st)) return new Result(id, false, "missing " + name + " beside the case");
    Map<String, Tensor> loaded = Safetensors.load(st);
    bad = compareExact(name, loaded, c.get("tensors"));
    if (bad != null) return new Result(id, false, bad);
    Torch.manualSeed(c.get("seed").asLong() + 1);
    Sequential other = parseModel(c.get("model").asText());
    other.loadStateDict(loaded);
    bad = compareExact("loaded model", other.stateDict(), c.get("tensors"));
    if (bad != null) return new Result(id, false, bad);
    Map<String, Tensor> back = Safetensors.fromBytes(Safetensors.toBytes(loaded), "written");
    bad = compareExact("written and read back", back, c.get("tensors"));
    return new Result(id, bad == null, bad == null ? "" : bad);
  }

  private static String compareExact(String what, Map<String, Tensor> got, JsonNode want) {
    if (got.size() != want.size()) {
      return what + ": " + got.keySet() + ", expected " + want.size() + " tensors";
    }
    for (var it = want.fields(); it.hasNext(); ) {
      var e = it.next();
      Tensor t = got.get(e.getKey());
      if (t == null) return what + ": no tensor " + e.getKey();
      long[] shape = OpRegistry.longs(e.getValue().get("shape"));
      if (!java.util.Arrays.equals(t.shape(), shape)) {
        return what + " " + e.getKey() + ": shape " + java.util.Arrays.toString(t.shape());
      }
      float[] v = t.toFloatArray();
      JsonNode data = e.getValue().get("data");
      for (int i = 0; i < v.length; i++) {
        if (v[i] != (float) data.get(i).asDouble()) {
          return what + " " + e.getKey() + "[" + i + "]: " + v[i] + ", expected " + data.get(i);
        }
      }
    }
    return null;
  }
}
