package dev.panagrad.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.nn.BatchNorm1d;
import dev.panagrad.nn.Linear;
import dev.panagrad.nn.ReLU;
import dev.panagrad.nn.Sequential;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
  static final Path CONFORMANCE = Path.of("..", "shared", "conformance");
  @TempDir Path tmp;

  @Test
  void readsPyTorchsFileAsItsJson() throws Exception {
    Map<String, Tensor> st = Safetensors.load(CONFORMANCE.resolve("linear_init_seed1.safetensors"));
    JsonNode want =
        new ObjectMapper().readTree(CONFORMANCE.resolve("linear_init_seed1.json").toFile());
    assertEquals(List.of("0.bias", "0.weight", "2.bias", "2.weight"), List.copyOf(st.keySet()));
    for (String k : st.keySet()) {
      JsonNode data = want.get("tensors").get(k).get("data");
      float[] got = st.get(k).toFloatArray();
      for (int i = 0; i < got.length; i++) assertEquals((float) data.get(i).asDouble(), got[i]);
    }
  }

  @Test
  void writesFilesThatReadBack() throws Exception {
    Torch.manualSeed(5);
    var model = new Sequential(new Linear(6, 4), new BatchNorm1d(4), new ReLU(), new Linear(4, 3));
    model.forward(Torch.randn(8, 6)); // moves the running stats
    Path f = tmp.resolve("m.safetensors");
    Safetensors.save(model.stateDict(), f);
    byte[] bytes = Files.readAllBytes(f);
    long headerLen =
        java.nio.ByteBuffer.wrap(bytes, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, (8 + headerLen) % 8);
    Map<String, Tensor> back = Safetensors.load(f);
    Map<String, Tensor> sd = model.stateDict();
    assertEquals(List.copyOf(sd.keySet()), List.copyOf(back.keySet()));
    for (String k : sd.keySet()) {
      assertEquals(sd.get(k).dtype(), back.get(k).dtype(), k);
      assertArrayEquals(sd.get(k).shape(), back.get(k).shape(), k);
      assertArrayEquals(sd.get(k).toDoubleArray(), back.get(k).toDoubleArray(), k);
    }
    var other = new Sequential(new Linear(6, 4), new BatchNorm1d(4), new ReLU(), new Linear(4, 3));
    other.loadStateDict(back);
    assertArrayEquals(
        model.stateDict().get("1.running_var").toFloatArray(),
        other.stateDict().get("1.running_var").toFloatArray());
  }

  @Test
  void dtypesAndNonContiguous() throws Exception {
    Map<String, Tensor> m = new LinkedHashMap<>();
    m.put("d", Torch.tensor(new double[] {1.5, -2, 1e300}, DType.FLOAT64, 3));
    m.put("b", Torch.tensor(true, false, true));
    m.put("t", Torch.arange(6).reshape(2, 3).t());
    Map<String, Tensor> back = Safetensors.fromBytes(Safetensors.toBytes(m), "mem");
    assertArrayEquals(new double[] {1.5, -2, 1e300}, back.get("d").toDoubleArray());
    assertArrayEquals(new boolean[] {true, false, true}, back.get("b").toBooleanArray());
    assertArrayEquals(new long[] {0, 3, 1, 4, 2, 5}, back.get("t").toLongArray());
  }

  @Test
  void clearErrors() throws Exception {
    byte[] good = Safetensors.toBytes(Map.of("x", Torch.ones(4)));
    var trunc =
        assertThrows(
            java.io.IOException.class,
            () -> Safetensors.fromBytes(Arrays.copyOf(good, good.length - 3), "f"));
    assertTrue(trunc.getMessage().contains("outside the"), trunc.getMessage());
    var junk =
        assertThrows(
            java.io.IOException.class,
            () -> Safetensors.fromBytes("not a file at all".getBytes(), "f"));
    assertTrue(junk.getMessage().contains("header length"), junk.getMessage());
  }
}
