package dev.panagrad.autograd;

import dev.panagrad.Tensor;

/**
 * A custom differentiable op, PyTorch's {@code torch.autograd.Function}: write {@code forward} and
 * {@code backward}, call {@link #apply}.
 *
 * {@snippet :
 * class Square extends Function {
 *   public Tensor forward(FunctionCtx ctx, Tensor... in) {
 *     ctx.saveForBackward(in[0]);
 *     return in[0].mul(in[0]);
 *   }
 *   public Tensor[] backward(FunctionCtx ctx, Tensor g) {
 *     return new Tensor[] {g.mul(ctx.savedTensors()[0]).mul(2)};
 *   }
 * }
 * Tensor y = new Square().apply(x);   // y.gradFn().name() is "SquareBackward"
 * }
 */
public abstract class Function {
  /** Computes the output; runs with grad mode off. */
  public abstract Tensor forward(FunctionCtx ctx, Tensor... inputs);

  /** The gradient of each input (null where none), given the output's gradient. */
  public abstract Tensor[] backward(FunctionCtx ctx, Tensor grad);

  public final Tensor apply(Tensor... inputs) {
    FunctionCtx ctx = new FunctionCtx(inputs.length);
    for (int i = 0; i < inputs.length; i++) {
      ctx.needsInputGrad[i] = inputs[i] != null && inputs[i].requiresGrad();
    }
    Tensor out;
    try (var ng = GradMode.noGrad()) {
      out = forward(ctx, inputs);
    }
    if (Tape.needsRecord(inputs)) {
      if (out.isView() || contains(inputs, out)) out = out.detach().clone();
      Tape.record(Op.CUSTOM, out, inputs, ctx.saved, null, new Record(this, ctx));
    }
    return out;
  }

  private static boolean contains(Tensor[] ts, Tensor t) {
    for (Tensor x : ts) if (x == t) return true;
    return false;
  }

  /** PyTorch names a custom function's node after its class: {@code SquareBackward}. */
  record Record(Function fn, FunctionCtx ctx) {
    String name() {
      return fn.getClass().getSimpleName() + "Backward";
    }
  }

  /** The {@code ctx} of forward and backward. */
  public static final class FunctionCtx {
    Tensor[] saved = new Tensor[0];
    private Tensor[] unpacked;
    final boolean[] needsInputGrad;

    FunctionCtx(int inputs) {
      needsInputGrad = new boolean[inputs];
    }

    public void saveForBackward(Tensor... tensors) {
      saved = tensors.clone();
    }

    /** The saved tensors, checked against in-place changes since they were saved. */
    public Tensor[] savedTensors() {
      return unpacked != null ? unpacked : saved;
    }

    public boolean needsInputGrad(int i) {
      return needsInputGrad[i];
    }

    void unpack(Ctx c) {
      unpacked = new Tensor[c.savedCount()];
      for (int i = 0; i < unpacked.length; i++) unpacked[i] = c.saved(i);
    }
  }
}
