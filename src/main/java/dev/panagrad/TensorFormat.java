package dev.panagrad;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

/**
 * PyTorch 1.13's {@code repr(tensor)}, character for character.
 *
 * <p>This mirrors {@code torch/_tensor_str.py} with the default print options (precision 4,
 * threshold 1000, edgeitems 3, linewidth 80, sci_mode chosen automatically) for dense CPU tensors
 * of the four {@link DType}s. Floats are printed the way Python's {@code '{:.4f}'}, {@code
 * '{:.4e}'} and {@code '{:.0f}'} print a float64: the exact binary value rounded half-even.
 */
public final class TensorFormat {

  /** Values of a tensor in row-major order. */
  public interface Values {
    double getDouble(long i);

    long getLong(long i);
  }

  // PRINT_OPTS defaults.
  private static final int PRECISION = 4;
  private static final long THRESHOLD = 1000;
  private static final int EDGE_ITEMS = 3;
  private static final int LINE_WIDTH = 80;

  private TensorFormat() {}

  /**
   * What {@code repr(t)} prints in PyTorch 1.13.
   *
   * @param shape the tensor's sizes; empty for a 0-d tensor
   * @param dtype its element type
   * @param values its elements in row-major order ({@code getLong} for int64 and bool, 0 or 1 for
   *     bool; {@code getDouble} for floats, a float32 element widened to double)
   * @param requiresGrad whether to print {@code requires_grad=True} (when there is no grad_fn)
   * @param gradFnName the name printed as {@code grad_fn=<Name>}, or null
   */
  public static String format(
      long[] shape, DType dtype, Values values, boolean requiresGrad, String gradFnName) {
    // _str_intern: the prefix fixes the indent of every continuation line.
    String prefix = "tensor(";
    int indent = prefix.length();
    List<String> suffixes = new ArrayList<>();
    long numel = 1;
    for (long size : shape) {
      numel *= size;
    }
    String tensorStr;
    if (numel == 0) {
      // Empty tensors: the shape unless it is (0,), and the dtype unless it is the default
      // float32, since there are no elements to tell an int64 tensor from a float one.
      if (shape.length != 1) {
        suffixes.add("size=" + pyTuple(shape));
      }
      if (dtype != DType.FLOAT32) {
        suffixes.add("dtype=torch." + dtype.pyName());
      }
      tensorStr = "[]";
    } else {
      // has_default_dtype: the default float dtype, int64 and bool print no dtype.
      boolean hasDefaultDtype =
          dtype == DType.FLOAT32 || dtype == DType.INT64 || dtype == DType.BOOL;
      if (!hasDefaultDtype) {
        suffixes.add("dtype=torch." + dtype.pyName());
      }
      tensorStr = tensorStr(new Tensor(shape, dtype, values), indent);
    }
    if (gradFnName != null) {
      suffixes.add("grad_fn=<" + gradFnName + ">");
    } else if (requiresGrad) {
      suffixes.add("requires_grad=True");
    }
    return addSuffixes(prefix + tensorStr, suffixes, indent);
  }

  /** Row-major strides over the tensor, so that {@code self[i]} is an offset and a dim. */
  private record Tensor(long[] shape, long[] strides, DType dtype, Values values) {
    Tensor(long[] shape, DType dtype, Values values) {
      this(shape, contiguousStrides(shape), dtype, values);
    }

    private static long[] contiguousStrides(long[] shape) {
      long[] strides = new long[shape.length];
      long stride = 1;
      for (int d = shape.length - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= shape[d];
      }
      return strides;
    }
  }

  /** _tensor_str for a non-empty tensor. */
  private static String tensorStr(Tensor t, int indent) {
    long numel = 1;
    for (long size : t.shape()) {
      numel *= size;
    }
    boolean summarize = numel > THRESHOLD;
    // The formatter sees only the elements that get printed (get_summarized_data).
    List<Long> shown = new ArrayList<>();
    summarizedData(t, 0, 0, summarize, shown);
    Formatter formatter = new Formatter(t.dtype(), t.values(), shown);
    return tensorStrWithFormatter(t, 0, 0, indent, summarize, formatter);
  }

  /**
   * get_summarized_data: the element indices kept when summarizing (the first and last {@code
   * edgeitems} along every dim longer than {@code 2 * edgeitems}), or all of them.
   */
  private static void summarizedData(
      Tensor t, int dim, long offset, boolean summarize, List<Long> out) {
    if (dim == t.shape().length) {
      out.add(offset);
      return;
    }
    long size = t.shape()[dim];
    long stride = t.strides()[dim];
    if (summarize && size > 2L * EDGE_ITEMS) {
      for (long i = 0; i < EDGE_ITEMS; i++) {
        summarizedData(t, dim + 1, offset + i * stride, summarize, out);
      }
      for (long i = size - EDGE_ITEMS; i < size; i++) {
        summarizedData(t, dim + 1, offset + i * stride, summarize, out);
      }
    } else {
      for (long i = 0; i < size; i++) {
        summarizedData(t, dim + 1, offset + i * stride, summarize, out);
      }
    }
  }

