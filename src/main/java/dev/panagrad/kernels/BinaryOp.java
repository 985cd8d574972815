package dev.panagrad.kernels;

/** Binary elementwise operations the kernels implement. */
public enum BinaryOp {
  /** a + p b */
  ADD,
  /** a - p b */
  SUB,
  MUL,
  DIV,
  /** max, NaN if either is NaN */
  MAX,
  /** min, NaN if either is NaN */
  MIN,
  /** PyTorch's threshold_backward at 0: b <= 0 ? 0 : a (a the gradient, b relu's output) */
  RELU_BACKWARD,
  /** clamp's backward at its lower bound p: b >= p ? a : 0 (a the gradient, b clamp's input) */
  CLAMP_MIN_BACKWARD,
  /** clamp's backward at its upper bound p: b <= p ? a : 0 (a the gradient, b clamp's input) */
  CLAMP_MAX_BACKWARD,
  /**
   * tanh's backward: a (1 - b b), a the gradient, b tanh's output; rounded after each operation, so
   * it equals the tensor ops {@code g.mul(y.pow(2).rsub(1))} bit for bit
   */
  TANH_BACKWARD,
  /**
   * sigmoid's backward: a (b (1 - b)), a the gradient, b sigmoid's output; rounded after each
   * operation, so it equals {@code g.mul(y.mul(y.rsub(1)))} bit for bit
   */
  SIGMOID_BACKWARD,
  /**
   * mse_loss's elementwise term: (a - b) (a - b), the difference rounded before it is squared, as
   * ATen's mse kernel computes it in the operands' type
   */
  SQUARED_DIFFERENCE;

  /** The scalar definition, which every implementation must equal. */
  public double apply(double a, double b, double p) {
    return switch (this) {
      case ADD -> a + p * b;
      case SUB -> a - p * b;
      case MUL -> a * b;
      case DIV -> a / b;
      case MAX -> Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.max(a, b);
      case MIN -> Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.min(a, b);
      case RELU_BACKWARD -> b <= 0 ? 0 : a;
      case CLAMP_MIN_BACKWARD -> b >= p ? a : 0;
      case CLAMP_MAX_BACKWARD -> b <= p ? a : 0;
      case TANH_BACKWARD -> a * (1 - b * b);
      case SIGMOID_BACKWARD -> a * (b * (1 - b));
      case SQUARED_DIFFERENCE -> (a - b) * (a - b);
    };
  }

  public float apply(float a, float b, float p) {
    return switch (this) {
      case ADD -> p == 1 ? a + b : a + p * b;
      case SUB -> p == 1 ? a - b : a - p * b;
      case MUL -> a * b;
      case DIV -> a / b;
      case MAX -> Float.isNaN(a) || Float.isNaN(b) ? Float.NaN : Math.max(a, b);
      case MIN -> Float.isNaN(a) || Float.isNaN(b) ? Float.NaN : Math.min(a, b);
      case RELU_BACKWARD -> b <= 0 ? 0f : a;
      case CLAMP_MIN_BACKWARD -> b >= p ? a : 0f;
      case CLAMP_MAX_BACKWARD -> b <= p ? a : 0f;
      case TANH_BACKWARD -> a * (1f - b * b);
      case SIGMOID_BACKWARD -> a * (b * (1f - b));
      case SQUARED_DIFFERENCE -> (a - b) * (a - b);
    };
  }
}
