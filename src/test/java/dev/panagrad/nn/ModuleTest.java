package dev.panagrad.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModuleTest {
  static final Path CONFORMANCE = Path.of("..", "shared", "conformance");

  @Test
  void linearInitIsPyTorchsExactly() throws Exception {
    JsonNode want =
        new ObjectMapper().readTree(CONFORMANCE.resolve("linear_init_seed1.json").toFile());
    Torch.manualSeed(1);
    var model = new Sequential(new Linear(64, 32), new ReLU(), new Linear(32, 10));
    assertEquals(want.get("model").asText(), "Sequential(Linear(64, 32), ReLU(), Linear(32, 10))");
    Map<String, Tensor> sd = model.stateDict();
    assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias"), List.copyOf(sd.keySet()));
    var it = want.get("tensors").fields();
    while (it.hasNext()) {
      var e = it.next();
      Tensor t = sd.get(e.getKey());
      JsonNode data = e.getValue().get("data");
      float[] got = t.toFloatArray();
      assertEquals(data.size(), got.length);
      for (int i = 0; i < got.length; i++) {
        assertEquals((float) data.get(i).asDouble(), got[i], e.getKey() + "[" + i + "]");
      }
    }
  }

  @Test
  void namesFollowPyTorch() {
    var inner = new Sequential(new Linear(4, 3), new BatchNorm1d(3));
    var outer = new Sequential(inner, new ReLU(), new Linear(3, 2, false));
    assertEquals(
        List.of("0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias", "2.weight"),
        List.copyOf(outer.namedParameters().keySet()));
    assertEquals(
        List.of(
            "0.0.weight",
            "0.0.bias",
            "0.1.weight",
            "0.1.bias",
            "0.1.running_mean",
            "0.1.running_var",
            "0.1.num_batches_tracked",
            "2.weight"),
        List.copyOf(outer.stateDict().keySet()));
    for (Tensor p : outer.parameters()) assertTrue(p.requiresGrad() && p.isLeaf());
  }

  @Test
  void reprIsPyTorchs() {
    var m =
        new Sequential(
            new Conv2d(1, 8, 3, 1, 1),
            new BatchNorm2d(8),
            new ReLU(),
            new MaxPool2d(2),
            new Sequential(new Flatten(), new Dropout(0.25)),
            new Linear(8 * 14 * 14, 10),
            new LayerNorm(10),
            new GELU(),
            new LeakyReLU(),
            new Softmax(1),
            new Embedding(10, 3),
            new AvgPool2d(2));
    String want =
        """
        Sequential(
          (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
          (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
          (2): ReLU()
          (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
          (4): Sequential(
            (0): Flatten(start_dim=1, end_dim=-1)
            (1): Dropout(p=0.25, inplace=False)
          )
          (5): Linear(in_features=1568, out_features=10, bias=True)
          (6): LayerNorm((10,), eps=1e-05, elementwise_affine=True)
          (7): GELU(approximate='none')
          (8): LeakyReLU(negative_slope=0.01)
          (9): Softmax(dim=1)
          (10): Embedding(10, 3)
          (11): AvgPool2d(kernel_size=2, stride=2, padding=0)
        )""";
    assertEquals(want, m.toString());
    assertEquals("CrossEntropyLoss()", new CrossEntropyLoss().toString());
  }

  @Test
  void pythonFloatRepr() {
    assertEquals("1e-05", Module.py(1e-5));
    assertEquals("0.1", Module.py(0.1));
    assertEquals("1.0", Module.py(1));
    assertEquals("0.0001", Module.py(1e-4));
    assertEquals("1234.5", Module.py(1234.5));
    assertEquals("1e+16", Module.py(1e16));
    assertEquals("-2.5e-07", Module.py(-2.5e-7));
  }

  @Test
  void stateDictRoundTripAndStrictErrors() {
    Torch.manualSeed(3);
    var a = new Sequential(new Linear(5, 4), new ReLU(), new Linear(4, 2));
    var b = new Sequential(new Linear(5, 4), new ReLU(), new Linear(4, 2));
    b.loadStateDict(a.stateDict());
    assertArrayEquals(a.parameters().get(2).toFloatArray(), b.parameters().get(2).toFloatArray());
    var c = new Sequential(new Linear(5, 3));
    var e = assertThrows(IllegalArgumentException.class, () -> c.loadStateDict(a.stateDict()));
    assertTrue(
        e.getMessage().contains("Unexpected key(s) in state_dict: \"2.weight\", \"2.bias\""));
    assertTrue(e.getMessage().contains("size mismatch for 0.weight"), e.getMessage());
  }

  @Test
  void trainEvalAndZeroGrad() {
    var bn = new BatchNorm1d(2);
    var m = new Sequential(new Linear(3, 2), bn, new Dropout(0.5));
    assertTrue(bn.isTraining());
    m.eval();
    assertFalse(bn.isTraining());
    Tensor x = Torch.randn(4, 3);
    Tensor y = m.forward(x); // eval: running stats untouched, dropout off
    assertArrayEquals(new float[] {0, 0}, bn.runningMean().toFloatArray());
    y.sum().backward();
    assertTrue(m.parameters().get(0).grad() != null);
    m.zeroGrad();
    assertNull(m.parameters().get(0).grad());
    m.train();
    m.forward(x);
    assertEquals(1, bn.stateDict().get("num_batches_tracked").getLong());
    assertFalse(bn.runningMean().get(0) == 0);
  }

  @Test
  void batchNormRunningStatsFollowMomentum() {
    var bn = new BatchNorm1d(1);
    Tensor x = Torch.tensor(new double[] {1, 2, 3, 6}, dev.panagrad.DType.FLOAT32, 4, 1);
    bn.forward(x);
    // mean 3, unbiased var (4 + 1 + 0 + 9) / 3 = 14/3; running = 0.9 * old + 0.1 * batch
    assertEquals(0.3, bn.runningMean().get(0), 1e-6);
    assertEquals(0.9 + 0.1 * 14 / 3.0, bn.runningVar().get(0), 1e-6);
  }

  @Test
  void dropoutScalesKeptElements() {
    Torch.manualSeed(0);
    Tensor y = new Dropout(0.5).forward(Torch.ones(1000));
    int kept = 0;
    for (float v : y.toFloatArray()) {
      assertTrue(v == 0f || v == 2f);
      if (v == 2f) kept++;
    }
    assertTrue(kept > 400 && kept < 600, "kept " + kept);
  }

  @Test
  void crossEntropySmoothingAndIgnoreIndex() {
    Tensor x =
        Torch.tensor(new double[] {1, 2, 3, 0, 0, 0, 2, 1, 0}, dev.panagrad.DType.FLOAT32, 3, 3);
    Tensor t = Torch.tensor(2L, -100L, 0L);
    // Computed by hand: log_softmax([1,2,3]) = [-2.4076, -1.4076, -0.4076]; log_softmax([2,1,0])
    // = [-0.4076, -1.4076, -2.4076]. nll mean over 2 counted = 0.4076; smooth term per row = sum
    // of -logp = 4.2228, mean 4.2228; loss = 0.9 * 0.4076 + 0.1 / 3 * 4.2228.
    double lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    double nll = lse - 3, smooth = 3 * lse - 6;
    double want = 0.9 * nll + 0.1 / 3 * smooth;
    Tensor loss = new CrossEntropyLoss("mean", -100, 0.1).forward(x, t);
    assertEquals(want, loss.item(), 1e-5);
    assertEquals(nll, new CrossEntropyLoss("mean", -100, 0).forward(x, t).item(), 1e-5);
    Tensor none = new CrossEntropyLoss("none", -100, 0.1).forward(x, t);
    assertEquals(0, none.get(1), 0);
    assertEquals(2 * want, new CrossEntropyLoss("sum", -100, 0.1).forward(x, t).item(), 1e-5);
  }

  @Test
  void lossModules() {
    Tensor a = Torch.tensor(new double[] {0.2, 0.8}, dev.panagrad.DType.FLOAT32, 2);
    Tensor b = Torch.tensor(new double[] {0, 1}, dev.panagrad.DType.FLOAT32, 2);
    assertEquals((0.04 + 0.04) / 2, new MSELoss().forward(a, b).item(), 1e-6);
    assertEquals(0.4, new L1Loss("sum").forward(a, b).item(), 1e-6);
    assertEquals(-Math.log(0.8), new BCELoss().forward(a, b).item(), 1e-6);
    double s0 = 1 / (1 + Math.exp(-0.2)), s1 = 1 / (1 + Math.exp(-0.8));
    assertEquals(
        -(Math.log(1 - s0) + Math.log(s1)) / 2, new BCEWithLogitsLoss().forward(a, b).item(), 1e-6);
    Tensor logp = Torch.tensor(new double[] {-1, -2, -3, -4}, dev.panagrad.DType.FLOAT32, 2, 2);
    assertEquals(2.5, new NLLLoss().forward(logp, Torch.tensor(1L, 0L)).item(), 1e-6);
    assertThrows(IllegalArgumentException.class, () -> new MSELoss("avg"));
  }
}