  /**
   * _tensor_str_with_formatter on the sub-tensor starting at {@code offset} made of the dims from
   * {@code dim} on.
   */
  private static String tensorStrWithFormatter(
      Tensor t, int dim, long offset, int indent, boolean summarize, Formatter formatter) {
    int rank = t.shape().length - dim;
    if (rank == 0) {
      // _scalar_str
      return formatter.format(offset);
    }
    if (rank == 1) {
      return vectorStr(t, dim, offset, indent, summarize, formatter);
    }
    long size = t.shape()[dim];
    long stride = t.strides()[dim];
    List<String> slices = new ArrayList<>();
    if (summarize && size > 2L * EDGE_ITEMS) {
      for (long i = 0; i < EDGE_ITEMS; i++) {
        slices.add(
            tensorStrWithFormatter(
                t, dim + 1, offset + i * stride, indent + 1, summarize, formatter));
      }
      slices.add("...");
      for (long i = size - EDGE_ITEMS; i < size; i++) {
        slices.add(
            tensorStrWithFormatter(
                t, dim + 1, offset + i * stride, indent + 1, summarize, formatter));
      }
    } else {
      for (long i = 0; i < size; i++) {
        slices.add(
            tensorStrWithFormatter(
                t, dim + 1, offset + i * stride, indent + 1, summarize, formatter));
      }
    }
    // Slices are separated by one blank line fewer than the rank of the sub-tensor.
    String separator = "," + "\n".repeat(rank - 1) + " ".repeat(indent + 1);
    return "[" + String.join(separator, slices) + "]";
  }

  /** _vector_str: the last dim, wrapped so that each line fits {@code linewidth}. */
  private static String vectorStr(
      Tensor t, int dim, long offset, int indent, boolean summarize, Formatter formatter) {
    // Each element takes its width plus ", ".
    int elementLength = formatter.width() + 2;
    int elementsPerLine = Math.max(1, Math.floorDiv(LINE_WIDTH - indent, elementLength));

    long size = t.shape()[dim];
    long stride = t.strides()[dim];
    List<String> data = new ArrayList<>();
    if (summarize && size > 2L * EDGE_ITEMS) {
      for (long i = 0; i < EDGE_ITEMS; i++) {
        data.add(formatter.format(offset + i * stride));
      }
      data.add(" ...");
      for (long i = size - EDGE_ITEMS; i < size; i++) {
        data.add(formatter.format(offset + i * stride));
      }
    } else {
      for (long i = 0; i < size; i++) {
        data.add(formatter.format(offset + i * stride));
      }
    }

    List<String> lines = new ArrayList<>();
    for (int i = 0; i < data.size(); i += elementsPerLine) {
      lines.add(String.join(", ", data.subList(i, Math.min(i + elementsPerLine, data.size()))));
    }
    return "[" + String.join(",\n" + " ".repeat(indent + 1), lines) + "]";
  }

  /** _add_suffixes: each suffix goes on the last line unless that would pass the line width. */
  private static String addSuffixes(String tensorStr, List<String> suffixes, int indent) {
    StringBuilder out = new StringBuilder(tensorStr);
    // PyTorch's own arithmetic, rfind's -1 included.
    int lastLineLen = tensorStr.length() - tensorStr.lastIndexOf('\n') + 1;
    for (String suffix : suffixes) {
      int suffixLen = suffix.length();
      if (lastLineLen + suffixLen + 2 > LINE_WIDTH) {
        out.append(",\n").append(" ".repeat(indent)).append(suffix);
        lastLineLen = indent + suffixLen;
      } else {
        out.append(", ").append(suffix);
        lastLineLen += suffixLen + 2;
      }
    }
    return out.append(')').toString();
  }

  /** Python's {@code str(tuple(shape))}: {@code (2, 0)}, {@code (0,)}, {@code ()}. */
  private static String pyTuple(long[] shape) {
    StringBuilder sb = new StringBuilder("(");
    for (int i = 0; i < shape.length; i++) {
      if (i > 0) {
        sb.append(", ");
      }
      sb.append(shape[i]);
    }
    if (shape.length == 1) {
      sb.append(',');
    }
    return sb.append(')').toString();
  }

  /**
   * _Formatter: one width and one mode (int_mode, sci_mode or fixed) for every element of the
   * tensor.
   */
  private static final class Formatter {
    private final DType dtype;
    private final Values values;
    private final boolean floatingDtype;
    private boolean intMode = true;
    private boolean sciMode = false;
    private int maxWidth = 1;

