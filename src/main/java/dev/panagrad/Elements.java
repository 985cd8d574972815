package dev.panagrad;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Reads and writes one element of a segment by dtype; the slow, general path. */
public final class Elements {
  private Elements() {}

  public static double get(MemorySegment s, DType dt, long index) {
    return switch (dt) {
      case FLOAT32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT, index);
      case FLOAT64 -> s.getAtIndex(ValueLayout.JAVA_DOUBLE, index);
      case INT64 -> s.getAtIndex(ValueLayout.JAVA_LONG, index);
      case BOOL -> s.get(ValueLayout.JAVA_BYTE, index) != 0 ? 1 : 0;
    };
  }

  public static long getLong(MemorySegment s, DType dt, long index) {
    return switch (dt) {
      case FLOAT32 -> (long) s.getAtIndex(ValueLayout.JAVA_FLOAT, index);
      case FLOAT64 -> (long) s.getAtIndex(ValueLayout.JAVA_DOUBLE, index);
      case INT64 -> s.getAtIndex(ValueLayout.JAVA_LONG, index);
      case BOOL -> s.get(ValueLayout.JAVA_BYTE, index) != 0 ? 1 : 0;
    };
  }

  /** Stores {@code v} converted as PyTorch converts: to float, truncated to long, or != 0. */
  public static void put(MemorySegment s, DType dt, long index, double v) {
    switch (dt) {
      case FLOAT32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT, index, (float) v);
      case FLOAT64 -> s.setAtIndex(ValueLayout.JAVA_DOUBLE, index, v);
      case INT64 -> s.setAtIndex(ValueLayout.JAVA_LONG, index, (long) v);
      case BOOL -> s.set(ValueLayout.JAVA_BYTE, index, (byte) (v != 0 ? 1 : 0));
    }
  }

  public static void putLong(MemorySegment s, DType dt, long index, long v) {
    switch (dt) {
      case FLOAT32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT, index, (float) v);
      case FLOAT64 -> s.setAtIndex(ValueLayout.JAVA_DOUBLE, index, (double) v);
      case INT64 -> s.setAtIndex(ValueLayout.JAVA_LONG, index, v);
      case BOOL -> s.set(ValueLayout.JAVA_BYTE, index, (byte) (v != 0 ? 1 : 0));
    }
  }
}
