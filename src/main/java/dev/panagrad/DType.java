package dev.panagrad;

/** Element types, PyTorch's names and sizes. */
public enum DType {
  FLOAT32("float32", 4, true),
  FLOAT64("float64", 8, true),
  INT64("int64", 8, false),
  BOOL("bool", 1, false);

  private final String pyName;
  private final int byteSize;
  private final boolean floating;

  DType(String pyName, int byteSize, boolean floating) {
    this.pyName = pyName;
    this.byteSize = byteSize;
    this.floating = floating;
  }

  public String pyName() {
    return pyName;
  }

  public int byteSize() {
    return byteSize;
  }

  public boolean isFloatingPoint() {
    return floating;
  }

  /** PyTorch's name in reprs and messages: {@code torch.float32}. */
  @Override
  public String toString() {
    return "torch." + pyName;
  }

  /**
   * PyTorch's {@code promote_types}: the smallest type both convert to without losing their
   * category (bool < integer < floating).
   */
  public static DType promote(DType a, DType b) {
    return a.ordinalRank() >= b.ordinalRank() ? a : b;
  }

  /** Category for PyTorch's result_type: 0 bool, 1 integer, 2 floating. */
  int category() {
    return switch (this) {
      case BOOL -> 0;
      case INT64 -> 1;
      case FLOAT32, FLOAT64 -> 2;
    };
  }

  private int ordinalRank() {
    return switch (this) {
      case BOOL -> 0;
      case INT64 -> 1;
      case FLOAT32 -> 2;
      case FLOAT64 -> 3;
    };
  }
}