    Formatter(DType dtype, Values values, List<Long> shown) {
      this.dtype = dtype;
      this.values = values;
      this.floatingDtype = dtype.isFloatingPoint();
      if (!floatingDtype) {
        // Integers and bools: the width of the longest "{}".format(value).
        for (long i : shown) {
          maxWidth = Math.max(maxWidth, formatInteger(i).length());
        }
        return;
      }
      // Modes and width are decided by the non-zero finite values only.
      List<Double> nonzeroFinite = new ArrayList<>();
      for (long i : shown) {
        double v = values.getDouble(i);
        if (Double.isFinite(v) && v != 0) {
          nonzeroFinite.add(v);
        }
      }
      if (nonzeroFinite.isEmpty()) {
        return;
      }
      double min = Double.POSITIVE_INFINITY;
      double max = 0;
      for (double v : nonzeroFinite) {
        min = Math.min(min, Math.abs(v));
        max = Math.max(max, Math.abs(v));
        if (v != Math.ceil(v)) {
          intMode = false;
        }
      }
      if (intMode) {
        // All integers: "{:.0f}" plus a trailing "." (hence the +1), unless the range calls for
        // scientific notation.
        if (max / min > 1000.0 || max > 1.0e8) {
          sciMode = true;
          for (double v : nonzeroFinite) {
            maxWidth = Math.max(maxWidth, sci(v).length());
          }
        } else {
          for (double v : nonzeroFinite) {
            maxWidth = Math.max(maxWidth, fixed(v, 0).length() + 1);
          }
        }
      } else {
        if (max / min > 1000.0 || max > 1.0e8 || min < 1.0e-4) {
          sciMode = true;
          for (double v : nonzeroFinite) {
            maxWidth = Math.max(maxWidth, sci(v).length());
          }
        } else {
          for (double v : nonzeroFinite) {
            maxWidth = Math.max(maxWidth, fixed(v, PRECISION).length());
          }
        }
      }
    }

    int width() {
      return maxWidth;
    }

    /** _Formatter.format of the element at {@code index}, right-aligned to the width. */
    String format(long index) {
      String ret;
      if (floatingDtype) {
        double v = values.getDouble(index);
        if (sciMode) {
          ret = sci(v);
        } else if (intMode) {
          ret = fixed(v, 0);
          if (Double.isFinite(v)) {
            ret += ".";
          }
        } else {
          ret = fixed(v, PRECISION);
        }
      } else {
        ret = formatInteger(index);
      }
      return ret.length() >= maxWidth ? ret : " ".repeat(maxWidth - ret.length()) + ret;
    }

    /** Python's {@code "{}".format(value)} of an int64 or bool element. */
    private String formatInteger(long index) {
      long v = values.getLong(index);
      if (dtype == DType.BOOL) {
        return v != 0 ? "True" : "False";
      }
      return Long.toString(v);
    }
  }

  /** Python's {@code '{:.Nf}'.format(v)}: exact value rounded half-even, sign of -0.0 kept. */
  private static String fixed(double v, int decimals) {
    String special = nonFinite(v);
    if (special != null) {
      return special;
    }
    String digits =
        new BigDecimal(Math.abs(v)).setScale(decimals, RoundingMode.HALF_EVEN).toPlainString();
    return signOf(v) + digits;
  }

  /** Python's {@code '{:.4e}'.format(v)}: {@code d.dddde+XX}, at least two exponent digits. */
  private static String sci(double v) {
    String special = nonFinite(v);
    if (special != null) {
      return special;
    }
    String digits;
    int exponent;
    if (v == 0) {
      digits = "0".repeat(PRECISION + 1);
      exponent = 0;
    } else {
      BigDecimal rounded =
          new BigDecimal(Math.abs(v)).round(new MathContext(PRECISION + 1, RoundingMode.HALF_EVEN));
      String unscaled = rounded.unscaledValue().toString();
      // rounded = unscaled * 10^-scale = u.uuu * 10^(len - 1 - scale)
      exponent = unscaled.length() - 1 - rounded.scale();
      digits = (unscaled + "0".repeat(PRECISION + 1)).substring(0, PRECISION + 1);
    }
    String mantissa = digits.charAt(0) + "." + digits.substring(1);
    int absExponent = Math.abs(exponent);
    return signOf(v)
        + mantissa
        + "e"
        + (exponent < 0 ? "-" : "+")
        + (absExponent < 10 ? "0" : "")
        + absExponent;
  }

  /** Python prints NaN (of either sign) as {@code nan}, infinities as {@code inf}/{@code -inf}. */
  private static String nonFinite(double v) {
    if (Double.isNaN(v)) {
      return "nan";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "inf" : "-inf";
    }
    return null;
  }

  private static String signOf(double v) {
    return Double.doubleToRawLongBits(v) < 0 ? "-" : "";
  }
}
