package dev.panagrad.examples;

import static dev.panagrad.Torch.*;

import dev.panagrad.Tensor;

/** Seed 001: requires_grad, grad_fn, vector-Jacobian products, CopySlices. */
public final class Seed001 {
  private Seed001() {}

  public static void main(String[] args) {
    manualSeed(1);
    Tensor x = ones(2, 2).requiresGrad_(true);
    System.out.println(x);
    Tensor y = x.add(2);
    System.out.println(y);
    System.out.println(y.gradFn().name());
    Tensor z = y.mul(y).mul(3);
    Tensor out = z.mean();
    System.out.println(z);
    System.out.println(out);
    Tensor a = randn(2, 2);
    a = a.mul(3).div(a.sub(1));
    System.out.println(Py.str(a.requiresGrad()));
    a.requiresGrad_(true);
    System.out.println(Py.str(a.requiresGrad()));
    Tensor b = a.mul(a).sum();
    System.out.println(b.gradFn().name());
    out.backward();
    System.out.println(x.grad());
    System.out.println(Py.str(y.grad()));
    System.out.println(Py.str(z.grad()));
    x = randn(3).requiresGrad_(true);
    y = x.mul(2);
    System.out.println(y);
    System.out.println(y.data());
    System.out.println(y.data().norm());
    while (y.data().norm().item() < 1000) {
      y = y.mul(2);
    }
    System.out.println(y);
    y.backward(tensor(0.01f, 0.1f, 1f));
    System.out.println(y.index(0).data().div(x.index(0).data()));
    System.out.println(x.grad());
    a = tensor(new float[][] {{2, 4}});
    a.requiresGrad_(true);
    b = zeros(1, 2);
    b.indexPut_(a.index(0, 0).pow(2).add(a.index(0, 1)), 0, 0);
    b.indexPut_(a.index(0, 1).pow(3).add(a.index(0, 0)), 0, 1);
    System.out.println(b.gradFn().name());
    out = b.mul(2);
    out.backward(tensor(new float[][] {{1, 1}}));
    System.out.println("input: " + a.data());
    System.out.println("output: " + out.data());
    System.out.println("input gradients: " + a.grad());
    System.out.println(Py.str(x.requiresGrad()));
    System.out.println(Py.str(x.pow(2).requiresGrad()));
    try (var ng = noGrad()) {
      System.out.println(Py.str(x.pow(2).requiresGrad()));
    }
  }
}
