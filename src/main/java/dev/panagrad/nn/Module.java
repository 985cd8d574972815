package dev.panagrad.nn;

import dev.panagrad.Tensor;
import dev.panagrad.autograd.GradMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * PyTorch's {@code nn.Module}: a forward function with named parameters, buffers and child modules.
 * Parameters are leaf tensors that require grad; names follow PyTorch ({@code 0.weight}, {@code
 * features.0.bias}), and so do the state dict's order and {@link #toString()}.
 *
 * {@snippet :
 * manualSeed(1);
 * var model = new Sequential(new Linear(64, 32), new ReLU(), new Linear(32, 10));
 * Tensor logits = model.forward(x);
 * model.namedParameters().keySet();   // [0.weight, 0.bias, 2.weight, 2.bias]
 * }
 */
public abstract class Module {
  private final Map<String, Tensor> params = new LinkedHashMap<>();
  private final Map<String, Tensor> buffers = new LinkedHashMap<>();
  private final Map<String, Module> children = new LinkedHashMap<>();
  private boolean training = true;

  /** The forward computation. */
  public abstract Tensor forward(Tensor input);

  /** Registers (or replaces) a parameter; null registers an absent one (e.g. no bias). */
  protected Tensor registerParameter(String name, Tensor p) {
    if (p != null) {
      if (!p.isLeaf()) {
        throw new IllegalArgumentException(
            "cannot assign a non-leaf tensor as parameter '" + name + "'");
      }
      p.requiresGrad_(true);
    }
    params.put(name, p);
    return p;
  }

  /** Registers (or replaces) a buffer: state saved in the state dict that is not trained. */
  protected Tensor registerBuffer(String name, Tensor b) {
    buffers.put(name, b);
    return b;
  }

  /** Registers a child module under {@code name}. */
  protected <M extends Module> M registerModule(String name, M m) {
    children.put(name, m);
    return m;
  }

  /** This module's own parameter named {@code name} (null if absent). */
  protected Tensor param(String name) {
    return params.get(name);
  }

  /** This module's own buffer named {@code name}. */
  protected Tensor buffer(String name) {
    return buffers.get(name);
  }

  /** The direct children, in registration order. */
  public Map<String, Module> namedChildren() {
    return Collections.unmodifiableMap(children);
  }

  public List<Module> children() {
    return List.copyOf(children.values());
  }

  /** This module and every descendant, pre-order, with dotted names ("" for this one). */
  public Map<String, Module> namedModules() {
    Map<String, Module> out = new LinkedHashMap<>();
    collectModules("", out, Collections.newSetFromMap(new IdentityHashMap<>()));
    return out;
  }

  private void collectModules(String prefix, Map<String, Module> out, Set<Module> seen) {
    if (!seen.add(this)) return;
    out.put(prefix, this);
    for (var e : children.entrySet()) {
      if (e.getValue() != null) e.getValue().collectModules(join(prefix, e.getKey()), out, seen);
    }
  }

  private static String join(String prefix, String name) {
    return prefix.isEmpty() ? name : prefix + "." + name;
  }

