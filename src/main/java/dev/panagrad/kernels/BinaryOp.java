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
  RELU_BACKWARD;

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
    };
  }
}
