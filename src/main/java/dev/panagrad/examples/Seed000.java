package dev.panagrad.examples;

import static dev.panagrad.Torch.*;

import dev.panagrad.F;
import dev.panagrad.Tensor;

/** Seed 000: autograd basics (a one-layer logistic model, grad_fn, detach, accumulation). */
public final class Seed000 {
  private Seed000() {}

  public static void main(String[] args) {
    manualSeed(0);
    Tensor x = ones(5);
    Tensor y = zeros(3);
    Tensor w = randn(5, 3).requiresGrad_(true);
    System.out.println(w);
    Tensor b = randn(3).requiresGrad_(true);
    Tensor z = matmul(x, w).add(b);
    Tensor loss = F.binaryCrossEntropyWithLogits(z, y);
    System.out.println(loss);
    System.out.println("Gradient function for z = " + z.gradFn().name());
    System.out.println("Gradient function for loss = " + loss.gradFn().name());
    loss.backward();
    System.out.println(w.grad());
    System.out.println(b.grad());
    z = matmul(x, w).add(b);
    System.out.println(Py.str(z.requiresGrad()));
    try (var ng = noGrad()) {
      z = matmul(x, w).add(b);
    }
    System.out.println(Py.str(z.requiresGrad()));
    z = matmul(x, w).add(b);
    Tensor zDet = z.detach();
    System.out.println(Py.str(zDet.requiresGrad()));
    Tensor inp = eye(4, 5).requiresGrad_(true);
    Tensor out = inp.add(1).pow(2).t();
    out.backward(onesLike(out), true);
    System.out.println("First call\n" + inp.grad());
    out.backward(onesLike(out), true);
    System.out.println("\nSecond call\n" + inp.grad());
    inp.grad().zero_();
    out.backward(onesLike(out), true);
    System.out.println("\nCall after zeroing gradients\n" + inp.grad());
  }
}
