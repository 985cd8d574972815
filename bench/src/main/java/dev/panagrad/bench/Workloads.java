package dev.panagrad.bench;

import static dev.panagrad.Torch.*;

import dev.panagrad.DType;
import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.memory.Scope;
import dev.panagrad.optim.SGD;
import java.util.ArrayList;
import java.util.List;

/**
 * The benchmark workloads, written as a user writes a training step (a {@link Scope} per step).
 * bench/pytorch/workloads.py runs the same steps in PyTorch. Each step returns its loss, so the
 * work cannot be optimised away.
 */
public final class Workloads {
  private Workloads() {}

  /**
   * The JVM flags scripts/_env passes to every JVM that runs the library, for the benchmarks'
   * forks: HotSpot compiles the elementwise Vector API loops with C2 after 1/20 of the usual calls
   * (Note [Kernels compiled early] in docs/ARCHITECTURE.md).
   */
  static final String COMPILE_QUIET = "-XX:CompileCommand=quiet",
      COMPILE_KERNELS_EARLY =
          "-XX:CompileCommand=CompileThresholdScaling,dev.panagrad.kernels.vector.ElementwiseLoops::*,0.05";

  /** A leaf parameter with nn.Linear's default init range, U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
  static Tensor param(long fanIn, long... shape) {
    double bound = 1 / Math.sqrt(fanIn);
    return empty(shape).uniform_(-bound, bound).requiresGrad_(true);
  }

  /** W1: the seed's two-layer net, N=64, 1000-100-10, SGD by hand under noGrad. */
  public static final class W1 {
    final Tensor x, y, w1, w2;

    public W1() {
      manualSeed(0);
      x = randn(64, 1000);
      y = randn(64, 10);
      w1 = randn(1000, 100).requiresGrad_(true);
      w2 = randn(100, 10).requiresGrad_(true);
    }

    public double step() {
      try (var s = Scope.open()) {
        return body(x, y).item();
      }
    }

    /** The step on inputs {x, y}, returning the loss: what a TrainStep captures. */
    public Tensor body(Tensor... in) {
      Tensor loss = in[0].mm(w1).clamp(0).mm(w2).sub(in[1]).pow(2).sum();
      loss.backward();
      try (var ng = noGrad()) {
        w1.sub_(w1.grad().mul(1e-6));
        w2.sub_(w2.grad().mul(1e-6));
        w1.grad().zero_();
        w2.grad().zero_();
      }
      return loss;
    }

    public Tensor[] inputs() {
      return new Tensor[] {x, y};
    }
  }

  /** W2: MLP 784-512-512-10, batch 128, ReLU, cross-entropy, SGD momentum 0.9. */
  public static final class W2 {
    final Tensor x, target;
    final List<Tensor> params = new ArrayList<>();
    final SGD opt;

    public W2() {
      manualSeed(0);
      x = rand(128, 784);
      target = randint(0, 10, 128);
      long[][] layers = {{784, 512}, {512, 512}, {512, 10}};
      for (long[] l : layers) {
        params.add(param(l[0], l[1], l[0]));
        params.add(param(l[0], l[1]));
      }
      opt = new SGD(params, 0.01, 0.9, 0, 0, false);
    }

    public double step() {
      try (var s = Scope.open()) {
        return body(x, target).item();
      }
    }

    /** The step on inputs {x, target}, returning the loss: what a TrainStep captures. */
    public Tensor body(Tensor... in) {
      Tensor h = F.linear(in[0], params.get(0), params.get(1)).relu();
      h = F.linear(h, params.get(2), params.get(3)).relu();
      Tensor loss = F.crossEntropy(F.linear(h, params.get(4), params.get(5)), in[1]);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss;
    }

    public Tensor[] inputs() {
      return new Tensor[] {x, target};
    }
  }

  /** W3: 1,000 chained add/mul/tanh on shape-[1] tensors, forward and backward. */
  public static final class W3 {
    public static final int OPS = 1000;
    final Tensor a, b;

    public W3() {
      manualSeed(0);
      a = randn(1).requiresGrad_(true);
      b = randn(1).requiresGrad_(true);
    }

    public double step() {
      try (var s = Scope.open()) {
        Tensor h = a;
        for (int i = 0; i < OPS / 3; i++) h = h.add(b).mul(b).tanh();
        h = h.add(b);
        double value = h.item();
        h.backward();
        a.setGrad(null);
        b.setGrad(null);
        return value;
      }
    }
  }

  /**
   * W7: a small CNN step: conv(1->32, 3x3)-relu-maxpool-conv(32->64, 3x3)-relu-maxpool-linear
   * (->10), batch 64, 28x28 inputs, cross-entropy, SGD.
   */
  public static final class W7 {
    final Tensor x, target;
    final List<Tensor> params = new ArrayList<>();
    final SGD opt;

    public W7() {
      manualSeed(0);
      x = rand(64, 1, 28, 28);
      target = randint(0, 10, 64);
      params.add(param(9, 32, 1, 3, 3));
      params.add(param(9, 32));
      params.add(param(32 * 9, 64, 32, 3, 3));
      params.add(param(32 * 9, 64));
      params.add(param(64 * 5 * 5, 10, 64 * 5 * 5));
      params.add(param(64 * 5 * 5, 10));
      opt = new SGD(params, 0.01);
    }

    public double step() {
      try (var s = Scope.open()) {
        return body(x, target).item();
      }
    }

    /** The step on inputs {x, target}, returning the loss: what a TrainStep captures. */
    public Tensor body(Tensor... in) {
      Tensor h = F.maxPool2d(F.conv2d(in[0], params.get(0), params.get(1)).relu(), 2, 2);
      h = F.maxPool2d(F.conv2d(h, params.get(2), params.get(3)).relu(), 2, 2);
      Tensor logits = F.linear(h.flatten(1), params.get(4), params.get(5));
      Tensor loss = F.crossEntropy(logits, in[1]);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss;
    }

    public Tensor[] inputs() {
      return new Tensor[] {x, target};
    }
  }

  static Tensor floats(long n) {
    return rand(DType.FLOAT32, n);
  }
}
