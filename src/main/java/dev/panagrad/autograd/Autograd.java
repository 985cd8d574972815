package dev.panagrad.autograd;

import dev.panagrad.Tensor;

/** PyTorch's {@code torch.autograd}: backward and grad over one or more outputs. */
public final class Autograd {
  private Autograd() {}

  /** {@code torch.autograd.backward}: accumulates into the leaves' {@code .grad}. */
  public static void backward(
      Tensor[] outputs, Tensor[] gradOutputs, boolean retainGraph, boolean createGraph) {
    Engine.run(outputs, gradOutputs, retainGraph || createGraph, createGraph, null, false);
  }

  /** {@code output.backward(gradOutput)}: one output (gradOutput null for one element). */
  public static void backward(
      Tensor output, Tensor gradOutput, boolean retainGraph, boolean createGraph) {
    Engine.backward(output, gradOutput, retainGraph || createGraph, createGraph);
  }

  /**
   * {@code torch.autograd.grad}: the gradients of {@code outputs} with respect to {@code inputs},
   * returned rather than accumulated; no {@code .grad} changes.
   *
   * @param gradOutputs one per output, or null for one-element outputs
   */
  public static Tensor[] grad(
      Tensor[] outputs,
      Tensor[] inputs,
      Tensor[] gradOutputs,
      boolean retainGraph,
      boolean createGraph,
      boolean allowUnused) {
    for (Tensor in : inputs) {
      if (!in.requiresGrad()) {
        throw new IllegalStateException("One of the differentiated Tensors does not require grad");
      }
    }
    return Engine.run(
        outputs, gradOutputs, retainGraph || createGraph, createGraph, inputs, allowUnused);
  }

  /** {@code torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph, allow_unused)}. */
  public static Tensor[] grad(
      Tensor[] outputs,
      Tensor[] inputs,
      Tensor[] gradOutputs,
      boolean retainGraph,
      boolean allowUnused) {
    return grad(outputs, inputs, gradOutputs, retainGraph, false, allowUnused);
  }

  public static Tensor[] grad(Tensor output, Tensor... inputs) {
    return grad(new Tensor[] {output}, inputs, null, false, false, false);
  }

  /** Anomaly mode: backward checks every gradient for NaN and names the op that made it. */
  public static void setDetectAnomaly(boolean on) {
    BackwardRules.detectAnomaly = on;
  }

  public static boolean isAnomalyEnabled() {
    return BackwardRules.detectAnomaly;
  }
}
