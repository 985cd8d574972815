package dev.panagrad.fuzz;

import static org.junit.jupiter.api.Assertions.*;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.data.DataFileException;
import dev.panagrad.data.Idx;
import dev.panagrad.io.Safetensors;
import dev.panagrad.memory.Scope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fuzz targets (RELIABILITY, issue 7): random shapes, strides, offsets, dtypes and ops through the
 * op layer, and random bytes through the IDX and safetensors readers. Only the documented
 * exceptions may escape, and results on valid inputs must match a contiguous float64 oracle. {@code
 * scripts/test} replays the committed inputs under {@code src/test/resources} (regression mode);
 * {@code scripts/fuzz SECONDS} fuzzes for real.
 */
class FuzzTargets {
  static final String[] OPS = {"add", "sub", "mul", "div", "neg", "relu", "exp", "tanh", "sum"};

  /** A tensor of the given shape, made non-contiguous or offset as the data says. */
  static Tensor layout(FuzzedDataProvider d, DType dt, long[] shape) {
    long[] big = shape.clone();
    int pad = d.consumeInt(0, 2);
    if (big.length > 0) big[0] += pad;
    Tensor t = Torch.randn(dt, big);
    if (big.length > 0 && pad > 0) t = t.narrow(0, d.consumeInt(0, pad), shape[0]);
    if (shape.length >= 2 && d.consumeBoolean()) {
      t = t.transpose(0, 1).contiguous().transpose(0, 1); // same values, transposed strides
    }
    return t;
  }

  @FuzzTest(maxDuration = "")
  void opsOnAnyLayout(FuzzedDataProvider d) {
    try (var s = Scope.open()) {
      int rank = d.consumeInt(0, 3);
      long[] shape = new long[rank];
      for (int i = 0; i < rank; i++) shape[i] = d.consumeInt(0, 5);
      DType dt = d.consumeBoolean() ? DType.FLOAT32 : DType.FLOAT64;
      Torch.manualSeed(d.consumeLong());
      Tensor a = layout(d, dt, shape), b = layout(d, dt, shape);
      String op = d.pickValue(OPS);
      Tensor got = apply(op, a, b);
      Tensor want = apply(op, a.to(DType.FLOAT64).contiguous(), b.to(DType.FLOAT64).contiguous());
      assertArrayEquals(want.shape(), got.shape(), op);
      double[] g = got.toDoubleArray(), w = want.toDoubleArray();
      double tol = dt == DType.FLOAT32 ? 1e-4 : 1e-12;
      for (int i = 0; i < g.length; i++) {
        if (Double.isNaN(w[i])) assertTrue(Double.isNaN(g[i]), op + " at " + i);
        else assertEquals(w[i], g[i], tol * (1 + Math.abs(w[i])), op + " at " + i);
      }
    } catch (IllegalArgumentException | IndexOutOfBoundsException documented) {
      // bad shapes or dims: the documented exceptions
    }
  }

  static Tensor apply(String op, Tensor a, Tensor b) {
    return switch (op) {
      case "add" -> a.add(b);
      case "sub" -> a.sub(b, 0.5);
      case "mul" -> a.mul(b);
      case "div" -> a.div(b);
      case "neg" -> a.neg();
      case "relu" -> a.relu();
      case "exp" -> a.exp();
      case "tanh" -> a.tanh();
      case "sum" -> a.sum();
      default -> throw new AssertionError(op);
    };
  }

  @FuzzTest(maxDuration = "")
  void idxReader(byte[] bytes) throws IOException {
    Path f = Files.createTempFile("fuzz", ".idx");
    try {
      Files.write(f, bytes);
      try (var s = Scope.open()) {
        Idx.read(f, bytes.length > 0 ? 1 + (bytes[0] & 3) : 1);
      } catch (DataFileException documented) {
        // a wrong magic number, a truncated file, a bad gzip stream: named and explained
      }
    } finally {
      Files.deleteIfExists(f);
    }
  }

  @FuzzTest(maxDuration = "")
  void safetensorsReader(byte[] bytes) {
    try (var s = Scope.open()) {
      Safetensors.fromBytes(bytes, "fuzz.safetensors");
    } catch (IOException | IllegalArgumentException documented) {
      // malformed or truncated files are refused with a message
    }
  }
}
