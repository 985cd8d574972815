package dev.panagrad.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import dev.panagrad.random.Generator;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Convolution, pooling and normalization against PyTorch 1.13's values, and by gradcheck. */
class ConvOpsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> OPS =
      Set.of("conv2d", "max_pool2d", "avg_pool2d", "layer_norm", "batch_norm");

  // ------------------------------------------------------------------ conformance

  /** Calls an op through the conformance registry (package-private, hence reflection). */
  private static Tensor call(String op, Tensor[] in, JsonNode attrs) throws Exception {
    Class<?> reg = Class.forName("dev.panagrad.conformance.OpRegistry");
    var field = reg.getDeclaredField("OPS");
    field.setAccessible(true);
    Object fn = ((Map<?, ?>) field.get(null)).get(op);
    if (fn == null) fail("unsupported: " + op);
    Class<?> callType = Class.forName("dev.panagrad.conformance.OpRegistry$Call");
    Method apply = callType.getDeclaredMethod("apply", Tensor[].class, JsonNode.class);
    apply.setAccessible(true);
    try {
      return (Tensor) apply.invoke(fn, in, attrs);
    } catch (java.lang.reflect.InvocationTargetException e) {
      if (e.getCause() instanceof Exception x) throw x;
      throw e;
    }
  }

  private static Tensor tensorOf(JsonNode t) {
    DType dt =
        switch (t.get("dtype").asText()) {
          case "float32" -> DType.FLOAT32;
          case "float64" -> DType.FLOAT64;
          case "int64" -> DType.INT64;
          default -> DType.BOOL;
        };
    JsonNode shapeNode = t.get("shape");
    long[] shape = new long[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) shape[i] = shapeNode.get(i).asLong();
    return Torch.tensor(doubles(t.get("data")), dt, shape);
  }

  private static double[] doubles(JsonNode data) {
    List<Double> out = new ArrayList<>();
    flatten(data, out);
    double[] r = new double[out.size()];
    for (int i = 0; i < r.length; i++) r[i] = out.get(i);
    return r;
  }

  private static void flatten(JsonNode n, List<Double> out) {
    if (n.isArray()) {
      for (JsonNode c : n) flatten(c, out);
    } else if (n.isTextual()) {
      out.add(
          switch (n.asText()) {
            case "nan" -> Double.NaN;
            case "inf" -> Double.POSITIVE_INFINITY;
            default -> Double.NEGATIVE_INFINITY;
          });
    } else {
      out.add(n.asDouble());
    }
  }

  private static void assertClose(
      String what, double[] expected, double[] actual, double rtol, double atol) {
    assertEquals(expected.length, actual.length, what + ": element count");
    for (int i = 0; i < expected.length; i++) {
      double e = expected[i], a = actual[i];
      if (Double.isNaN(e) && Double.isNaN(a)) continue;
      if (e == a) continue;
      if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
        fail(what + ": element " + i + " expected " + e + " but was " + a);
      }
    }
  }

  @TestFactory
  Stream<DynamicTest> conformance() throws IOException {
    Path file = Path.of("..", "shared", "conformance", "ops.jsonl");
    List<DynamicTest> tests = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      if (line.isBlank()) continue;
      JsonNode c = JSON.readTree(line);
      if (!OPS.contains(c.get("op").asText())) continue;
      tests.add(DynamicTest.dynamicTest(c.get("id").asText(), () -> runCase(c)));
    }
    assertFalse(tests.isEmpty(), "no cases for these ops in " + file);
    return tests.stream();
  }

  private static void runCase(JsonNode c) throws Exception {
    JsonNode ins = c.get("inputs");
    Tensor[] in = new Tensor[ins.size()];
    for (int i = 0; i < in.length; i++) {
      in[i] = tensorOf(ins.get(i));
      if (ins.get(i).path("requires_grad").asBoolean(false)) in[i].requiresGrad_(true);
    }
    double rtol = c.get("tol").get("rtol").asDouble(), atol = c.get("tol").get("atol").asDouble();
    Tensor out = call(c.get("op").asText(), in, c.get("attrs"));
    Tensor expected = tensorOf(c.get("output"));
    assertArrayEquals(expected.shape(), out.shape(), "output shape");
    assertEquals(expected.dtype(), out.dtype(), "output dtype");
    assertClose("output", expected.toDoubleArray(), out.toDoubleArray(), rtol, atol);
    assertNotNull(out.gradFn(), "grad_fn");
    assertEquals(c.get("grad_fn").asText(), out.gradFn().name());
    out.backward(tensorOf(c.get("grad_output")));
    JsonNode grads = c.get("grads");
    for (int i = 0; i < in.length; i++) {
      JsonNode g = grads.get(i);
      if (g == null || g.isNull()) {
        assertNull(in[i].grad(), "grad of input " + i);
        continue;
      }
      Tensor eg = tensorOf(g);
      assertNotNull(in[i].grad(), "grad of input " + i);
      assertArrayEquals(eg.shape(), in[i].grad().shape(), "grad shape of input " + i);
      assertClose(
          "grad of input " + i, eg.toDoubleArray(), in[i].grad().toDoubleArray(), rtol, atol);
    }
  }

  // ------------------------------------------------------------------ gradcheck

  private static Tensor randn(Generator gen, long... shape) {
    return Torch.randn(DType.FLOAT64, gen, shape);
  }

  /**
   * Central differences (eps 1e-6) of sum(f(inputs) * g) against backward's grads, for every input,
   * within atol 1e-5 + rtol 1e-3.
   */
  private static void gradcheck(Function<Tensor[], Tensor> f, Tensor... inputs) {
    Generator gen = new Generator(7);
    Tensor[] leaves = new Tensor[inputs.length];
    for (int i = 0; i < inputs.length; i++)
      leaves[i] = inputs[i].clone().detach().requiresGrad_(true);
    Tensor out = f.apply(leaves);
    Tensor g = randn(gen, out.shape());
    out.backward(g);
    double[] gv = g.toDoubleArray();
    double eps = 1e-6;
    for (int i = 0; i < inputs.length; i++) {
      double[] analytic = leaves[i].grad().toDoubleArray();
      Tensor x = inputs[i].clone().detach();
      Tensor[] args = inputs.clone();
      args[i] = x;
      for (int k = 0; k < x.numel(); k++) {
        long[] idx = unravel(k, x.shape());
        double v = x.get(idx);
        x.set(v + eps, idx);
        double plus = dotWith(f.apply(args), gv);
        x.set(v - eps, idx);
        double minus = dotWith(f.apply(args), gv);
        x.set(v, idx);
        double numeric = (plus - minus) / (2 * eps);
        double a = analytic[k];
        if (!(Math.abs(a - numeric) <= 1e-5 + 1e-3 * Math.abs(numeric))) {
          fail("input " + i + " element " + k + ": analytic " + a + ", numeric " + numeric);
        }
      }
    }
  }

  private static double dotWith(Tensor y, double[] g) {
    double[] v = y.toDoubleArray();
    double s = 0;
    for (int i = 0; i < v.length; i++) s += v[i] * g[i];
    return s;
  }

  private static long[] unravel(long k, long[] shape) {
    long[] idx = new long[shape.length];
    for (int d = shape.length - 1; d >= 0; d--) {
      idx[d] = k % shape[d];
      k /= shape[d];
    }
    return idx;
  }

  @Test
  void conv2dGradcheck() {
    Generator gen = new Generator(1);
    gradcheck(
        in -> F.conv2d(in[0], in[1], in[2], new long[] {2, 1}, new long[] {1, 2}),
        randn(gen, 2, 3, 5, 6),
        randn(gen, 4, 3, 3, 2),
        randn(gen, 4));
    gradcheck(
        in -> F.conv2d(in[0], in[1], null, new long[] {1}, new long[] {1}, new long[] {2}, 2),
        randn(gen, 1, 4, 6, 5),
        randn(gen, 6, 2, 2, 2));
  }

  @Test
  void maxPool2dGradcheck() {
    Generator gen = new Generator(2);
    gradcheck(
        in -> F.maxPool2d(in[0], new long[] {3, 2}, new long[] {2, 1}, new long[] {1, 1}),
        randn(gen, 2, 2, 6, 5));
    gradcheck(
        in ->
            F.maxPool2d(
                in[0],
                new long[] {2, 2},
                new long[] {2, 2},
                new long[] {1, 0},
                new long[] {2, 1},
                true),
        randn(gen, 1, 2, 7, 6));
  }

  @Test
  void avgPool2dGradcheck() {
    Generator gen = new Generator(3);
    gradcheck(
        in -> F.avgPool2d(in[0], new long[] {3, 3}, new long[] {2, 2}, new long[] {1, 1}),
        randn(gen, 2, 2, 7, 6));
    gradcheck(
        in -> F.avgPool2d(in[0], new long[] {3, 2}, null, new long[] {1, 1}, true, false, 0),
        randn(gen, 1, 2, 7, 5));
  }

  @Test
  void layerNormGradcheck() {
    Generator gen = new Generator(4);
    gradcheck(
        in -> F.layerNorm(in[0], new long[] {2, 3}, in[1], in[2], 1e-5),
        randn(gen, 3, 2, 3),
        randn(gen, 2, 3),
        randn(gen, 2, 3));
    gradcheck(in -> F.layerNorm(in[0], 4), randn(gen, 3, 4));
    gradcheck(
        in -> F.layerNorm(in[0], new long[] {4}, in[1], null, 1e-5),
        randn(gen, 2, 3, 4),
        randn(gen, 4));
  }

  @Test
  void batchNormGradcheck() {
    Generator gen = new Generator(5);
    gradcheck(
        in -> F.batchNorm(in[0], null, null, in[1], in[2], true),
        randn(gen, 3, 2, 2, 3),
        randn(gen, 2),
        randn(gen, 2));
    gradcheck(
        in -> F.batchNorm(in[0], null, null, in[1], in[2], true),
        randn(gen, 5, 3),
        randn(gen, 3),
        randn(gen, 3));
  }

  // ------------------------------------------------------------------ behaviour

  @Test
  void batchNormUpdatesRunningStatsWithUnbiasedVariance() {
    Tensor x = Torch.tensor(new double[] {1, 2, 3, 5, -1, 4}, DType.FLOAT64, 3, 2);
    Tensor rm = Torch.zeros(DType.FLOAT64, 2), rv = Torch.ones(DType.FLOAT64, 2);
    F.batchNorm(x, rm, rv, null, null, true);
    // channel 0: 1, 3, -1 -> mean 1, unbiased var 4; channel 1: 2, 5, 4 -> mean 11/3, var 7/3
    assertClose("running_mean", new double[] {0.1, 0.1 * 11 / 3}, rm.toDoubleArray(), 1e-12, 0);
    assertClose(
        "running_var", new double[] {0.9 + 0.4, 0.9 + 0.1 * 7 / 3}, rv.toDoubleArray(), 1e-12, 0);
    Tensor y = F.batchNorm(x, rm, rv, null, null, false);
    assertEquals((1 - 0.1) / Math.sqrt(1.3 + 1e-5), y.get(0, 0), 1e-12);
  }

  @Test
  void maxPoolTiesGoToTheFirstMaximum() {
    Tensor x = Torch.tensor(new double[] {1, 3, 3, 2}, DType.FLOAT64, 1, 1, 2, 2);
    x.requiresGrad_(true);
    Tensor y = F.maxPool2d(x, 2);
    assertEquals("MaxPool2DWithIndicesBackward0", y.gradFn().name());
    y.backward(Torch.ones(DType.FLOAT64, 1, 1, 1, 1));
    assertArrayEquals(new double[] {0, 1, 0, 0}, x.grad().toDoubleArray());
  }

  /**
   * The argmax is kept in room after the output's elements, which the row saves: changing the
   * output in place leaves the argmax as it was, and backward works, as PyTorch's (which saves the
   * indices). y = 3 maxpool(x) in place over x = 0..15 in a 4x4 plane: dy/dx is 3 at each 2x2
   * window's last element (5, 7, 13, 15), by hand. In both dtypes, in a scope and outside one.
   */
  @Test
  void maxPoolOutputChangedInPlaceStillHasItsArgmax() {
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      for (boolean scoped : new boolean[] {false, true}) {
        Tensor x = Torch.arange(16).to(dt).reshape(1, 1, 4, 4).requiresGrad_(true);
        try (var s = scoped ? dev.panagrad.memory.Scope.open() : null) {
          Tensor y = F.maxPool2d(x, 2);
          y.mul_(3);
          y.sum().backward();
        }
        double[] want = new double[16];
        for (int i : new int[] {5, 7, 13, 15}) want[i] = 3;
        assertArrayEquals(want, x.grad().toDoubleArray(), dt + (scoped ? " in a scope" : ""));
      }
    }
  }

  /**
   * ATen's rule, in both dtypes (float32 2x2 windows take their own loop): the first maximum of a
   * window wins, a NaN wins over numbers, the last NaN over earlier ones, and -0 seen first stays.
   */
  @Test
  void maxPoolPicksAsAtenInEveryDtype() {
    double nan = Double.NaN;
    // windows (2x2, stride 2) of a [2, 6] plane: [1 3; 3 2] -> 3 at (0, 1); [nan 5; nan 0] ->
    // the last nan, at (1, 2); [-0 0; -1 -2] -> -0 at (0, 4) (0 > -0 is false)
    double[] windows = {1, 3, 3, 2, nan, 5, nan, 0, -0.0, 0, -1, -2};
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      Tensor x = Torch.tensor(reorder(windows), dt, 1, 1, 2, 6).requiresGrad_(true);
      Tensor y = F.maxPool2d(x, 2);
      double[] v = y.toDoubleArray();
      assertEquals(3.0, v[0], dt.toString());
      assertTrue(Double.isNaN(v[1]), dt.toString());
      assertEquals(Double.doubleToLongBits(-0.0), Double.doubleToLongBits(v[2]), dt.toString());
      y.backward(Torch.tensor(new double[] {1, 2, 4}, dt, 1, 1, 1, 3));
      assertArrayEquals(
          new double[] {0, 1, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0},
          x.grad().toDoubleArray(),
          dt.toString());
    }
  }

  /**
   * The float32 planes (2x2 windows, and other windows inside the plane) against the float64 loop:
   * a float widens to double exactly and the comparisons decide alike, so the values and the
   * gradient routed to each argmax must be equal bit for bit. Small integers give ties; a few NaNs
   * take over their windows.
   */
  @Test
  void float32MaxPoolEqualsTheFloat64Loop() {
    Torch.manualSeed(11);
    long[][] kernelStrideDilation = {{2, 2, 1}, {3, 2, 1}, {2, 1, 2}, {3, 3, 1}};
    for (long[] ksd : kernelStrideDilation) {
      Tensor x64 = Torch.randint(-4, 5, 3, 4, 11, 9).to(DType.FLOAT64); // small ints: many ties
      x64.set(Double.NaN, 1, 2, 3, 4);
      x64.set(Double.NaN, 2, 0, 0, 1);
      Tensor x32 = x64.to(DType.FLOAT32).requiresGrad_(true);
      x64.requiresGrad_(true);
      long[] k = {ksd[0]}, st = {ksd[1]}, zero = {0}, d = {ksd[2]};
      Tensor y32 = F.maxPool2d(x32, k, st, zero, d, false);
      Tensor y64 = F.maxPool2d(x64, k, st, zero, d, false);
      String what = "k=" + ksd[0] + " s=" + ksd[1] + " d=" + ksd[2];
      assertArrayEquals(y64.toDoubleArray(), y32.toDoubleArray(), what);
      // small integers again: where windows overlap, the sums are exact in both dtypes
      Tensor g = Torch.randint(-8, 9, y64.shape());
      y32.backward(g.to(DType.FLOAT32));
      y64.backward(g.to(DType.FLOAT64));
      assertArrayEquals(x64.grad().toDoubleArray(), x32.grad().toDoubleArray(), what);
    }
  }

  /**
   * conv2d's float32 passes (im2col, col2im, the NCHW layout with the bias, the bias gradient)
   * against float64 on the same values, with padding, stride, dilation and groups: the two agree to
   * float32 rounding, output and all three gradients.
   */
  @Test
  void float32ConvAgreesWithFloat64() {
    Generator gen = new Generator(12);
    long[][] strideEtc = {{1, 0, 1, 1}, {1, 1, 1, 1}, {2, 2, 1, 2}, {1, 1, 2, 1}};
    for (long[] spdg : strideEtc) {
      Tensor[] in64 = {randn(gen, 3, 4, 9, 8), randn(gen, 6, 4 / spdg[3], 3, 3), randn(gen, 6)};
      Tensor[] grads64 = convGrads(in64, spdg, null);
      Tensor[] in32 = new Tensor[3];
      for (int i = 0; i < 3; i++) in32[i] = in64[i].to(DType.FLOAT32);
      Tensor[] grads32 = convGrads(in32, spdg, grads64[0]);
      String what = java.util.Arrays.toString(spdg);
      // y plus the gradients of x, w and b: sums of at most a few hundred products of numbers
      // around 1, so a float32 result is within 1e-4 relative of the float64 one
      for (int i = 0; i < 4; i++) {
        assertClose(
            what + " result " + i,
            grads64[i + 1].toDoubleArray(),
            grads32[i + 1].toDoubleArray(),
            1e-4,
            1e-4);
      }
    }
  }

  /**
   * Large enough that im2col, col2im, the layout passes and pooling split their samples or planes
   * over two threads (Parallel.forItems), small enough that every product runs on one BLAS thread:
   * conv2d-relu-max_pool2d forward and backward give the one-thread bits exactly, NaN and ties
   * (relu's zeros) included.
   */
  @Test
  void float32ConvAndPoolSplitOverThreadsGiveTheOneThreadBits() {
    // the premise: pooling's planes (16 x 8 of 27 x 26) and the second conv's samples (16 of
    // K 72 x P 121) are enough work to split
    assertTrue(16L * 8 * 27 * 26 >= dev.panagrad.kernels.Parallel.MIN_ITEM_WORK);
    assertTrue(16L * 72 * 121 >= dev.panagrad.kernels.Parallel.MIN_ITEM_WORK);
    int before = Torch.getNumThreads();
    try {
      Torch.setNumThreads(1);
      float[][] one = convPoolStep();
      Torch.setNumThreads(2);
      float[][] two = convPoolStep();
      for (int i = 0; i < one.length; i++) {
        assertEquals(one[i].length, two[i].length);
        for (int j = 0; j < one[i].length; j++) {
          assertEquals(
              Float.floatToIntBits(one[i][j]),
              Float.floatToIntBits(two[i][j]),
              "result " + i + " element " + j);
        }
      }
    } finally {
      Torch.setNumThreads(before);
    }
  }

  /**
   * {y, grad x, grad w1, grad b1, grad w2} of conv2d(max_pool2d(relu(conv2d(x, w1, b1)), 2), w2) in
   * float32: the first conv direct (K = 27), the second through im2col and col2im (K = 72).
   */
  private static float[][] convPoolStep() {
    Generator gen = new Generator(14);
    Tensor x = Torch.randn(DType.FLOAT32, gen, 16, 3, 27, 26);
    x.set(Double.NaN, 3, 1, 10, 11);
    x = x.requiresGrad_(true);
    Tensor w1 = Torch.randn(DType.FLOAT32, gen, 8, 3, 3, 3).requiresGrad_(true);
    Tensor b1 = Torch.randn(DType.FLOAT32, gen, 8).requiresGrad_(true);
    Tensor w2 = Torch.randn(DType.FLOAT32, gen, 4, 8, 3, 3).requiresGrad_(true);
    Tensor h = F.maxPool2d(F.conv2d(x, w1, b1, new long[] {1}, new long[] {1}).relu(), 2, 2);
    Tensor y = F.conv2d(h, w2);
    y.backward(Torch.randn(DType.FLOAT32, new Generator(15), y.shape()));
    return new float[][] {
      y.toFloatArray(),
      x.grad().toFloatArray(),
      w1.grad().toFloatArray(),
      b1.grad().toFloatArray(),
      w2.grad().toFloatArray()
    };
  }

  /**
   * The direct float32 conv2d (K = C * kH * kW up to Convolution.DIRECT_MAX_K) against float64 on
   * the same values, with and without padding and bias: output and all three gradients agree to
   * float32 rounding.
   */
  @Test
  void directFloat32ConvAgreesWithFloat64() {
    Generator gen = new Generator(16);
    long[][] shapes = {{5, 3, 9, 8, 6, 3, 3}, {4, 1, 12, 10, 7, 5, 5}, {3, 2, 6, 7, 4, 2, 3}};
    for (long[] sh : shapes) {
      for (long pad : new long[] {0, 1, 2}) {
        assertTrue(sh[1] * sh[5] * sh[6] <= Convolution.DIRECT_MAX_K, "a direct case");
        Tensor[] in64 = {
          randn(gen, sh[0], sh[1], sh[2], sh[3]),
          randn(gen, sh[4], sh[1], sh[5], sh[6]),
          pad == 1 ? null : randn(gen, sh[4])
        };
        long[] spdg = {1, pad, 1, 1};
        Tensor[] grads64 = convGrads(in64, spdg, null);
        Tensor[] in32 = new Tensor[3];
        for (int i = 0; i < 3; i++) in32[i] = in64[i] == null ? null : in64[i].to(DType.FLOAT32);
        Tensor[] grads32 = convGrads(in32, spdg, grads64[0]);
        for (int i = 0; i < 4; i++) {
          if (grads64[i + 1] == null) continue;
          assertClose(
              java.util.Arrays.toString(sh) + " pad " + pad + " result " + i,
              grads64[i + 1].toDoubleArray(),
              grads32[i + 1].toDoubleArray(),
              1e-4,
              1e-4);
        }
      }
    }
  }

  /** {upstream gradient, y, grad x, grad w, grad b} of conv2d on fresh leaves made from in. */
  private static Tensor[] convGrads(Tensor[] in, long[] spdg, Tensor upstream) {
    Tensor[] leaves = new Tensor[3];
    for (int i = 0; i < 3; i++) {
      leaves[i] = in[i] == null ? null : in[i].clone().detach().requiresGrad_(true);
    }
    Tensor y =
        F.conv2d(
            leaves[0],
            leaves[1],
            leaves[2],
            new long[] {spdg[0]},
            new long[] {spdg[1]},
            new long[] {spdg[2]},
            spdg[3]);
    Tensor g = upstream == null ? randn(new Generator(13), y.shape()) : upstream.to(y.dtype());
    y.backward(g);
    return new Tensor[] {
      g, y, leaves[0].grad(), leaves[1].grad(), leaves[2] == null ? null : leaves[2].grad()
    };
  }

  /** The three 2x2 windows listed window by window, as the rows of a [2, 6] plane. */
  private static double[] reorder(double[] windows) {
    double[] plane = new double[12];
    for (int wi = 0; wi < 3; wi++) {
      for (int e = 0; e < 4; e++) plane[(e / 2) * 6 + wi * 2 + e % 2] = windows[wi * 4 + e];
    }
    return plane;
  }

  @Test
  void avgPoolCountsPaddingByDefault() {
    Tensor x = Torch.ones(DType.FLOAT64, 1, 1, 2, 2);
    Tensor y = F.avgPool2d(x, new long[] {2}, new long[] {2}, new long[] {1});
    assertArrayEquals(new double[] {0.25, 0.25, 0.25, 0.25}, y.toDoubleArray());
    Tensor z = F.avgPool2d(x, new long[] {2}, new long[] {2}, new long[] {1}, false, false, 0);
    assertArrayEquals(new double[] {1, 1, 1, 1}, z.toDoubleArray());
  }

  @Test
  void unbatchedConvSqueezes() {
    Tensor x = Torch.ones(DType.FLOAT32, 3, 4, 4).requiresGrad_(true);
    Tensor w = Torch.ones(DType.FLOAT32, 2, 3, 3, 3);
    Tensor y = F.conv2d(x, w);
    assertArrayEquals(new long[] {2, 2, 2}, y.shape());
    assertEquals(27.0, y.get(0, 0, 0));
    assertEquals("SqueezeBackward1", y.gradFn().name());
  }

  @Test
  void createGraphThroughConvFailsLoudly() {
    Tensor x = Torch.ones(DType.FLOAT64, 1, 1, 3, 3).requiresGrad_(true);
    Tensor w = Torch.ones(DType.FLOAT64, 1, 1, 2, 2).requiresGrad_(true);
    Tensor y = F.conv2d(x, w);
    assertThrows(
        UnsupportedOperationException.class, () -> y.backward(Torch.onesLike(y), false, true));
  }

  @Test
  void errorsInPyTorchWords() {
    Tensor w = Torch.zeros(4, 3, 3, 3);
    var e =
        assertThrows(IllegalArgumentException.class, () -> F.conv2d(Torch.zeros(2, 5, 8, 9), w));
    assertEquals(
        "Given groups=1, weight of size [4, 3, 3, 3], expected input[2, 5, 8, 9] to have 3"
            + " channels, but got 5 channels instead",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> F.conv2d(Torch.zeros(1, 3, 2, 2), w));
    assertEquals(
        "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size"
            + " can't be greater than actual input size",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> F.layerNorm(Torch.zeros(4, 2, 6), 5));
    assertEquals(
        "Given normalized_shape=[5], expected input with shape [*, 5], but got input of size[4, 2,"
            + " 6]",
        e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> F.batchNorm(Torch.zeros(1, 3), null, null, null, null, true));
    assertTrue(e.getMessage().startsWith("Expected more than 1 value per channel when training"));
  }
}
