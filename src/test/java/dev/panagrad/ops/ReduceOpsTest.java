package dev.panagrad.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panagrad.DType;
import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Autograd;
import dev.panagrad.conformance.OpCall;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Reductions, softmax, losses and indexing against PyTorch 1.13, and a float64 gradcheck. */
class ReduceOpsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Set<String> OPS =
      Set.of(
          "amax",
          "amin",
          "max",
          "min",
          "norm",
          "var",
          "logsumexp",
          "softmax",
          "log_softmax",
          "mse_loss",
          "l1_loss",
          "binary_cross_entropy_with_logits",
          "binary_cross_entropy",
          "nll_loss",
          "cross_entropy",
          "index_select",
          "gather",
          "embedding");

  // ------------------------------------------------------------ conformance

  @TestFactory
  Stream<DynamicTest> conformance() throws IOException {
    Path file = Path.of("..", "shared", "conformance", "ops.jsonl");
    if (!Files.isRegularFile(file)) {
      String dir = System.getProperty("panagrad.conformance.dir");
      if (dir != null) file = Path.of(dir, "ops.jsonl");
    }
    if (!Files.isRegularFile(file)) fail("ops.jsonl not found at " + file);
    List<DynamicTest> tests = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      if (line.isBlank()) continue;
      JsonNode c = JSON.readTree(line);
      if (!OPS.contains(c.get("op").asText())) continue;
      tests.add(DynamicTest.dynamicTest(c.get("id").asText(), () -> runCase(c)));
    }
    assertFalse(tests.isEmpty());
    return tests.stream();
  }

  static DType dtype(String name) {
    return switch (name) {
      case "float32" -> DType.FLOAT32;
      case "float64" -> DType.FLOAT64;
      case "int64" -> DType.INT64;
      case "bool" -> DType.BOOL;
      default -> throw new IllegalArgumentException(name);
    };
  }

  static double num(JsonNode n) {
    if (n.isTextual()) {
      return switch (n.asText()) {
        case "nan" -> Double.NaN;
        case "inf" -> Double.POSITIVE_INFINITY;
        case "-inf" -> Double.NEGATIVE_INFINITY;
        default -> Double.parseDouble(n.asText());
      };
    }
    return n.asDouble();
  }

  static Tensor tensor(JsonNode t) {
    long[] shape = new long[t.get("shape").size()];
    for (int i = 0; i < shape.length; i++) shape[i] = t.get("shape").get(i).asLong();
    JsonNode d = t.get("data");
    double[] data = new double[d.size()];
    for (int i = 0; i < data.length; i++) data[i] = num(d.get(i));
    Tensor out = Torch.tensor(data, dtype(t.get("dtype").asText()), shape);
    if (t.path("requires_grad").asBoolean(false)) out.requiresGrad_(true);
    return out;
  }

  static void assertClose(JsonNode expected, Tensor actual, JsonNode tol, String what) {
    long[] shape = new long[expected.get("shape").size()];
    for (int i = 0; i < shape.length; i++) shape[i] = expected.get("shape").get(i).asLong();
    assertTrue(
        Arrays.equals(shape, actual.shape()),
        what + ": shape " + Arrays.toString(actual.shape()) + " != " + Arrays.toString(shape));
    assertEquals(expected.get("dtype").asText(), actual.dtype().pyName(), what + ": dtype");
    double rtol = tol.get("rtol").asDouble(), atol = tol.get("atol").asDouble();
    double[] a = actual.toDoubleArray();
    JsonNode d = expected.get("data");
    for (int i = 0; i < a.length; i++) {
      double e = num(d.get(i));
      boolean ok =
          Double.isNaN(e)
              ? Double.isNaN(a[i])
              : e == a[i] || Math.abs(a[i] - e) <= atol + rtol * Math.abs(e);
      assertTrue(ok, what + "[" + i + "]: " + a[i] + " vs expected " + e);
    }
  }

  static void runCase(JsonNode c) {
    JsonNode ins = c.get("inputs");
    Tensor[] in = new Tensor[ins.size()];
    for (int i = 0; i < in.length; i++) in[i] = tensor(ins.get(i));
    Tensor out = OpCall.call(c.get("op").asText(), in, c.get("attrs"));
    JsonNode tol = c.get("tol");
    assertClose(c.get("output"), out, tol, "output");
    assertNotNull(out.gradFn(), "grad_fn");
    assertEquals(c.get("grad_fn").asText(), out.gradFn().name());
    out.backward(tensor(c.get("grad_output")));
    JsonNode grads = c.get("grads");
    for (int i = 0; i < in.length; i++) {
      JsonNode g = grads.get(i);
      if (g == null || g.isNull()) {
        assertNull(in[i].grad(), "grad of input " + i);
      } else {
        assertNotNull(in[i].grad(), "grad of input " + i);
        assertClose(g, in[i].grad(), tol, "grad " + i);
      }
    }
  }

  // ------------------------------------------------------------ gradcheck

  private static final Random RNG = new Random(7);

  static Tensor rand(double lo, double hi, long... shape) {
    int n = 1;
    for (long s : shape) n *= (int) s;
    double[] d = new double[n];
    for (int i = 0; i < n; i++) d[i] = lo + (hi - lo) * RNG.nextDouble();
    return Torch.tensor(d, DType.FLOAT64, shape);
  }

  static Tensor longs(long[] shape, long... v) {
    return Torch.tensor(v).reshape(shape);
  }

  /**
   * Central differences of sum(f(x) * gOut) against backward, for every float64 input, with eps
   * 1e-6, atol 1e-5, rtol 1e-3.
   */
  static void gradcheck(Function<Tensor[], Tensor> f, Tensor... inputs) {
    for (Tensor t : inputs) if (t.dtype() == DType.FLOAT64) t.requiresGrad_(true);
    Tensor out = f.apply(inputs);
    Tensor gOut = rand(-1, 1, out.shape());
    out.backward(gOut);
    double eps = 1e-6;
    for (int k = 0; k < inputs.length; k++) {
      Tensor x = inputs[k];
      if (x.dtype() != DType.FLOAT64) continue;
      double[] base = x.detach().toDoubleArray();
      double[] analytic = x.grad().toDoubleArray();
      for (int i = 0; i < base.length; i++) {
        double[] plus = base.clone(), minus = base.clone();
        plus[i] += eps;
        minus[i] -= eps;
        double fp = weighted(f, inputs, k, plus, gOut), fm = weighted(f, inputs, k, minus, gOut);
        double numeric = (fp - fm) / (2 * eps);
        assertTrue(
            Math.abs(analytic[i] - numeric) <= 1e-5 + 1e-3 * Math.abs(numeric),
            "input " + k + "[" + i + "]: analytic " + analytic[i] + " numeric " + numeric);
      }
    }
  }

  static double weighted(
      Function<Tensor[], Tensor> f, Tensor[] inputs, int k, double[] data, Tensor gOut) {
    try (var ng = Torch.noGrad()) {
      Tensor[] in = inputs.clone();
      for (int j = 0; j < in.length; j++) in[j] = in[j].detach();
      in[k] = Torch.tensor(data, DType.FLOAT64, inputs[k].shape());
      return f.apply(in).mul(gOut).sum().item();
    }
  }

  /**
   * A float32 sum over dims gives the same bits whatever the input's layout: contiguous runs take a
   * heap-copy path (branch-free TwoSum across outputs), other layouts the element-by-element
   * Neumaier loop, and both must round identically. Values span 12 orders of magnitude so the
   * compensation matters.
   */
  @Test
  void floatSumsAreTheSameBitsInEveryLayout() {
    Torch.manualSeed(3);
    Tensor x = Torch.randn(300, 70).mul(Torch.randn(300, 70).mul(6).exp());
    Tensor strided = x.t().contiguous().t(); // same values, strides (1, 300)
    for (long[] dims : new long[][] {{0}, {1}, {0, 1}}) {
      double[] want = strided.sum(dims, false).toDoubleArray();
      double[] got = x.sum(dims, false).toDoubleArray();
      for (int i = 0; i < want.length; i++) {
        assertEquals(
            Double.doubleToLongBits(want[i]),
            Double.doubleToLongBits(got[i]),
            "dims " + Arrays.toString(dims) + " index " + i);
      }
    }
  }

  /**
   * softmax and log_softmax give the same bits whatever the layout and the thread count: along the
   * last dim of a contiguous tensor they run the row kernel on the tensor's memory (rows split over
   * the pool past its threshold), along another dim they gather rows into doubles; both compute
   * each row alike. Values span +-40 so the exponentials differ widely.
   */
  @Test
  void softmaxIsTheSameBitsInEveryLayoutAndAtEveryThreadCount() {
    int before = Torch.getNumThreads();
    try {
      for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
        Torch.manualSeed(4);
        Tensor x = Torch.randn(dt, 300, 257).mul(10);
        assertTrue(300L * 257 >= dev.panagrad.kernels.Parallel.MIN_ITEM_WORK, "rows split");
        Tensor columns = x.t().contiguous(); // the rows of x along dim 0
        for (boolean log : new boolean[] {false, true}) {
          Torch.setNumThreads(1);
          double[] want = (log ? x.logSoftmax(1) : x.softmax(1)).toDoubleArray();
          Torch.setNumThreads(2);
          double[] split = (log ? x.logSoftmax(1) : x.softmax(1)).toDoubleArray();
          double[] gathered =
              (log ? columns.logSoftmax(0) : columns.softmax(0)).t().contiguous().toDoubleArray();
          for (int i = 0; i < want.length; i++) {
            String what = dt + (log ? " log_softmax" : " softmax") + " index " + i;
            assertEquals(Double.doubleToLongBits(want[i]), Double.doubleToLongBits(split[i]), what);
            assertEquals(
                Double.doubleToLongBits(want[i]), Double.doubleToLongBits(gathered[i]), what);
          }
        }
      }
    } finally {
      Torch.setNumThreads(before);
    }
  }

  @Test
  void gradcheckReductions() {
    gradcheck(x -> x[0].amax(new long[] {1}, false), rand(-1, 1, 3, 4));
    gradcheck(x -> x[0].amin(new long[] {0, 2}, true), rand(-1, 1, 3, 2, 4));
    gradcheck(x -> x[0].max(), rand(-1, 1, 3, 4));
    gradcheck(x -> x[0].min(), rand(-1, 1, 3, 4));
    gradcheck(x -> x[0].norm(), rand(-1, 1, 3, 4));
    gradcheck(x -> x[0].var(new long[] {1}, true, false), rand(-1, 1, 3, 4));
    gradcheck(x -> x[0].var(new long[] {0, 2}, false, true), rand(-1, 1, 3, 2, 4));
    gradcheck(x -> x[0].logsumexp(new long[] {-1}, true), rand(-2, 2, 3, 4));
    gradcheck(x -> x[0].logsumexp(new long[] {0, 1}, false), rand(-2, 2, 3, 4));
    gradcheck(x -> x[0].softmax(1), rand(-2, 2, 2, 3, 4));
    gradcheck(x -> x[0].softmax(0), rand(-2, 2, 3, 4));
    gradcheck(x -> x[0].logSoftmax(-1), rand(-2, 2, 2, 3, 4));
    gradcheck(x -> x[0].logSoftmax(1), rand(-2, 2, 2, 3, 4));
  }

  @Test
  void gradcheckLosses() {
    for (String r : new String[] {"none", "mean", "sum"}) {
      gradcheck(x -> F.mseLoss(x[0], x[1], r), rand(-1, 1, 3, 4), rand(-1, 1, 3, 4));
      gradcheck(x -> F.l1Loss(x[0], x[1], r), rand(-1, 1, 3, 4), rand(2, 3, 3, 4));
      gradcheck(
          x -> F.binaryCrossEntropyWithLogits(x[0], x[1], r), rand(-3, 3, 3, 4), rand(0, 1, 3, 4));
      gradcheck(x -> F.binaryCrossEntropy(x[0], x[1], r), rand(0.1, 0.9, 3, 4), rand(0, 1, 3, 4));
      gradcheck(
          x -> F.nllLoss(x[0], x[1], r), rand(-3, 0, 4, 3), longs(new long[] {4}, 0, 2, 1, 2));
      gradcheck(
          x -> F.crossEntropy(x[0], x[1], r),
          rand(-2, 2, 5, 3),
          longs(new long[] {5}, 0, 2, 1, 2, 0));
    }
    gradcheck(x -> F.crossEntropy(x[0], x[1]), rand(-2, 2, 4), longs(new long[0], 3));
    gradcheck(
        x -> F.nllLoss(x[0], x[1], "mean", 1),
        rand(-3, 0, 4, 3),
        longs(new long[] {4}, 0, 1, 1, 2));
  }

  @Test
  void gradcheckIndexing() {
    gradcheck(
        x -> x[0].indexSelect(0, x[1]), rand(-1, 1, 3, 4), longs(new long[] {5}, 2, 0, 2, 1, 2));
    gradcheck(x -> x[0].indexSelect(1, x[1]), rand(-1, 1, 3, 4, 2), longs(new long[] {3}, 3, 3, 0));
    gradcheck(
        x -> x[0].gather(1, x[1]), rand(-1, 1, 3, 4), longs(new long[] {2, 3}, 0, 3, 3, 1, 1, 2));
    gradcheck(x -> x[0].gather(0, x[1]), rand(-1, 1, 3, 4), longs(new long[] {2, 2}, 2, 2, 0, 1));
    gradcheck(
        x -> F.embedding(x[0], x[1]),
        longs(new long[] {2, 3}, 0, 4, 4, 1, 0, 2),
        rand(-1, 1, 5, 3));
  }

  /** The first-order gradient of sum(f(x) * gOut) at {@code data}, as a graph (create_graph). */
  static Tensor firstGrad(Function<Tensor, Tensor> f, double[] data, long[] shape, Tensor gOut) {
    Tensor x = Torch.tensor(data, DType.FLOAT64, shape).requiresGrad_(true);
    return Autograd.grad(
        new Tensor[] {f.apply(x)}, new Tensor[] {x}, new Tensor[] {gOut}, true, true, false)[0];
  }

  /** Central differences of the first-order gradient against its own backward (double backward). */
  static void gradgradcheck(Function<Tensor, Tensor> f, Tensor x0) {
    long[] shape = x0.shape();
    double[] base = x0.toDoubleArray();
    Tensor probe = f.apply(x0.detach());
    Tensor gOut = rand(-1, 1, probe.shape());
    Tensor v = rand(-1, 1, shape);
    Tensor x = Torch.tensor(base, DType.FLOAT64, shape).requiresGrad_(true);
    Tensor gx =
        Autograd.grad(
            new Tensor[] {f.apply(x)}, new Tensor[] {x}, new Tensor[] {gOut}, true, true, false)[0];
    gx.mul(v).sum().backward();
    double[] analytic = x.grad().toDoubleArray();
    double eps = 1e-6;
    for (int i = 0; i < base.length; i++) {
      double[] plus = base.clone(), minus = base.clone();
      plus[i] += eps;
      minus[i] -= eps;
      double fp = firstGrad(f, plus, shape, gOut).mul(v).sum().item();
      double fm = firstGrad(f, minus, shape, gOut).mul(v).sum().item();
      double numeric = (fp - fm) / (2 * eps);
      assertTrue(
          Math.abs(analytic[i] - numeric) <= 1e-5 + 1e-3 * Math.abs(numeric),
          "[" + i + "]: analytic " + analytic[i] + " numeric " + numeric);
    }
  }

  @Test
  void doubleBackward() {
    gradgradcheck(x -> x.softmax(1), rand(-2, 2, 2, 3));
    gradgradcheck(x -> x.logSoftmax(0), rand(-2, 2, 3, 2));
    gradgradcheck(x -> x.logsumexp(new long[] {1}, false), rand(-2, 2, 2, 3));
    gradgradcheck(x -> x.var(new long[] {1}, true, true), rand(-2, 2, 2, 3));
    gradgradcheck(x -> x.norm(), rand(-2, 2, 2, 3));
    Tensor t = rand(-1, 1, 2, 3);
    gradgradcheck(x -> F.mseLoss(x, t), rand(-2, 2, 2, 3));
    Tensor y = rand(0, 1, 2, 3);
    gradgradcheck(x -> F.binaryCrossEntropyWithLogits(x, y, "sum"), rand(-2, 2, 2, 3));
    gradgradcheck(x -> F.crossEntropy(x, longs(new long[] {2}, 2, 0)), rand(-2, 2, 2, 3));
  }

  // ------------------------------------------------------------ errors and edge cases

  @Test
  void errors() {
    var e = assertThrows(IllegalArgumentException.class, () -> Torch.zeros(0).max());
    assertEquals(
        "max(): Expected reduction dim to be specified for input.numel() == 0. Specify the"
            + " reduction dim with the 'dim' argument.",
        e.getMessage());
    var t =
        assertThrows(
            IndexOutOfBoundsException.class,
            () -> F.nllLoss(Torch.zeros(2, 3), Torch.tensor(1L, 5L)));
    assertEquals("Target 5 is out of bounds.", t.getMessage());
    var s =
        assertThrows(
            IndexOutOfBoundsException.class,
            () -> Torch.zeros(2, 3).indexSelect(0, Torch.tensor(new long[] {2})));
    assertEquals("index out of range in self", s.getMessage());
    var m =
        assertThrows(
            IndexOutOfBoundsException.class,
            () -> F.embedding(Torch.tensor(new long[] {-1}), Torch.zeros(2, 3)));
    assertEquals("index out of range in self", m.getMessage());
  }

  @Test
  void tiesShareTheGradient() {
    Tensor x = Torch.tensor(1.0, 3.0, 3.0, 2.0).requiresGrad_(true);
    Tensor y = x.max();
    assertEquals("MaxBackward1", y.gradFn().name());
    y.backward();
    assertEquals(
        List.of(0.0, 0.5, 0.5, 0.0), Arrays.stream(x.grad().toDoubleArray()).boxed().toList());
  }

  @Test
  void varIsStableForLargeOffsets() {
    Tensor x = Torch.tensor(1e8f + 1, 1e8f + 2, 1e8f + 3);
    Tensor d = Torch.tensor(1e8 + 1, 1e8 + 2, 1e8 + 3);
    assertEquals(1.0, d.var(new long[] {0}, true, false).item(), 0);
    // float32 steps by 8 near 1e8, so all three round to 1e8 and their variance is exactly 0
    assertEquals(1e8f, 1e8f + 3);
    assertEquals(0.0, x.var(new long[] {0}, true, false).item(), 0);
  }

  @Test
  void normOfZerosHasZeroGradient() {
    Tensor x = Torch.zeros(DType.FLOAT64, 3).requiresGrad_(true);
    x.norm().backward();
    assertEquals(List.of(0.0, 0.0, 0.0), Arrays.stream(x.grad().toDoubleArray()).boxed().toList());
  }

  @Test
  void softmaxIsStableForLargeInputs() {
    Tensor y = Torch.tensor(1000f, 1001f, 1002f).softmax(0);
    double[] v = y.toDoubleArray();
    assertEquals(1.0, v[0] + v[1] + v[2], 1e-6);
    assertFalse(Double.isNaN(v[0]));
    Tensor l = Torch.tensor(1000f, 1001f, 1002f).logsumexp(new long[] {0}, false);
    assertEquals(1002.4076, l.item(), 1e-3);
  }
}
