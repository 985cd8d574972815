package dev.panagrad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** {@link TensorFormat} against what PyTorch 1.13 printed. */
class TensorFormatTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One test per line of the conformance file {@code repr.jsonl}. */
  @TestFactory
  Stream<DynamicTest> reprConformance() throws IOException {
    Path file = conformanceFile();
    List<DynamicTest> tests = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode node = JSON.readTree(line);
      tests.add(
          DynamicTest.dynamicTest(
              node.get("id").asText(),
              () -> assertEquals(node.get("repr").asText(), render(node))));
    }
    return tests.stream();
  }

  private static Path conformanceFile() {
    Path local = Path.of("..", "shared", "conformance", "repr.jsonl");
    if (Files.isRegularFile(local)) {
      return local;
    }
    String dir = System.getProperty("panagrad.conformance.dir");
    if (dir != null && Files.isRegularFile(Path.of(dir, "repr.jsonl"))) {
      return Path.of(dir, "repr.jsonl");
    }
    return fail(
        "repr.jsonl not found: expected "
            + local
            + " or a directory holding it in -Dpanagrad.conformance.dir");
  }

  /** Renders one conformance line: its shape, dtype, data and requires_grad. */
  private static String render(JsonNode node) {
    long[] shape = new long[node.get("shape").size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = node.get("shape").get(i).asLong();
    }
    DType dtype = dtypeOf(node.get("dtype").asText());
    JsonNode data = node.get("data");
    double[] doubles = new double[data.size()];
    long[] longs = new long[data.size()];
    for (int i = 0; i < data.size(); i++) {
      JsonNode v = data.get(i);
      switch (dtype) {
        case FLOAT32 -> doubles[i] = (float) jsonDouble(v);
        case FLOAT64 -> doubles[i] = jsonDouble(v);
        case INT64, BOOL -> longs[i] = v.asLong();
      }
    }
    return TensorFormat.format(
        shape, dtype, values(doubles, longs), node.get("requires_grad").asBoolean(), null);
  }

  private static DType dtypeOf(String name) {
    for (DType d : DType.values()) {
      if (d.pyName().equals(name)) {
        return d;
      }
    }
    throw new IllegalArgumentException("unknown dtype " + name);
  }

  private static double jsonDouble(JsonNode v) {
    if (v.isTextual()) {
      return switch (v.asText()) {
        case "nan" -> Double.NaN;
        case "inf" -> Double.POSITIVE_INFINITY;
        case "-inf" -> Double.NEGATIVE_INFINITY;
        default -> throw new IllegalArgumentException("not a number: " + v);
      };
    }
    return v.asDouble();
  }

  private static TensorFormat.Values values(double[] doubles, long[] longs) {
    return new TensorFormat.Values() {
      @Override
      public double getDouble(long i) {
        return doubles[(int) i];
      }

      @Override
      public long getLong(long i) {
        return longs[(int) i];
      }
    };
  }

  /** A float32 tensor: each value rounded to float, then widened back to double. */
  private static TensorFormat.Values f32(float... data) {
    double[] doubles = new double[data.length];
    for (int i = 0; i < data.length; i++) {
      doubles[i] = data[i];
    }
    return values(doubles, new long[0]);
  }

  private static String f32(long[] shape, String gradFn, boolean requiresGrad, float... data) {
    return TensorFormat.format(shape, DType.FLOAT32, f32(data), requiresGrad, gradFn);
  }

  // Tensors printed by the seed programs (seeds/programs/*.out).

  @Test
  void seedGradientRow() {
    // x.grad = 1024 * [0.01, 0.1, 1] in float32: multiplying by a power of two is exact.
    assertEquals(
        "tensor([  10.2400,  102.4000, 1024.0000])",
        f32(new long[] {3}, null, false, 0.01f * 1024, 0.1f * 1024, 1f * 1024));
  }

  @Test
  void seedScalars() {
    assertEquals("tensor(1024.)", f32(new long[] {}, null, false, 1024f));
    assertEquals(
        "tensor(27., grad_fn=<MeanBackward0>)", f32(new long[] {}, "MeanBackward0", false, 27f));
  }

  @Test
  void seedIntegerValuedMatrices() {
    assertEquals("tensor([[ 16., 132.]])", f32(new long[] {1, 2}, null, false, 16f, 132f));
    assertEquals("tensor([[10., 98.]])", f32(new long[] {1, 2}, null, false, 10f, 98f));
    assertEquals(
        "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)",
        f32(new long[] {2, 2}, null, true, 1f, 1f, 1f, 1f));
    assertEquals(
        "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)",
        f32(new long[] {2, 2}, "AddBackward0", true, 3f, 3f, 3f, 3f));
    assertEquals(
        "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])",
        f32(new long[] {2, 2}, null, false, 4.5f, 4.5f, 4.5f, 4.5f));
    assertEquals("tensor([[0.]], requires_grad=True)", f32(new long[] {1, 1}, null, true, 0f));
    assertEquals("tensor([3.])", f32(new long[] {1}, null, false, 3f));
  }

  @Test
  void seedWideFixedValues() {
    // The printed decimals, as float32: each rounds back to what was printed.
    assertEquals(
        "tensor([ -462.7517,  -170.1174, -1559.3149], grad_fn=<MulBackward0>)",
        f32(new long[] {3}, "MulBackward0", true, -462.7517f, -170.1174f, -1559.3149f));
  }

  // Rules of _tensor_str.py that the conformance file does not reach.

  @Test
  void emptyTensorsShowTheirDtypeUnlessFloat32() {
    long[] none = new long[0];
    TensorFormat.Values empty = values(new double[0], none);
    assertEquals(
        "tensor([], dtype=torch.int64)",
        TensorFormat.format(new long[] {0}, DType.INT64, empty, false, null));
    assertEquals(
        "tensor([], size=(0, 3), dtype=torch.float64)",
        TensorFormat.format(new long[] {0, 3}, DType.FLOAT64, empty, false, null));
    assertEquals(
        "tensor([], size=(0, 3), requires_grad=True)",
        TensorFormat.format(new long[] {0, 3}, DType.FLOAT32, empty, true, null));
  }

  @Test
  void nonFiniteValuesInIntMode() {
    assertEquals(
        "tensor([1., nan, inf])",
        f32(new long[] {3}, null, false, 1f, Float.NaN, Float.POSITIVE_INFINITY));
  }

  @Test
  void halfEvenRoundingOfTheExactValue() {
    // 1/32 and 3/32 are exact ties at 4 decimals: Python rounds them to the even digit.
    assertEquals("tensor([0.0312, 0.0938])", f32(new long[] {2}, null, false, 0.03125f, 0.09375f));
    assertEquals(
        "tensor([1.0312e+00, 2.0480e+03])", f32(new long[] {2}, null, false, 1.03125f, 2048f));
    // 1.00005 in float64 lies just above the tie, so it rounds up.
    assertEquals(
        "tensor(1.0001, dtype=torch.float64)",
        TensorFormat.format(
            new long[] {},
            DType.FLOAT64,
            values(new double[] {1.00005}, new long[0]),
            false,
            null));
  }
}
