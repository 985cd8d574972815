package dev.panagrad.examples;

import static dev.panagrad.Torch.*;

import dev.panagrad.Tensor;
import dev.panagrad.memory.Scope;

/** Seed 004: a two-layer network trained with autograd (PyTorch's classic tutorial). */
public final class Seed004 {
  private Seed004() {}

  public static void main(String[] args) {
    manualSeed(0);
    int n = 64, dIn = 1000, h = 100, dOut = 10;
    Tensor x = randn(n, dIn);
    Tensor y = randn(n, dOut);
    Tensor w1 = randn(dIn, h).requiresGrad_(true);
    Tensor w2 = randn(h, dOut).requiresGrad_(true);
    double learningRate = 1e-6;
    for (int t = 0; t < 500; t++) {
      try (var step = Scope.open()) {
        Tensor yPred = x.mm(w1).clamp(0).mm(w2);
        Tensor loss = yPred.sub(y).pow(2).sum();
        System.out.println(t + " " + Py.repr(loss.item()));
        loss.backward();
        try (var ng = noGrad()) {
          w1.sub_(w1.grad().mul(learningRate));
          w2.sub_(w2.grad().mul(learningRate));
          w1.grad().zero_();
          w2.grad().zero_();
        }
      }
    }
  }
}
