package dev.panagrad.optim;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.memory.Scope;
import dev.panagrad.nn.Linear;
import dev.panagrad.nn.Module;
import dev.panagrad.nn.ReLU;
import dev.panagrad.nn.Sequential;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** RELIABILITY 37: independent models trained on 4 threads at once get the serial result. */
class ConcurrentTrainingTest {
  static Module make() {
    manualSeed(1);
    return new Sequential(new Linear(8, 16), new ReLU(), new Linear(16, 3));
  }

  static float[] train(Module m, Tensor x, Tensor y) {
    var opt = new SGD(m.parameters(), 0.1, 0.9, 0, 0, false);
    for (int step = 0; step < 30; step++) {
      try (var s = Scope.open()) {
        opt.zeroGrad();
        F.crossEntropy(m.forward(x), y).backward();
        opt.step();
      }
    }
    List<Float> all = new ArrayList<>();
    for (Tensor p : m.parameters()) for (float v : p.toFloatArray()) all.add(v);
    float[] out = new float[all.size()];
    for (int i = 0; i < out.length; i++) out[i] = all.get(i);
    return out;
  }

  @Test
  void fourThreadsEachGetTheSerialResult() throws Exception {
    manualSeed(0);
    Tensor x = randn(32, 8), y = randint(0, 3, 32);
    float[] serial = train(make(), x, y);
    assertArrayEquals(serial, train(make(), x, y), "same seed, same threads: the same bits");
    List<Module> models = new ArrayList<>();
    for (int i = 0; i < 4; i++) models.add(make()); // the same init, made one after another
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<float[]>> results = new ArrayList<>();
      for (Module m : models) results.add(pool.submit(() -> train(m, x, y)));
      for (Future<float[]> r : results) assertArrayEquals(serial, r.get());
    } finally {
      pool.shutdown();
    }
  }
}
