package dev.panagrad.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panagrad.Tensor;

/** Public entry to {@link OpRegistry}: calls an ops.jsonl op by name. */
public final class OpCall {
  private OpCall() {}

  /** Whether the registry knows {@code op}. */
  public static boolean has(String op) {
    return OpRegistry.OPS.containsKey(op);
  }

  /** Calls {@code op} on {@code in} with its PyTorch keyword {@code attrs}. */
  public static Tensor call(String op, Tensor[] in, JsonNode attrs) {
    OpRegistry.Call c = OpRegistry.OPS.get(op);
    if (c == null) throw new UnsupportedOperationException("unsupported: " + op);
    return c.apply(in, attrs);
  }
}
