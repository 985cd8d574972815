package dev.panagrad.optim;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The one-pass updates equal the tensor-op form bit for bit: a contiguous parameter takes the fused
 * path, a transposed one the tensor ops.
 */
class FusedUpdatesTest {
  static void sameSteps(DType dt, Function<List<Tensor>, Optimizer> make) {
    sameSteps(dt, make, 4, 3);
  }

  static void sameSteps(DType dt, Function<List<Tensor>, Optimizer> make, int rows, int cols) {
    manualSeed(5);
    Tensor w = randn(dt, rows, cols), gsrc = randn(dt, 3, rows, cols);
    Tensor fused = w.clone().requiresGrad_(true);
    Tensor strided = w.t().contiguous().t().requiresGrad_(true); // same values, transposed layout
    assertFalse(strided.isContiguous());
    Optimizer a = make.apply(List.of(fused)), b = make.apply(List.of(strided));
    for (int step = 0; step < 3; step++) {
      fused.setGrad(gsrc.select(0, step).clone());
      strided.setGrad(gsrc.select(0, step).t().contiguous().t());
      a.step();
      b.step();
    }
    assertArrayEquals(fused.toDoubleArray(), strided.toDoubleArray(), 0.0);
  }

  @Test
  void sgdMomentumNesterovWeightDecay() {
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      sameSteps(dt, ps -> new SGD(ps, 0.1, 0.9, 0, 0.01, true));
      sameSteps(dt, ps -> new SGD(ps, 0.1, 0.9, 0.2, 0.0, false));
      sameSteps(dt, ps -> new SGD(ps, 0.1));
    }
  }

  @Test
  void sgdOnSizesWithVectorBodiesAndTails() {
    // 37 x 29 = 1073 elements: whole vectors of every width, then a scalar tail.
    sameSteps(DType.FLOAT32, ps -> new SGD(ps, 0.1, 0.9, 0, 0.01, true), 37, 29);
    sameSteps(DType.FLOAT32, ps -> new SGD(ps, 0.1, 0.9, 0.2, 0.0, false), 37, 29);
    sameSteps(DType.FLOAT32, ps -> new SGD(ps, 0.1), 37, 29);
  }

  /**
   * 301 x 229 = 68,929 elements, past Parallel.MIN_SPLIT_PASS: the fused update splits over two
   * threads (chunk edges and a tail inside each chunk) and still equals the tensor-op form.
   */
  @Test
  void sgdSplitOverThreadsEqualsTheTensorOps() {
    int before = getNumThreads();
    try {
      setNumThreads(2);
      assertTrue(301 * 229 >= dev.panagrad.kernels.Parallel.MIN_SPLIT_PASS);
      sameSteps(DType.FLOAT32, ps -> new SGD(ps, 0.1, 0.9, 0, 0.01, true), 301, 229);
      sameSteps(DType.FLOAT64, ps -> new SGD(ps, 0.1, 0.9, 0.2, 0.0, false), 301, 229);
    } finally {
      setNumThreads(before);
    }
  }

  /** Adam, AdamW (amsgrad off and on) and RMSprop (centered, momentum, weight decay). */
  static final List<Function<List<Tensor>, Optimizer>> ADAPTIVE =
      List.of(
          ps -> new Adam(ps, 1e-2, 0.9, 0.999, 1e-8, 0.05, false),
          ps -> new Adam(ps, 1e-2, 0.9, 0.999, 1e-8, 0, true),
          ps -> new AdamW(ps, 1e-2, 0.9, 0.999, 1e-8, 0.05, false),
          ps -> new AdamW(ps, 1e-2, 0.9, 0.999, 1e-8, 0.05, true),
          ps -> new RMSprop(ps, 1e-2),
          ps -> new RMSprop(ps, 1e-2, 0.9, 1e-6, 0.01, 0.5, true),
          ps -> new RMSprop(ps, 1e-2, 0.99, 1e-8, 0, 0.9, false));

  @Test
  void adamAndRmspropOnSizesWithVectorBodiesAndTails() {
    // 37 x 29 = 1073 elements: whole vectors of every width, then a scalar tail.
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      for (var make : ADAPTIVE) sameSteps(dt, make, 37, 29);
    }
  }

  /** Past Parallel.MIN_SPLIT_PASS: the Adam and RMSprop passes split and keep their bits. */
  @Test
  void adamAndRmspropSplitOverThreadsEqualTheTensorOps() {
    int before = getNumThreads();
    try {
      setNumThreads(2);
      assertTrue(301 * 229 >= dev.panagrad.kernels.Parallel.MIN_SPLIT_PASS);
      for (var make : ADAPTIVE) sameSteps(DType.FLOAT32, make, 301, 229);
      sameSteps(DType.FLOAT64, ADAPTIVE.get(3), 301, 229);
      sameSteps(DType.FLOAT64, ADAPTIVE.get(5), 301, 229);
    } finally {
      setNumThreads(before);
    }
  }

  /** The fused Adam step counts its steps as the tensor-op form does (bias correction uses it). */
  @Test
  void theFusedAdamStepAdvancesTheStepCount() {
    Tensor w = randn(4, 3).requiresGrad_(true), strided = randn(3, 4).t().requiresGrad_(true);
    Adam opt = new Adam(List.of(w, strided), 1e-2);
    for (int step = 1; step <= 3; step++) {
      w.setGrad(randn(4, 3));
      strided.setGrad(randn(4, 3));
      opt.step();
      assertEquals(step, opt.stepCount(0), "fused");
      assertEquals(step, opt.stepCount(1), "tensor ops");
    }
  }

  @Test
  void adamAndAdamW() {
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      sameSteps(dt, ps -> new Adam(ps, 1e-2));
      sameSteps(dt, ps -> new Adam(ps, 1e-2, 0.9, 0.999, 1e-8, 0.05, false));
      sameSteps(dt, ps -> new AdamW(ps, 1e-2, 0.9, 0.999, 1e-8, 0.05, false));
      sameSteps(dt, ps -> new Adam(ps, 1e-2, 0.9, 0.999, 1e-8, 0, true));
      sameSteps(dt, ps -> new AdamW(ps, 1e-2, 0.9, 0.999, 1e-8, 0.05, true));
    }
  }

  @Test
  void rmspropPlainCenteredAndWithMomentum() {
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      sameSteps(dt, ps -> new RMSprop(ps, 1e-2));
      sameSteps(dt, ps -> new RMSprop(ps, 1e-2, 0.9, 1e-6, 0.01, 0.5, true));
      sameSteps(dt, ps -> new RMSprop(ps, 1e-2, 0.99, 1e-8, 0, 0.9, false));
    }
  }
}
