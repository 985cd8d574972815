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
}