  /** Every parameter with its dotted name, this module's first, each tensor once. */
  public Map<String, Tensor> namedParameters() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    for (var m : namedModules().entrySet()) {
      for (var p : m.getValue().params.entrySet()) {
        if (p.getValue() != null && seen.add(p.getValue())) {
          out.put(join(m.getKey(), p.getKey()), p.getValue());
        }
      }
    }
    return out;
  }

  public List<Tensor> parameters() {
    return new ArrayList<>(namedParameters().values());
  }

  /** Every buffer with its dotted name. */
  public Map<String, Tensor> namedBuffers() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (var m : namedModules().entrySet()) {
      for (var b : m.getValue().buffers.entrySet()) {
        if (b.getValue() != null) out.put(join(m.getKey(), b.getKey()), b.getValue());
      }
    }
    return out;
  }

  /**
   * The state dict: each module's parameters then its buffers, then its children's, as detached
   * tensors sharing the module's storage (PyTorch's {@code state_dict()}).
   */
  public Map<String, Tensor> stateDict() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    saveTo("", out);
    return out;
  }

  private void saveTo(String prefix, Map<String, Tensor> out) {
    for (var p : params.entrySet()) {
      if (p.getValue() != null) out.put(prefix + p.getKey(), p.getValue().detach());
    }
    for (var b : buffers.entrySet()) {
      if (b.getValue() != null) out.put(prefix + b.getKey(), b.getValue().detach());
    }
    for (var c : children.entrySet()) {
      if (c.getValue() != null) c.getValue().saveTo(prefix + c.getKey() + ".", out);
    }
  }

  /** Copies {@code state} into the parameters and buffers; every key must match (strict). */
  public void loadStateDict(Map<String, Tensor> state) {
    loadStateDict(state, true);
  }

  /**
   * Copies {@code state} into the parameters and buffers. Strict: missing and unexpected keys are
   * an error, reported all at once as PyTorch does; shapes must match in either mode.
   */
  public void loadStateDict(Map<String, Tensor> state, boolean strict) {
    Map<String, Tensor> own = new LinkedHashMap<>();
    collectState("", own);
    List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>();
    List<String> mismatched = new ArrayList<>();
    for (String k : own.keySet()) if (!state.containsKey(k)) missing.add(k);
    for (String k : state.keySet()) if (!own.containsKey(k)) unexpected.add(k);
    for (var e : own.entrySet()) {
      Tensor src = state.get(e.getKey());
      if (src != null && !Arrays.equals(src.shape(), e.getValue().shape())) {
        mismatched.add(
            "size mismatch for "
                + e.getKey()
                + ": copying a param with shape "
                + shapeStr(src.shape())
                + " from checkpoint, the shape in current model is "
                + shapeStr(e.getValue().shape())
                + ".");
      }
    }
    List<String> errors = new ArrayList<>();
    if (strict && !unexpected.isEmpty()) {
      errors.add("Unexpected key(s) in state_dict: " + quoted(unexpected) + ".");
    }
    if (strict && !missing.isEmpty()) {
      errors.add("Missing key(s) in state_dict: " + quoted(missing) + ".");
    }
    errors.addAll(mismatched);
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException(
          "Error(s) in loading state_dict for " + name() + ":\n\t" + String.join("\n\t", errors));
    }
    try (var ng = GradMode.noGrad()) {
      for (var e : own.entrySet()) {
        Tensor src = state.get(e.getKey());
        if (src != null) e.getValue().copy_(src);
      }
    }
  }

  private void collectState(String prefix, Map<String, Tensor> out) {
    for (var p : params.entrySet())
      if (p.getValue() != null) out.put(prefix + p.getKey(), p.getValue());
    for (var b : buffers.entrySet())
      if (b.getValue() != null) out.put(prefix + b.getKey(), b.getValue());
    for (var c : children.entrySet()) {
      if (c.getValue() != null) c.getValue().collectState(prefix + c.getKey() + ".", out);
    }
  }

  private static String shapeStr(long[] s) {
    StringBuilder b = new StringBuilder("torch.Size([");
    for (int i = 0; i < s.length; i++) b.append(i == 0 ? "" : ", ").append(s[i]);
    return b.append("])").toString();
  }

  private static String quoted(List<String> keys) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < keys.size(); i++)
      b.append(i == 0 ? "" : ", ").append('"').append(keys.get(i)).append('"');
    return b.toString();
  }

  /** Training mode (dropout active, batch norm uses batch statistics), for this and children. */
  public Module train() {
    return train(true);
  }

  public Module train(boolean mode) {
    for (Module m : namedModules().values()) m.training = mode;
    return this;
  }

  /** Evaluation mode: {@code train(false)}. */
  public Module eval() {
    return train(false);
  }

  public boolean isTraining() {
    return training;
  }

  /** Clears every parameter's gradient: sets it to null, as PyTorch 2 does by default. */
  public void zeroGrad() {
    zeroGrad(true);
  }

  public void zeroGrad(boolean setToNone) {
    dev.panagrad.optim.Optimizer.zeroGrads(parameters(), setToNone);
  }

  /** The class name as PyTorch prints it. */
  protected String name() {
    return getClass().getSimpleName();
  }

  /** What PyTorch's {@code extra_repr} returns: the text inside the parentheses, or "". */
  protected String extraRepr() {
    return "";
  }

  /** PyTorch's module repr: {@code Linear(in_features=64, out_features=32, bias=True)}. */
  @Override
  public String toString() {
    List<String> extra = extraRepr().isEmpty() ? List.of() : List.of(extraRepr().split("\n"));
    List<String> childLines = new ArrayList<>();
    for (var c : children.entrySet()) {
      String s = String.valueOf(c.getValue()).replace("\n", "\n  ");
      childLines.add("(" + c.getKey() + "): " + s);
    }
    List<String> lines = new ArrayList<>(extra);
    lines.addAll(childLines);
    StringBuilder b = new StringBuilder(name()).append('(');
    if (!lines.isEmpty()) {
      if (extra.size() == 1 && childLines.isEmpty()) b.append(extra.get(0));
      else b.append("\n  ").append(String.join("\n  ", lines)).append('\n');
    }
    return b.append(')').toString();
  }

  // Python's repr of values, for extraRepr.

  /**
   * Python's repr of a float: shortest round-trip digits, {@code 1e-05}, {@code 0.1}, {@code 1.0}.
   */
  static String py(double v) {
    if (Double.isNaN(v)) return "nan";
    if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) return (1 / v < 0) ? "-0.0" : "0.0";
    java.math.BigDecimal d = new java.math.BigDecimal(Double.toString(v)).stripTrailingZeros();
    String digits = d.unscaledValue().abs().toString();
    int exp = digits.length() - 1 - d.scale(); // decimal exponent of the first digit
    String sign = v < 0 ? "-" : "";
    if (exp < -4 || exp >= 16) {
      String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      return sign + mant + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
    }
    String plain = d.abs().toPlainString();
    if (!plain.contains(".")) plain += ".0";
    return sign + plain;
  }

  static String py(boolean b) {
    return b ? "True" : "False";
  }

  /** Python's repr of a tuple of ints: {@code (3, 3)}, {@code (5,)}. */
  static String py(long[] t) {
    if (t.length == 1) return "(" + t[0] + ",)";
    StringBuilder b = new StringBuilder("(");
    for (int i = 0; i < t.length; i++) b.append(i == 0 ? "" : ", ").append(t[i]);
    return b.append(')').toString();
  }
}
