package dev.panagrad.kernels;

/** Unary elementwise operations the kernels implement; p and q are their scalar parameters. */
public enum UnaryOp {
  COPY,
  NEG,
  ABS,
  /** max(x, 0), NaN kept */
  RELU,
  SQRT,
  EXP,
  LOG,
  TANH,
  SIGMOID,
  /** x + p */
  ADD_SCALAR,
  /** x * p */
  MUL_SCALAR,
  /** p - x */
  RSUB_SCALAR,
  /** x / p */
  DIV_SCALAR,
  /** min(max(x, p), q), NaN kept */
  CLAMP,
  /** x * x */
  SQUARE,
  /** p, whatever x is (fill_) */
  FILL;

  public double apply(double x, double p, double q) {
    return switch (this) {
      case COPY -> x;
      case NEG -> -x;
      case ABS -> Math.abs(x);
      case RELU -> x > 0 || Double.isNaN(x) ? x : 0;
      case SQRT -> Math.sqrt(x);
      case EXP -> Math.exp(x);
      case LOG -> Math.log(x);
      case TANH -> Math.tanh(x);
      case SIGMOID -> x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
      case ADD_SCALAR -> x + p;
      case MUL_SCALAR -> x * p;
      case RSUB_SCALAR -> p - x;
      case DIV_SCALAR -> x / p;
      case CLAMP -> Double.isNaN(x) ? x : Math.min(Math.max(x, p), q);
      case SQUARE -> x * x;
      case FILL -> p;
    };
  }

  public float apply(float x, float p, float q) {
    return switch (this) {
      case COPY -> x;
      case NEG -> -x;
      case ABS -> Math.abs(x);
      case RELU -> x > 0 || Float.isNaN(x) ? x : 0f;
      case SQRT -> (float) Math.sqrt(x);
      case EXP -> (float) Math.exp(x);
      case LOG -> (float) Math.log(x);
      case TANH -> FloatTanh.tanh(x); // Note [Float tanh]: (float) Math.tanh(x), sooner
      case SIGMOID -> (float) apply((double) x, p, q);
      case ADD_SCALAR -> x + p;
      case MUL_SCALAR -> x * p;
      case RSUB_SCALAR -> p - x;
      case DIV_SCALAR -> x / p;
      case CLAMP -> Float.isNaN(x) ? x : Math.min(Math.max(x, p), q);
      case SQUARE -> x * x;
      case FILL -> p;
    };
  }
}
