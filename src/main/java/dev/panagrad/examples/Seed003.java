package dev.panagrad.examples;

import static dev.panagrad.Torch.*;

import dev.panagrad.Tensor;

/** Seed 003: leaf and non-leaf tensors; fitting y = w x^2 + b. */
public final class Seed003 {
  private Seed003() {}

  public static void main(String[] args) {
    Tensor x = tensor(new float[] {2f}).requiresGrad_(true);
    Tensor y = tensor(new float[] {3f}).requiresGrad_(true);
    Tensor z = x.mul(y);
    Tensor w = z.add(tensor(new float[] {1f}));
    System.out.println("x requires_grad: " + Py.str(x.requiresGrad()));
    System.out.println("y requires_grad: " + Py.str(y.requiresGrad()));
    System.out.println("z requires_grad: " + Py.str(z.requiresGrad()));
    System.out.println("w requires_grad: " + Py.str(w.requiresGrad()));
    w.backward();
    System.out.println("x grad: " + Py.str(x.grad()));
    System.out.println("y grad: " + Py.str(y.grad()));
    System.out.println("z grad: " + Py.str(z.grad()));
    System.out.println("w grad: " + Py.str(w.grad()));
    System.out.println("x grad_fn: " + Py.str(x.gradFn()));
    System.out.println("z grad_fn: " + z.gradFn().name());

    manualSeed(0);
    x = tensor(new float[] {2f});
    w = randn(1).requiresGrad_(true);
    Tensor b = randn(1).requiresGrad_(true);
    y = mul(w, x);
    z = add(y, b);
    System.out.println(
        Py.str(x.requiresGrad()) + " " + Py.str(w.requiresGrad()) + " " + Py.str(b.requiresGrad()));
    System.out.println(Py.str(y.requiresGrad()) + " " + Py.str(z.requiresGrad()));
    System.out.println(
        Py.str(x.isLeaf())
            + " "
            + Py.str(w.isLeaf())
            + " "
            + Py.str(b.isLeaf())
            + " "
            + Py.str(y.isLeaf())
            + " "
            + Py.str(z.isLeaf()));
    System.out.println(Py.str(x.gradFn()) + " " + Py.str(w.gradFn()) + " " + Py.str(b.gradFn()));
    System.out.println(y.gradFn().name() + " " + z.gradFn().name());
    z.backward();
    System.out.println(Py.str(w.grad()) + " " + Py.str(b.grad()) + " " + Py.str(x.grad()));
    System.out.println(Py.str(y.grad()) + " " + Py.str(z.grad()));

    manualSeed(100);
    x = unsqueeze(linspace(-1, 1, 100), 1);
    y = x.pow(2).mul(3).add(2).add(rand(x.size()).mul(0.2));
    w = randn(1, 1).requiresGrad_(true);
    b = zeros(1, 1).requiresGrad_(true);
    System.out.println(w);
    System.out.println(b);
    double lr = 0.001;
    for (int i = 0; i < 800; i++) {
      Tensor yPred = w.mul(x.pow(2)).add(b);
      Tensor loss = y.sub(yPred).pow(2);
      loss = loss.sum();
      loss.backward();
      try (var ng = noGrad()) {
        w.sub_(w.grad().mul(lr));
        b.sub_(b.grad().mul(lr));
        w.grad().zero_();
        b.grad().zero_();
      }
    }
    System.out.println(w);
    System.out.println(b);
  }
}
