package dev.panagrad.examples;

import static dev.panagrad.Torch.*;

import dev.panagrad.Tensor;
import dev.panagrad.autograd.Node;
import dev.panagrad.optim.SGD;
import java.util.List;

/** Seed 002: calling grad_fn nodes by hand; SGD by hand and with optim.SGD. */
public final class Seed002 {
  private Seed002() {}

  public static void main(String[] args) {
    manualSeed(6);
    Tensor x = randn(4, 4).requiresGrad_(true);
    Tensor y = randn(4, 4).requiresGrad_(true);
    Tensor z = x.mul(y);
    Tensor l = z.sum();
    l.backward();
    System.out.println(x.grad());
    System.out.println(y.grad());

    manualSeed(6);
    x = randn(4, 4).requiresGrad_(true);
    y = randn(4, 4).requiresGrad_(true);
    z = x.mul(y);
    l = z.sum();
    Tensor dl = tensor(1.0);
    Node backSum = l.gradFn();
    Tensor dz = backSum.apply(dl)[0];
    Node backMul = backSum.nextFunctions().get(0).node();
    Tensor[] dxdy = backMul.apply(dz);
    Node backX = backMul.nextFunctions().get(0).node();
    backX.apply(dxdy[0]);
    Node backY = backMul.nextFunctions().get(1).node();
    backY.apply(dxdy[1]);
    System.out.println(backSum.name() + " " + backMul.name() + " " + backX.name());
    System.out.println(
        backSum.nextFunctions().get(0).inputNr() + " " + backMul.nextFunctions().get(1).inputNr());
    System.out.println(x.grad());
    System.out.println(y.grad());

    // The seed trains on x_train_tensor / y_train_tensor; here they are made with the generator.
    manualSeed(42);
    Tensor xAll = rand(100, 1);
    Tensor yAll = xAll.mul(2).add(1).add(randn(100, 1).mul(0.1));
    Tensor xTrain = xAll.narrow(0, 0, 80), yTrain = yAll.narrow(0, 0, 80);
    double lr = 0.1;
    manualSeed(42);
    Tensor b = randn(1).requiresGrad_(true);
    Tensor w = randn(1).requiresGrad_(true);
    for (int epoch = 0; epoch < 1000; epoch++) {
      Tensor yhat = b.add(w.mul(xTrain));
      Tensor error = yhat.sub(yTrain);
      Tensor loss = error.pow(2).mean();
      loss.backward();
      try (var ng = noGrad()) {
        b.sub_(b.grad().mul(lr));
        w.sub_(w.grad().mul(lr));
      }
      b.grad().zero_();
      w.grad().zero_();
    }
    System.out.println(b + " " + w);

    manualSeed(42);
    b = randn(1).requiresGrad_(true);
    w = randn(1).requiresGrad_(true);
    SGD optimizer = new SGD(List.of(b, w), lr);
    for (int epoch = 0; epoch < 1000; epoch++) {
      Tensor yhat = b.add(w.mul(xTrain));
      Tensor error = yhat.sub(yTrain);
      Tensor loss = error.pow(2).mean();
      loss.backward();
      optimizer.step();
      optimizer.zeroGrad();
    }
    System.out.println(b + " " + w);
  }
}
