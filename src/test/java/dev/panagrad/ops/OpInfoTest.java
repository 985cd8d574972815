package dev.panagrad.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.panagrad.DType;
import dev.panagrad.F;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Autograd;
import dev.panagrad.random.Generator;
import dev.panagrad.testing.Gradcheck;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * A table-driven suite in the manner of PyTorch's OpInfo: one row per differentiable op (every op
 * of the conformance registry, several call forms for some), each checked the same five ways:
 * float64 gradcheck, non-contiguous inputs, backward twice with a retained graph, a zero upstream
 * gradient, and float32 against float64. A second table, {@link #ERRORS}, holds bad inputs and the
 * exception each must raise, in PyTorch's words.
 */
class OpInfoTest {

  /**
   * One row: the op's name, how to draw its float64 sample inputs from a seeded generator, which
   * inputs are differentiated (null: every floating input), and the function.
   */
  record OpInfo(
      String name,
      Function<Generator, Tensor[]> sample,
      int[] diff,
      Function<Tensor[], Tensor> fn) {
    Tensor[] inputs(long seed) {
      return sample.apply(new Generator(seed));
    }

    int[] diffOf(Tensor[] in) {
      if (diff != null) return diff;
      int[] out = new int[in.length];
      int n = 0;
      for (int i = 0; i < in.length; i++) if (in[i].dtype().isFloatingPoint()) out[n++] = i;
      return Arrays.copyOf(out, n);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  // ------------------------------------------------------------------ samples

  static Tensor randn(Generator g, long... shape) {
    return Torch.randn(DType.FLOAT64, g, shape);
  }

  static Tensor uniform(Generator g, double lo, double hi, long... shape) {
    double[] d = new double[Math.toIntExact(numel(shape))];
    for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * g.nextUniformDouble();
    return Torch.tensor(d, DType.FLOAT64, shape);
  }

  /** Uniform in (-2, 2), every value at least 0.1 away from each of {@code points}. */
  static Tensor away(Generator g, double[] points, long... shape) {
    double[] d = uniform(g, -2, 2, shape).toDoubleArray();
    for (int i = 0; i < d.length; i++) {
      for (double p : points) {
        if (Math.abs(d[i] - p) < 0.1) d[i] = p + (d[i] >= p ? 0.1 : -0.1) + 0.3 * (d[i] - p);
      }
    }
    return Torch.tensor(d, DType.FLOAT64, shape);
  }

  /** Uniform in (-2, 2) with no value within 0.1 of zero. */
  static Tensor nonzero(Generator g, long... shape) {
    return away(g, new double[] {0}, shape);
  }

  static Tensor positive(Generator g, long... shape) {
    return uniform(g, 0.5, 2, shape);
  }

  static Tensor mask(Generator g, long... shape) {
    double[] d = new double[Math.toIntExact(numel(shape))];
    for (int i = 0; i < d.length; i++) d[i] = g.nextUniformDouble() < 0.5 ? 1 : 0;
    return Torch.tensor(d, DType.BOOL, shape);
  }

  static Tensor longs(long[] shape, long... values) {
    return Torch.tensor(values).reshape(shape);
  }

  static Tensor randint(Generator g, long high, long... shape) {
    return Torch.randint(0, high, g, shape);
  }

  /** {@code a} plus a value of either sign at least 0.1 in size: no ties with {@code a}. */
  static Tensor apart(Generator g, Tensor a) {
    return a.add(nonzero(g, a.shape()));
  }

  static long numel(long[] shape) {
    long n = 1;
    for (long s : shape) n *= s;
    return n;
  }

  static long[] s(long... v) {
    return v;
  }

  static Tensor[] in(Tensor... t) {
    return t;
  }

  // ------------------------------------------------------------------ the table

  static final List<OpInfo> OPS = new ArrayList<>();

  static void op(String name, Function<Generator, Tensor[]> sample, Function<Tensor[], Tensor> f) {
    OPS.add(new OpInfo(name, sample, null, f));
  }

  static void op(
      String name, Function<Generator, Tensor[]> sample, int[] diff, Function<Tensor[], Tensor> f) {
    OPS.add(new OpInfo(name, sample, diff, f));
  }

  static {
    // Unary pointwise and activations.
    op("neg", g -> in(randn(g, 3, 4)), x -> x[0].neg());
    op("exp", g -> in(randn(g, 3, 4)), x -> x[0].exp());
    op("log", g -> in(positive(g, 3, 4)), x -> x[0].log());
    op("sqrt", g -> in(positive(g, 3, 4)), x -> x[0].sqrt());
    op("abs", g -> in(nonzero(g, 3, 4)), x -> x[0].abs());
    op("tanh", g -> in(randn(g, 3, 4)), x -> x[0].tanh());
    op("sigmoid", g -> in(randn(g, 3, 4)), x -> x[0].sigmoid());
    op("relu", g -> in(nonzero(g, 3, 4)), x -> x[0].relu());
    op("sin", g -> in(randn(g, 3, 4)), x -> x[0].sin());
    op("cos", g -> in(randn(g, 3, 4)), x -> x[0].cos());
    op("reciprocal", g -> in(nonzero(g, 3, 4)), x -> x[0].reciprocal());
    op("gelu", g -> in(randn(g, 3, 4)), x -> F.gelu(x[0]));
    op("silu", g -> in(randn(g, 3, 4)), x -> F.silu(x[0]));
    op("leaky_relu", g -> in(nonzero(g, 3, 4)), x -> F.leakyRelu(x[0], 0.01));
    op("leaky_relu_slope", g -> in(nonzero(g, 2, 3, 2)), x -> F.leakyRelu(x[0], 0.2));
    op("elu", g -> in(nonzero(g, 3, 4)), x -> F.elu(x[0], 1));
    op("elu_alpha", g -> in(nonzero(g, 3, 4)), x -> F.elu(x[0], 0.5));
    op("softplus", g -> in(randn(g, 3, 4).mul(3)), x -> F.softplus(x[0]));
    op(
        "softplus_beta_threshold",
        g -> in(away(g, new double[] {0.5}, 3, 4)),
        x -> Elementwise.softplus(x[0], 2, 1));
    op("neg_0d", g -> in(randn(g)), x -> x[0].neg());
    op("exp_1d", g -> in(randn(g, 5)), x -> x[0].exp());

    // With a scalar.
    op("add_scalar", g -> in(randn(g, 3, 4)), x -> x[0].add(2.5));
    op("sub_scalar", g -> in(randn(g, 3, 4)), x -> x[0].sub(1.5));
    op("rsub_scalar", g -> in(randn(g, 3, 4)), x -> x[0].rsub(2));
    op("mul_scalar", g -> in(randn(g, 3, 4)), x -> x[0].mul(-3));
    op("div_scalar", g -> in(randn(g, 3, 4)), x -> x[0].div(4));
    op("pow_scalar", g -> in(randn(g, 3, 4)), x -> x[0].pow(3));
    op("pow_scalar_square", g -> in(randn(g, 3, 4)), x -> x[0].pow(2));
    op("pow_scalar_fractional", g -> in(positive(g, 3, 4)), x -> x[0].pow(2.5));
    op("pow_scalar_negative", g -> in(positive(g, 3, 4)), x -> x[0].pow(-1.5));
    op("clamp", g -> in(away(g, new double[] {-0.5, 0.5}, 3, 4)), x -> x[0].clamp(-0.5, 0.5));
    op("clamp_min", g -> in(away(g, new double[] {0.2}, 3, 4)), x -> x[0].clamp(0.2));
    op("clamp_max", g -> in(away(g, new double[] {-0.3}, 3, 4)), x -> x[0].clampMax(-0.3));

    // Two tensors, broadcasting.
    op("add", g -> in(randn(g, 3, 4), randn(g, 3, 4)), x -> x[0].add(x[1]));
    op("add_broadcast", g -> in(randn(g, 3, 4), randn(g, 4)), x -> x[0].add(x[1]));
    op("add_alpha", g -> in(randn(g, 2, 1, 4), randn(g, 3, 1)), x -> x[0].add(x[1], 0.5));
    op("add_0d", g -> in(randn(g, 3, 4), randn(g)), x -> x[0].add(x[1]));
    op("sub", g -> in(randn(g, 3, 1), randn(g, 1, 4)), x -> x[0].sub(x[1]));
    op("sub_alpha", g -> in(randn(g, 4), randn(g, 2, 3, 4)), x -> x[0].sub(x[1], 2));
    op("mul", g -> in(randn(g, 3, 4), randn(g, 3, 4)), x -> x[0].mul(x[1]));
    op("mul_broadcast", g -> in(randn(g, 2, 3, 4), randn(g, 3, 1)), x -> x[0].mul(x[1]));
    op("mul_0d", g -> in(randn(g), randn(g, 3, 4)), x -> x[0].mul(x[1]));
    op("div", g -> in(randn(g, 3, 4), nonzero(g, 3, 4)), x -> x[0].div(x[1]));
    op("div_broadcast", g -> in(randn(g, 3, 1), nonzero(g, 2, 1, 4)), x -> x[0].div(x[1]));
    op("pow", g -> in(positive(g, 3, 4), randn(g, 3, 4)), x -> x[0].pow(x[1]));
    op("pow_broadcast", g -> in(positive(g, 3, 4), randn(g, 4)), x -> x[0].pow(x[1]));
    op(
        "maximum",
        g -> {
          Tensor a = randn(g, 3, 4);
          return in(a, apart(g, a));
        },
        x -> x[0].maximum(x[1]));
    op(
        "maximum_broadcast",
        g -> {
          Tensor b = randn(g, 4);
          return in(apart(g, b.expand(3, 4)), b);
        },
        x -> x[0].maximum(x[1]));
    op(
        "minimum",
        g -> {
          Tensor a = randn(g, 3, 4);
          return in(apart(g, a), a);
        },
        x -> x[0].minimum(x[1]));
    op(
        "minimum_broadcast",
        g -> {
          Tensor b = randn(g, 3, 1);
          return in(b, apart(g, b.expand(3, 4)));
        },
        x -> x[0].minimum(x[1]));
    op(
        "where",
        g -> in(mask(g, 3, 4), randn(g, 3, 4), randn(g, 4)),
        x -> Torch.where(x[0], x[1], x[2]));
    op(
        "where_broadcast_cond",
        g -> in(mask(g, 4), randn(g, 3, 1), randn(g, 3, 4)),
        x -> Torch.where(x[0], x[1], x[2]));
    op("masked_fill", g -> in(randn(g, 3, 4), mask(g, 3, 4)), x -> x[0].maskedFill(x[1], -1));
    op("masked_fill_broadcast", g -> in(randn(g, 3, 4), mask(g, 4)), x -> x[0].maskedFill(x[1], 2));

    // Linear algebra: matmul at every rank combination.
    op("matmul_1_1", g -> in(randn(g, 4), randn(g, 4)), x -> x[0].matmul(x[1]));
    op("matmul_2_1", g -> in(randn(g, 3, 4), randn(g, 4)), x -> x[0].matmul(x[1]));
    op("matmul_1_2", g -> in(randn(g, 4), randn(g, 4, 5)), x -> x[0].matmul(x[1]));
    op("matmul_2_2", g -> in(randn(g, 3, 4), randn(g, 4, 5)), x -> x[0].matmul(x[1]));
    op("matmul_3_1", g -> in(randn(g, 2, 3, 4), randn(g, 4)), x -> x[0].matmul(x[1]));
    op("matmul_3_2", g -> in(randn(g, 2, 3, 4), randn(g, 4, 5)), x -> x[0].matmul(x[1]));
    op("matmul_1_3", g -> in(randn(g, 4), randn(g, 2, 4, 5)), x -> x[0].matmul(x[1]));
    op("matmul_2_3", g -> in(randn(g, 3, 4), randn(g, 2, 4, 5)), x -> x[0].matmul(x[1]));
    op("matmul_3_3", g -> in(randn(g, 2, 3, 4), randn(g, 2, 4, 5)), x -> x[0].matmul(x[1]));
    op(
        "matmul_4_3_broadcast",
        g -> in(randn(g, 2, 1, 3, 4), randn(g, 3, 4, 2)),
        x -> x[0].matmul(x[1]));
    op("mm", g -> in(randn(g, 3, 4), randn(g, 4, 5)), x -> x[0].mm(x[1]));
    op(
        "linear_2d_bias",
        g -> in(randn(g, 3, 4), randn(g, 5, 4), randn(g, 5)),
        x -> LinearAlgebra.linear(x[0], x[1], x[2]));
    op(
        "linear_2d",
        g -> in(randn(g, 3, 4), randn(g, 5, 4)),
        x -> LinearAlgebra.linear(x[0], x[1], null));
    op(
        "linear_3d_bias",
        g -> in(randn(g, 2, 3, 4), randn(g, 5, 4), randn(g, 5)),
        x -> LinearAlgebra.linear(x[0], x[1], x[2]));
    op(
        "linear_3d",
        g -> in(randn(g, 2, 3, 4), randn(g, 5, 4)),
        x -> LinearAlgebra.linear(x[0], x[1], null));
    op(
        "linear_1d_bias",
        g -> in(randn(g, 4), randn(g, 5, 4), randn(g, 5)),
        x -> LinearAlgebra.linear(x[0], x[1], x[2]));

    // Shape and views.
    op("t", g -> in(randn(g, 3, 4)), x -> x[0].t());
    op("t_1d", g -> in(randn(g, 4)), x -> x[0].t());
    op("transpose", g -> in(randn(g, 2, 3, 4)), x -> x[0].transpose(0, 2));
    op("transpose_negative", g -> in(randn(g, 2, 3, 4)), x -> x[0].transpose(-1, 1));
    op("permute", g -> in(randn(g, 2, 3, 4)), x -> x[0].permute(2, 0, 1));
    op("reshape", g -> in(randn(g, 3, 4)), x -> x[0].reshape(2, 6));
    op("reshape_infer", g -> in(randn(g, 2, 3, 4)), x -> x[0].reshape(-1));
    op("reshape_of_transpose", g -> in(randn(g, 3, 4)), x -> x[0].t().reshape(12));
    op("view", g -> in(randn(g, 3, 4)), x -> x[0].view(3, 2, 2));
    op("view_infer", g -> in(randn(g, 2, 3, 4)), x -> x[0].view(-1, 4));
    op("unsqueeze", g -> in(randn(g, 3, 4)), x -> x[0].unsqueeze(1));
    op("unsqueeze_last", g -> in(randn(g, 3, 4)), x -> x[0].unsqueeze(-1));
    op("squeeze", g -> in(randn(g, 3, 1, 4, 1)), x -> x[0].squeeze());
    op("squeeze_dim", g -> in(randn(g, 3, 1, 4)), x -> x[0].squeeze(1));
    op("flatten", g -> in(randn(g, 2, 3, 4)), x -> x[0].flatten());
    op("flatten_from", g -> in(randn(g, 2, 3, 2, 2)), x -> x[0].flatten(1, 2));
    op("expand", g -> in(randn(g, 3, 1)), x -> x[0].expand(2, 3, 4));
    op("expand_keep", g -> in(randn(g, 1, 4)), x -> x[0].expand(-1, 4).expand(3, 4));
    op("cat", g -> in(randn(g, 2, 3), randn(g, 2, 1), randn(g, 2, 2)), x -> Torch.cat(x, 1));
    op("cat_dim0", g -> in(randn(g, 1, 3), randn(g, 2, 3)), x -> Torch.cat(x, 0));
    op("stack", g -> in(randn(g, 2, 3), randn(g, 2, 3), randn(g, 2, 3)), x -> Torch.stack(x, 1));
    op("stack_last", g -> in(randn(g, 3), randn(g, 3)), x -> Torch.stack(x, -1));
    op("narrow", g -> in(randn(g, 3, 5)), x -> x[0].narrow(1, 1, 3));
    op("select", g -> in(randn(g, 3, 4)), x -> x[0].select(0, 1));
    op("select_negative", g -> in(randn(g, 2, 3, 4)), x -> x[0].select(1, -1));
    op(
        "index_select",
        g -> in(randn(g, 3, 4), longs(s(5), 2, 0, 2, 1, 2)),
        x -> x[0].indexSelect(0, x[1]));
    op(
        "index_select_dim1",
        g -> in(randn(g, 2, 4, 3), longs(s(3), 3, 3, 0)),
        x -> x[0].indexSelect(1, x[1]));
    op("gather", g -> in(randn(g, 3, 4), randint(g, 4, 3, 2)), x -> x[0].gather(1, x[1]));
    op("gather_dim0", g -> in(randn(g, 3, 4), randint(g, 3, 2, 4)), x -> x[0].gather(0, x[1]));
    op(
        "embedding",
        g -> in(longs(s(2, 3), 0, 4, 4, 1, 0, 2), randn(g, 5, 3)),
        x -> F.embedding(x[0], x[1]));

    // Reductions.
    op("sum", g -> in(randn(g, 3, 4)), x -> x[0].sum());
    op("sum_dims_keepdim", g -> in(randn(g, 2, 3, 4)), x -> x[0].sum(s(0, 2), true));
    op("sum_dim", g -> in(randn(g, 2, 3, 4)), x -> x[0].sum(-1));
    op("mean", g -> in(randn(g, 3, 4)), x -> x[0].mean());
    op("mean_dims_keepdim", g -> in(randn(g, 2, 3, 4)), x -> x[0].mean(s(1, 2), true));
    op("mean_dim", g -> in(randn(g, 2, 3, 4)), x -> x[0].mean(0));
    op("amax", g -> in(randn(g, 3, 4)), x -> x[0].amax(s(1), false));
    op("amax_keepdim", g -> in(randn(g, 2, 3, 4)), x -> x[0].amax(s(0, 2), true));
    op("amin", g -> in(randn(g, 3, 4)), x -> x[0].amin(s(0), false));
    op("amin_keepdim", g -> in(randn(g, 2, 3, 4)), x -> x[0].amin(s(-1), true));
    op("max", g -> in(randn(g, 3, 4)), x -> x[0].max());
    op("min", g -> in(randn(g, 3, 4)), x -> x[0].min());
    op("norm", g -> in(randn(g, 3, 4)), x -> x[0].norm());
    op("var", g -> in(randn(g, 3, 4)), x -> x[0].var());
    op("var_dims", g -> in(randn(g, 2, 3, 4)), x -> x[0].var(s(0, 2), false, true));
    op("var_dim_unbiased", g -> in(randn(g, 3, 4)), x -> x[0].var(s(1), true, false));
    op("logsumexp", g -> in(randn(g, 3, 4)), x -> x[0].logsumexp(s(1), false));
    op("logsumexp_keepdim", g -> in(randn(g, 2, 3, 4)), x -> x[0].logsumexp(s(0, 2), true));
    op("softmax", g -> in(randn(g, 2, 3, 4)), x -> F.softmax(x[0], 1));
    op("softmax_dim0", g -> in(randn(g, 3, 4)), x -> F.softmax(x[0], 0));
    op("log_softmax", g -> in(randn(g, 2, 3, 4)), x -> F.logSoftmax(x[0], -1));
    op("log_softmax_dim0", g -> in(randn(g, 3, 4)), x -> F.logSoftmax(x[0], 0));

    // Losses.
    op("mse_loss", g -> in(randn(g, 3, 4), randn(g, 3, 4)), x -> F.mseLoss(x[0], x[1]));
    op(
        "mse_loss_none",
        g -> in(randn(g, 3, 4), randn(g, 3, 4)),
        x -> F.mseLoss(x[0], x[1], "none"));
    op(
        "l1_loss",
        g -> {
          Tensor y = randn(g, 3, 4);
          return in(apart(g, y), y);
        },
        x -> F.l1Loss(x[0], x[1]));
    op(
        "l1_loss_sum",
        g -> {
          Tensor y = randn(g, 3, 4);
          return in(apart(g, y), y);
        },
        x -> F.l1Loss(x[0], x[1], "sum"));
    op(
        "binary_cross_entropy",
        g -> in(uniform(g, 0.1, 0.9, 3, 4), uniform(g, 0, 1, 3, 4)),
        x -> F.binaryCrossEntropy(x[0], x[1]));
    op(
        "binary_cross_entropy_none",
        g -> in(uniform(g, 0.1, 0.9, 3, 4), uniform(g, 0, 1, 3, 4)),
        x -> F.binaryCrossEntropy(x[0], x[1], "none"));
    op(
        "binary_cross_entropy_with_logits",
        g -> in(randn(g, 3, 4).mul(2), uniform(g, 0, 1, 3, 4)),
        x -> F.binaryCrossEntropyWithLogits(x[0], x[1]));
    op(
        "binary_cross_entropy_with_logits_sum",
        g -> in(randn(g, 3, 4).mul(2), uniform(g, 0, 1, 3, 4)),
        x -> F.binaryCrossEntropyWithLogits(x[0], x[1], "sum"));
    op(
        "nll_loss",
        g -> in(uniform(g, -3, 0, 4, 3), longs(s(4), 0, 2, 1, 2)),
        x -> F.nllLoss(x[0], x[1]));
    op(
        "nll_loss_none",
        g -> in(uniform(g, -3, 0, 4, 3), longs(s(4), 0, 2, 1, 2)),
        x -> F.nllLoss(x[0], x[1], "none"));
    op(
        "nll_loss_1d",
        g -> in(uniform(g, -3, 0, 3), longs(s(), 1)),
        x -> F.nllLoss(x[0], x[1], "sum"));
    op(
        "cross_entropy",
        g -> in(randn(g, 5, 3), longs(s(5), 0, 2, 1, 2, 0)),
        x -> F.crossEntropy(x[0], x[1]));
    op(
        "cross_entropy_sum",
        g -> in(randn(g, 5, 3), longs(s(5), 0, 2, 1, 2, 0)),
        x -> F.crossEntropy(x[0], x[1], "sum"));

    // Edge shapes: empty tensors, size-one dims, 0-d.
    op("sum_empty", g -> in(randn(g, 0, 3)), x -> x[0].sum());
    op("sum_dim_empty", g -> in(randn(g, 0, 3)), x -> x[0].sum(0));
    op("add_empty_broadcast", g -> in(randn(g, 0, 3), randn(g, 3)), x -> x[0].add(x[1]));
    op("matmul_2_2_empty_inner", g -> in(randn(g, 2, 0), randn(g, 0, 3)), x -> x[0].matmul(x[1]));
    op("cat_with_empty", g -> in(randn(g, 2, 0), randn(g, 2, 3)), x -> Torch.cat(x, 1));
    op("sum_0d", g -> in(randn(g)), x -> x[0].sum());
    op("mean_all_dims", g -> in(randn(g, 2, 3)), x -> x[0].mean(s(-1, 0), false));
    op("softmax_size_one_dim", g -> in(randn(g, 3, 1)), x -> F.softmax(x[0], 1));
    op("amax_size_one_dims", g -> in(randn(g, 1, 4, 1)), x -> x[0].amax(s(0, 1), false));
    op("expand_0d", g -> in(randn(g)), x -> x[0].expand(2, 3));
    op("mul_size_one_both", g -> in(randn(g, 1, 3), randn(g, 4, 1)), x -> x[0].mul(x[1]));
    op("matmul_1_4_broadcast", g -> in(randn(g, 3), randn(g, 2, 1, 3, 2)), x -> x[0].matmul(x[1]));
    op("matmul_4_1", g -> in(randn(g, 2, 2, 3, 4), randn(g, 4)), x -> x[0].matmul(x[1]));
    op(
        "linear_4d_bias",
        g -> in(randn(g, 2, 1, 3, 4), randn(g, 5, 4), randn(g, 5)),
        x -> LinearAlgebra.linear(x[0], x[1], x[2]));
    op(
        "index_select_0d_index",
        g -> in(randn(g, 3, 4), longs(s(), 2)),
        x -> x[0].indexSelect(1, x[1]));
    op("embedding_0d_index", g -> in(longs(s(), 3), randn(g, 5, 2)), x -> F.embedding(x[0], x[1]));
    op("cross_entropy_1d", g -> in(randn(g, 4), longs(s(), 3)), x -> F.crossEntropy(x[0], x[1]));
    op(
        "layer_norm_1d",
        g -> in(randn(g, 5), randn(g, 5), randn(g, 5)),
        x -> F.layerNorm(x[0], s(5), x[1], x[2], 1e-5));
    op(
        "max_pool2d_unbatched",
        g -> in(randn(g, 2, 5, 5)),
        x -> F.maxPool2d(x[0], s(2, 2), s(1, 2), s(0, 1)));
    op(
        "avg_pool2d_unbatched",
        g -> in(randn(g, 2, 5, 4)),
        x -> F.avgPool2d(x[0], s(2), s(1), s(1)));

    // Normalization, convolution, pooling.
    op(
        "layer_norm",
        g -> in(randn(g, 3, 2, 3), randn(g, 2, 3), randn(g, 2, 3)),
        x -> F.layerNorm(x[0], s(2, 3), x[1], x[2], 1e-5));
    op("layer_norm_plain", g -> in(randn(g, 3, 4)), x -> F.layerNorm(x[0], 4));
    op(
        "batch_norm",
        g -> in(randn(g, 3, 2, 2, 3), randn(g, 2), randn(g, 2)),
        x -> F.batchNorm(x[0], null, null, x[1], x[2], true));
    op(
        "batch_norm_2d_input",
        g -> in(randn(g, 5, 3)),
        x -> F.batchNorm(x[0], null, null, null, null, true));
    op(
        "conv2d",
        g -> in(randn(g, 2, 3, 5, 6), randn(g, 4, 3, 3, 2), randn(g, 4)),
        x -> F.conv2d(x[0], x[1], x[2], s(2, 1), s(1, 2)));
    op(
        "conv2d_groups_dilation",
        g -> in(randn(g, 1, 4, 6, 5), randn(g, 6, 2, 2, 2)),
        x -> F.conv2d(x[0], x[1], null, s(1), s(1), s(2), 2));
    op(
        "conv2d_unbatched",
        g -> in(randn(g, 2, 4, 4), randn(g, 3, 2, 2, 2)),
        x -> F.conv2d(x[0], x[1]));
    op(
        "max_pool2d",
        g -> in(randn(g, 2, 2, 6, 5)),
        x -> F.maxPool2d(x[0], s(3, 2), s(2, 1), s(1, 1)));
    op("max_pool2d_default", g -> in(randn(g, 1, 2, 4, 4)), x -> F.maxPool2d(x[0], 2));
    op(
        "avg_pool2d",
        g -> in(randn(g, 2, 2, 7, 6)),
        x -> F.avgPool2d(x[0], s(3, 3), s(2, 2), s(1, 1)));
    op(
        "avg_pool2d_no_pad_count",
        g -> in(randn(g, 1, 2, 7, 5)),
        x -> F.avgPool2d(x[0], s(3, 2), null, s(1, 1), true, false, 0));
  }

  /** Rows whose op needs strides it can view: a Fortran-order input must be refused. */
  static final Set<String> VIEW_ONLY = Set.of("view_infer");

  /** Every op name of the conformance registry with a differentiable float input. */
  static final Set<String> REGISTRY_OPS =
      Set.of(
          "neg",
          "exp",
          "log",
          "sqrt",
          "abs",
          "tanh",
          "sigmoid",
          "relu",
          "sin",
          "cos",
          "reciprocal",
          "gelu",
          "silu",
          "leaky_relu",
          "elu",
          "softplus",
          "clamp",
          "add",
          "sub",
          "mul",
          "div",
          "pow",
          "maximum",
          "minimum",
          "where",
          "masked_fill",
          "matmul",
          "mm",
          "linear",
          "t",
          "transpose",
          "permute",
          "reshape",
          "view",
          "unsqueeze",
          "squeeze",
          "flatten",
          "expand",
          "cat",
          "stack",
          "narrow",
          "select",
          "sum",
          "mean",
          "amax",
          "amin",
          "max",
          "min",
          "norm",
          "var",
          "logsumexp",
          "softmax",
          "log_softmax",
          "mse_loss",
          "l1_loss",
          "binary_cross_entropy_with_logits",
          "binary_cross_entropy",
          "nll_loss",
          "cross_entropy",
          "index_select",
          "gather",
          "embedding",
          "conv2d",
          "max_pool2d",
          "avg_pool2d",
          "layer_norm",
          "batch_norm");

  @Test
  void everyRegistryOpHasARow() {
    Set<String> names = new HashSet<>();
    for (OpInfo o : OPS) names.add(o.name());
    List<String> missing = new ArrayList<>();
    for (String op : REGISTRY_OPS) {
      boolean found = false;
      for (String n : names) found |= n.equals(op) || n.startsWith(op + "_");
      if (!found) missing.add(op);
    }
    assertTrue(missing.isEmpty(), "ops without a row: " + missing);
    assertEquals(OPS.size(), names.size(), "row names are unique");
  }

  /**
   * Ops PyTorch gives no error input: they take every dtype (integers and bools promote to the
   * default float dtype), every shape and no dim.
   */
  static final Set<String> NO_ERROR_INPUTS =
      Set.of("exp", "log", "sqrt", "tanh", "sigmoid", "sin", "cos", "reciprocal");

  @Test
  void everyRegistryOpHasAnErrorRow() {
    List<String> missing = new ArrayList<>();
    for (String op : REGISTRY_OPS) {
      if (NO_ERROR_INPUTS.contains(op)) continue;
      boolean found = false;
      for (ErrorInput e : ERRORS) found |= e.name().equals(op) || e.name().startsWith(op + "_");
      if (!found) missing.add(op);
    }
    assertTrue(missing.isEmpty(), "ops without an error row: " + missing);
  }

  // ------------------------------------------------------------------ the five checks

  @TestFactory
  Stream<DynamicNode> opinfo() {
    List<DynamicNode> rows = new ArrayList<>();
    for (int i = 0; i < OPS.size(); i++) {
      OpInfo op = OPS.get(i);
      long seed = 1000 + i;
      rows.add(
          DynamicContainer.dynamicContainer(
              op.name(),
              Stream.of(
                  DynamicTest.dynamicTest("gradcheck", () -> gradcheck(op, seed)),
                  DynamicTest.dynamicTest(
                      "noncontiguousStrided", () -> noncontiguous(op, seed, false)),
                  DynamicTest.dynamicTest(
                      "noncontiguousTransposed", () -> noncontiguous(op, seed, true)),
                  DynamicTest.dynamicTest("retainedGraphTwice", () -> twice(op, seed)),
                  DynamicTest.dynamicTest("zeroUpstream", () -> zeroUpstream(op, seed)),
                  DynamicTest.dynamicTest("float32", () -> float32(op, seed)))));
    }
    return rows.stream();
  }

  /** Marks the inputs at {@code diff} as requiring grad (leaves); returns them. */
  static Tensor[] leaves(Tensor[] in, int[] diff) {
    for (int k : diff) in[k].requiresGrad_(true);
    return in;
  }

  static Tensor[] pick(Tensor[] in, int[] diff) {
    Tensor[] out = new Tensor[diff.length];
    for (int i = 0; i < diff.length; i++) out[i] = in[diff[i]];
    return out;
  }

  /** A random upstream gradient for {@code out}, from its own stream. */
  static Tensor gradOutput(Tensor out, long seed) {
    return randn(new Generator(seed + 7919), out.shape());
  }

  static void gradcheck(OpInfo op, long seed) {
    Tensor[] in = op.inputs(seed);
    int[] diff = op.diffOf(in);
    assertTrue(diff.length > 0, "no differentiable input");
    leaves(in, diff);
    Tensor out = op.fn().apply(in);
    assertEquals(DType.FLOAT64, out.dtype(), "output dtype");
    assertTrue(out.requiresGrad(), "output requires grad");
    assertNotNull(out.gradFn(), "grad_fn");
    Tensor gOut = gradOutput(out, seed);
    Gradcheck.check(op.fn(), in, diff, gOut);
    for (int k = 0; k < in.length; k++) {
      assertNull(in[k].grad(), "autograd.grad left .grad of input " + k + " alone");
    }
  }

  /**
   * A copy of {@code x} with the same values, non-contiguous strides and a storage offset, in a
   * NaN-filled buffer, so a kernel that ignores strides or the offset reads NaN or wrong values.
   * Fortran order reverses the memory order of the dims (a transposed copy transposed back) and
   * needs two dims of size above one; otherwise, and for the strided layout, every contiguous
   * stride is doubled (a slice {@code [..., ::2]} of a bigger tensor).
   */
  static Tensor noncontiguousCopy(Tensor x, boolean fortran) {
    long[] shape = x.shape();
    long n = x.numel();
    int big = 0;
    for (long d : shape) if (d > 1) big++;
    long[] strides = new long[shape.length];
    if (fortran && big >= 2) {
      long st = 1;
      for (int d = 0; d < shape.length; d++) {
        strides[d] = st;
        st *= Math.max(shape[d], 1);
      }
    } else {
      long st = 2;
      for (int d = shape.length - 1; d >= 0; d--) {
        strides[d] = st;
        st *= Math.max(shape[d], 1);
      }
    }
    double fill = x.dtype().isFloatingPoint() ? Double.NaN : 1;
    Tensor buf = Torch.full(x.dtype(), s(2 * n + 3), fill);
    Tensor v = buf.rawView(shape, strides, 3);
    try (var ng = Torch.noGrad()) {
      v.copy_(x);
    }
    Tensor out = v.detach();
    assertTrue(out.storageOffset() == 3 && (n <= 1 || !out.isContiguous()));
    assertArrayEquals(x.toDoubleArray(), out.toDoubleArray());
    return out;
  }

  static void assertClose(String what, Tensor expected, Tensor actual, double atol, double rtol) {
    assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
    double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
    for (int i = 0; i < e.length; i++) {
      if (e[i] == a[i]) continue;
      if (!(Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]))) {
        fail(what + ": element " + i + " expected " + e[i] + " but was " + a[i]);
      }
    }
  }

  /**
   * Every input (and the upstream gradient) as a non-contiguous copy gives the forward values and
   * gradients of the contiguous inputs.
   */
  static void noncontiguous(OpInfo op, long seed, boolean fortran) {
    Tensor[] in = op.inputs(seed);
    int[] diff = op.diffOf(in);
    Tensor[] nc = new Tensor[in.length];
    for (int k = 0; k < in.length; k++) nc[k] = noncontiguousCopy(in[k], fortran);
    leaves(in, diff);
    leaves(nc, diff);
    if (fortran && VIEW_ONLY.contains(op.name())) {
      // view cannot merge dims laid out in reverse order; PyTorch refuses too.
      var e = assertThrows(IllegalArgumentException.class, () -> op.fn().apply(nc));
      assertTrue(e.getMessage().startsWith("view size is not compatible with input tensor's size"));
      return;
    }
    Tensor out = op.fn().apply(in), ncOut = op.fn().apply(nc);
    assertClose("forward", out, ncOut, 1e-12, 1e-12);
    Tensor gOut = gradOutput(out, seed);
    Tensor[] g =
        Autograd.grad(new Tensor[] {out}, pick(in, diff), new Tensor[] {gOut}, false, false, false);
    Tensor[] ncg =
        Autograd.grad(
            new Tensor[] {ncOut},
            pick(nc, diff),
            new Tensor[] {noncontiguousCopy(gOut, fortran)},
            false,
            false,
            false);
    for (int i = 0; i < diff.length; i++) {
      assertClose("grad of input " + diff[i], g[i], ncg[i], 1e-12, 1e-12);
    }
  }

  static void twice(OpInfo op, long seed) {
    Tensor[] in = op.inputs(seed);
    int[] diff = op.diffOf(in);
    leaves(in, diff);
    Tensor out = op.fn().apply(in);
    Tensor gOut = gradOutput(out, seed);
    out.backward(gOut, true);
    Tensor[] first = new Tensor[in.length];
    for (int k : diff) {
      assertNotNull(in[k].grad(), "grad of input " + k + " after one backward");
      first[k] = in[k].grad().clone();
    }
    out.backward(gOut, true);
    for (int k : diff) {
      Tensor twiceGrad = in[k].grad();
      assertArrayEquals(in[k].shape(), twiceGrad.shape(), "grad shape of input " + k);
      double[] once = first[k].toDoubleArray(), two = twiceGrad.toDoubleArray();
      for (int j = 0; j < once.length; j++) {
        assertEquals(2 * once[j], two[j], 0.0, "input " + k + " element " + j);
      }
    }
  }

  static void zeroUpstream(OpInfo op, long seed) {
    Tensor[] in = op.inputs(seed);
    int[] diff = op.diffOf(in);
    leaves(in, diff);
    Tensor out = op.fn().apply(in);
    Tensor[] g =
        Autograd.grad(
            new Tensor[] {out},
            pick(in, diff),
            new Tensor[] {Torch.zerosLike(out)},
            false,
            false,
            false);
    for (int i = 0; i < diff.length; i++) {
      assertArrayEquals(in[diff[i]].shape(), g[i].shape(), "grad shape of input " + diff[i]);
      double[] v = g[i].toDoubleArray();
      for (int j = 0; j < v.length; j++) {
        assertEquals(0.0, v[j], 0.0, "grad of input " + diff[i] + " element " + j);
      }
    }
  }

  static void float32(OpInfo op, long seed) {
    Tensor[] in = op.inputs(seed);
    Tensor[] in32 = new Tensor[in.length];
    for (int k = 0; k < in.length; k++) {
      in32[k] = in[k].dtype() == DType.FLOAT64 ? in[k].to(DType.FLOAT32) : in[k];
    }
    Tensor out = op.fn().apply(in), out32 = op.fn().apply(in32);
    assertEquals(DType.FLOAT32, out32.dtype(), "float32 output dtype");
    assertClose("float32 forward", out, out32, 1e-5, 1e-4);
  }

  // ------------------------------------------------------------------ error inputs

  /**
   * A bad call, the exception it must raise, and a fragment of PyTorch's message for it; a fragment
   * ending in {@code $} must end the message.
   */
  record ErrorInput(
      String name, Runnable call, Class<? extends RuntimeException> type, String message) {}

  static final List<ErrorInput> ERRORS = new ArrayList<>();

  static void error(
      String name, Runnable call, Class<? extends RuntimeException> type, String message) {
    ERRORS.add(new ErrorInput(name, call, type, message));
  }

  static final Class<IllegalArgumentException> ARG = IllegalArgumentException.class;
  static final Class<IndexOutOfBoundsException> INDEX = IndexOutOfBoundsException.class;

  static Tensor z(long... shape) {
    return Torch.zeros(DType.FLOAT32, shape);
  }

  static Tensor ints(long... shape) {
    return Torch.zeros(DType.INT64, shape);
  }

  static {
    // Broadcast and shape mismatches.
    error(
        "add_broadcast",
        () -> z(2, 3).add(z(4)),
        ARG,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1");
    error(
        "mul_broadcast",
        () -> z(2, 3).mul(z(2, 1, 4)),
        ARG,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 2");
    error(
        "where_broadcast",
        () -> Torch.where(Torch.ones(DType.BOOL, 3), z(2), z(3)),
        ARG,
        "must match the size of tensor b");
    error(
        "mm_shapes",
        () -> z(2, 3).mm(z(4, 5)),
        ARG,
        "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
    error("mm_rank", () -> z(2, 3, 4).mm(z(4, 5)), ARG, "self must be a matrix");
    error("mm_rank_mat2", () -> z(2, 3).mm(z(3)), ARG, "mat2 must be a matrix");
    error(
        "matmul_1_1",
        () -> z(3).matmul(z(4)),
        ARG,
        "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of"
            + " elements, but got 3 and 4 elements respectively");
    error("matmul_2_1", () -> z(2, 3).matmul(z(4)), ARG, "size mismatch, got");
    error(
        "matmul_2_2",
        () -> z(2, 3).matmul(z(4, 5)),
        ARG,
        "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
    error(
        "matmul_3_2",
        () -> z(2, 2, 3).matmul(z(4, 5)),
        ARG,
        "mat1 and mat2 shapes cannot be multiplied (4x3 and 4x5)");
    error(
        "matmul_batch",
        () -> z(2, 3, 4).matmul(z(3, 4, 5)),
        ARG,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0");
    error(
        "matmul_0d",
        () -> z().matmul(z(2, 2)),
        ARG,
        "both arguments to matmul need to be at least 1D, but they are 0D and 2D");
    error(
        "linear_shapes",
        () -> LinearAlgebra.linear(z(3, 4), z(5, 6), null),
        ARG,
        "mat1 and mat2 shapes cannot be multiplied (3x4 and 6x5)");
    error(
        "linear_bias_shapes",
        () -> LinearAlgebra.linear(z(3, 4), z(5, 4), z(3)),
        ARG,
        "The expanded size of the tensor (5) must match the existing size (3) at non-singleton"
            + " dimension 1.  Target sizes: [3, 5].  Tensor sizes: [3]");
    error("view_numel", () -> z(2, 3).view(4), ARG, "shape '[4]' is invalid for input of size 6");
    error(
        "reshape_two_infer",
        () -> z(2, 3).reshape(-1, -1),
        ARG,
        "only one dimension can be inferred");
    error(
        "view_noncontiguous",
        () -> z(2, 3).t().view(6),
        ARG,
        "view size is not compatible with input tensor's size and stride");
    error(
        "expand_size",
        () -> z(3).expand(2, 4),
        ARG,
        "The expanded size of the tensor (4) must match the existing size (3) at non-singleton"
            + " dimension 1.  Target sizes: [2, 4].  Tensor sizes: [3]");
    error(
        "expand_fewer_dims",
        () -> z(2, 3).expand(3),
        ARG,
        "the number of sizes provided (1) must be greater or equal to the number of dimensions in"
            + " the tensor (2)");
    error(
        "cat_sizes",
        () -> Torch.cat(new Tensor[] {z(2, 3), z(3, 3)}, 1),
        ARG,
        "Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for"
            + " tensor number 1 in the list.");
    error(
        "stack_sizes",
        () -> Torch.stack(new Tensor[] {z(2, 3), z(2, 4)}, 0),
        ARG,
        "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry"
            + " 1");
    error(
        "t_rank",
        () -> z(2, 3, 4).t(),
        ARG,
        "t() expects a tensor with <= 2 dimensions, but self is 3D");
    error(
        "permute_count",
        () -> z(2, 3).permute(0),
        ARG,
        "number of dimensions in the tensor input does not match the length of the desired ordering"
            + " of dimensions i.e. input.dim() = 2 is not equal to len(dims) = 1");
    error(
        "permute_repeated",
        () -> z(2, 3).permute(1, 1),
        ARG,
        "permute(): duplicate dims are not allowed.");
    error(
        "conv2d_rank",
        () -> F.conv2d(z(2, 3), z(4, 3, 3, 3)),
        ARG,
        "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 3]");
    error(
        "conv2d_channels",
        () -> F.conv2d(z(2, 5, 8, 9), z(4, 3, 3, 3)),
        ARG,
        "Given groups=1, weight of size [4, 3, 3, 3], expected input[2, 5, 8, 9] to have 3"
            + " channels, but got 5 channels instead");
    error(
        "max_pool2d_rank",
        () -> F.maxPool2d(z(4, 4), 2),
        ARG,
        "non-empty 3D or 4D (batch mode) tensor expected for input");
    error(
        "avg_pool2d_rank",
        () -> F.avgPool2d(z(4, 4), 2),
        ARG,
        "non-empty 3D or 4D (batch mode) tensor expected for input");
    error(
        "layer_norm_shape",
        () -> F.layerNorm(z(4, 2, 6), 5),
        ARG,
        "Given normalized_shape=[5], expected input with shape [*, 5], but got input of size[4, 2,"
            + " 6]");
    error(
        "batch_norm_weight",
        () -> F.batchNorm(z(4, 3), null, null, z(2), null, true),
        ARG,
        "weight should contain 3 elements not 2");
    error(
        "batch_norm_single_value",
        () -> F.batchNorm(z(1, 3), null, null, null, null, true),
        ARG,
        "Expected more than 1 value per channel when training, got input size torch.Size([1, 3])");
    error(
        "mse_loss_broadcast",
        () -> F.mseLoss(z(2, 3), z(4)),
        ARG,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1");
    error(
        "binary_cross_entropy_with_logits_size",
        () -> F.binaryCrossEntropyWithLogits(z(2, 3), z(3)),
        ARG,
        "must be the same as input size");
    error(
        "nll_loss_batch",
        () -> F.nllLoss(z(3, 4), ints(2)),
        ARG,
        "Expected input batch_size (3) to match target batch_size (2).");
    error(
        "cross_entropy_batch",
        () -> F.crossEntropy(z(3, 4), ints(2)),
        ARG,
        "Expected input batch_size (3) to match target batch_size (2).");
    error(
        "gather_index_size",
        () -> z(2, 3).gather(1, ints(3, 2)),
        ARG,
        "Size does not match at dimension 0 expected index [3, 2] to be smaller than self [2, 3]"
            + " apart from dimension 1");
    error(
        "index_select_vector",
        () -> z(2, 3).indexSelect(0, ints(2, 2)),
        ARG,
        "Index is supposed to be a vector");

    // Wrong dtypes, where PyTorch rejects them.
    error(
        "where_float_condition",
        () -> Torch.where(z(3), z(3), z(3)),
        ARG,
        "where expected condition to be a boolean tensor, but got a tensor with dtype Float");
    error(
        "masked_fill_float_mask",
        () -> z(3).maskedFill(z(3), 1),
        ARG,
        "masked_fill_ only supports boolean masks, but got mask with dtype float$");
    error(
        "nll_loss_float_target",
        () -> F.nllLoss(z(3, 4), z(3)),
        ARG,
        "expected scalar type Long but found Float");
    error(
        "cross_entropy_double_target",
        () -> F.crossEntropy(z(3, 4), Torch.zeros(DType.FLOAT64, 3).add(1)),
        ARG,
        "expected scalar type Long but found Double");
    error(
        "embedding_float_indices",
        () -> F.embedding(z(2), z(5, 3)),
        ARG,
        "Expected tensor for argument #1 'indices' to have one of the following scalar types:"
            + " Long, Int; but got torch.FloatTensor instead (while checking arguments for"
            + " embedding)");
    error(
        "index_select_float_index",
        () -> z(2, 3).indexSelect(0, z(2)),
        ARG,
        "index_select(): Expected dtype int");
    error(
        "gather_float_index",
        () -> z(2, 3).gather(1, z(2, 3)),
        ARG,
        "gather(): Expected dtype int64 for index");
    error(
        "mm_dtypes",
        () -> Torch.zeros(DType.FLOAT64, 2, 3).mm(z(3, 4)),
        ARG,
        "expected m1 and m2 to have the same dtype, but got: double != float");
    error(
        "matmul_int64",
        () -> z(2, 3).matmul(ints(3, 4)),
        ARG,
        "expected m1 and m2 to have the same dtype, but got: float != long int");
    error(
        "mean_int64",
        () -> ints(3).mean(),
        ARG,
        "mean(): could not infer output dtype. Input dtype must be either a floating point or"
            + " complex dtype. Got: Long");
    error(
        "requires_grad_int64",
        () -> ints(3).requiresGrad_(true),
        ARG,
        "only Tensors of floating point and complex dtype can require gradients");
    error(
        "binary_cross_entropy_input_range",
        () -> F.binaryCrossEntropy(Torch.full(DType.FLOAT32, s(3), 1.5), z(3)),
        ARG,
        "all elements of input should be between 0 and 1");

    // Dims out of range.
    error(
        "sum_dim",
        () -> z(2, 3).sum(s(2), false),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    error(
        "mean_dim",
        () -> z(2, 3).mean(-3),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
    error(
        "amax_dim",
        () -> z(2, 3).amax(s(5), false),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got 5)");
    error(
        "var_dim",
        () -> z(2, 3).var(s(2), true, false),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    error(
        "logsumexp_dim",
        () -> z(2, 3).logsumexp(s(-3), false),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
    error(
        "softmax_dim",
        () -> F.softmax(z(2, 3), 2),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    error(
        "log_softmax_dim",
        () -> F.logSoftmax(z(2, 3), -3),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
    error(
        "transpose_dim",
        () -> z(2, 3, 4).transpose(0, 3),
        INDEX,
        "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
    error(
        "permute_dim",
        () -> z(2, 3).permute(0, 2),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    error(
        "unsqueeze_dim",
        () -> z(2, 3).unsqueeze(3),
        INDEX,
        "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
    error(
        "squeeze_dim",
        () -> z(2, 3).squeeze(2),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    error(
        "flatten_dim",
        () -> z(2, 3).flatten(2),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    error(
        "select_dim",
        () -> z(2, 3).select(2, 0),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    error(
        "narrow_dim",
        () -> z(2, 3).narrow(-3, 0, 1),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
    error(
        "cat_dim",
        () -> Torch.cat(new Tensor[] {z(2, 3), z(2, 3)}, 2),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    error(
        "stack_dim",
        () -> Torch.stack(new Tensor[] {z(2, 3), z(2, 3)}, 3),
        INDEX,
        "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
    error(
        "index_select_dim",
        () -> z(2, 3).indexSelect(2, ints(1)),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
    error(
        "gather_dim",
        () -> z(2, 3).gather(-3, ints(2, 3)),
        INDEX,
        "Dimension out of range (expected to be in range of [-2, 1], but got -3)");

    // Indices out of range.
    error(
        "select_index",
        () -> z(2, 3).select(0, 2),
        INDEX,
        "select(): index 2 out of range for tensor of size [2, 3] at dimension 0");
    error(
        "select_negative_index",
        () -> z(2, 3).select(1, -4),
        INDEX,
        "select(): index -4 out of range for tensor of size [2, 3] at dimension 1");
    error(
        "narrow_range",
        () -> z(2, 3).narrow(1, 2, 2),
        INDEX,
        "start (2) + length (2) exceeds dimension size (3).");
    error(
        "index_select_index",
        () -> z(2, 3).indexSelect(0, Torch.tensor(0L, 2L)),
        INDEX,
        "index out of range in self");
    error(
        "index_select_negative_index",
        () -> z(2, 3).indexSelect(1, Torch.tensor(new long[] {-1})),
        INDEX,
        "index out of range in self");
    error(
        "gather_index",
        () -> z(2, 3).gather(1, Torch.tensor(new double[] {0, 3}, DType.INT64, 2, 1)),
        INDEX,
        "index 3 is out of bounds for dimension 1 with size 3");
    error(
        "embedding_index",
        () -> F.embedding(Torch.tensor(1L, 5L), z(5, 3)),
        INDEX,
        "index out of range in self");
    error(
        "nll_loss_target",
        () -> F.nllLoss(z(2, 3), Torch.tensor(1L, 5L)),
        INDEX,
        "Target 5 is out of bounds.");
    error(
        "cross_entropy_target",
        () -> F.crossEntropy(z(2, 3), Torch.tensor(-1L, 0L)),
        INDEX,
        "Target -1 is out of bounds.");
  }

  /** A bool tensor [true, false]. */
  static Tensor bools() {
    return Torch.tensor(true, false);
  }

  static {
    // Wrong dtypes: the activations PyTorch implements for floating types only, the ops that
    // refuse bool, and in-place results that cannot be cast back to the destination's dtype.
    String[][] floatOnly = {
      {"gelu", "GeluKernelImpl"},
      {"silu", "silu_cpu"},
      {"leaky_relu", "leaky_relu_cpu"},
      {"elu", "elu_cpu"},
      {"softplus", "softplus_cpu"}
    };
    java.util.Map<String, java.util.function.UnaryOperator<Tensor>> activations =
        java.util.Map.of(
            "gelu", F::gelu,
            "silu", F::silu,
            "leaky_relu", x -> F.leakyRelu(x, 0.01),
            "elu", x -> F.elu(x, 1.0),
            "softplus", F::softplus);
    for (String[] a : floatOnly) {
      var f = activations.get(a[0]);
      error(
          a[0] + "_int64",
          () -> f.apply(ints(3)),
          ARG,
          "\"" + a[1] + "\" not implemented for 'Long'");
      error(
          a[0] + "_bool",
          () -> f.apply(bools()),
          ARG,
          "\"" + a[1] + "\" not implemented for 'Bool'");
    }
    error(
        "neg_bool",
        () -> bools().neg(),
        ARG,
        "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to"
            + " invert a mask, use the `~` or `logical_not()` operator instead.");
    error("abs_bool", () -> bools().abs(), ARG, "\"abs_cpu\" not implemented for 'Bool'");
    error("relu_bool", () -> bools().relu(), ARG, "Boolean inputs not supported for relu");
    error(
        "sub_bool",
        () -> bools().sub(bools()),
        ARG,
        "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or"
            + " `logical_xor()` operator instead.");
    error(
        "pow_negative_integer",
        () -> ints(2).pow(-1),
        ARG,
        "Integers to negative integer powers are not allowed.");
    error(
        "norm_int64",
        () -> ints(2).norm(),
        ARG,
        "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long");
    String cast = "result type Float can't be cast to the desired output type Long";
    error("add__cast", () -> ints(2).add_(1.5), ARG, cast);
    error("mul__cast", () -> ints(2).mul_(z(2)), ARG, cast);
    error("div__cast", () -> ints(2).div_(2), ARG, cast);
    error("clamp__cast", () -> ints(2).clamp_(0.5, 1.5), ARG, "result type Float can't be cast");
    // Broadcast mismatches of the remaining binary ops and losses.
    String mismatch =
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1";
    error("sub_broadcast", () -> z(2, 3).sub(z(4)), ARG, mismatch);
    error("div_broadcast", () -> z(2, 3).div(z(4)), ARG, mismatch);
    error("pow_broadcast", () -> z(2, 3).pow(z(4)), ARG, mismatch);
    error("maximum_broadcast", () -> z(2, 3).maximum(z(4)), ARG, mismatch);
    error("minimum_broadcast", () -> z(2, 3).minimum(z(4)), ARG, mismatch);
    error("l1_loss_broadcast", () -> F.l1Loss(z(2, 3), z(4)), ARG, mismatch);
    error(
        "binary_cross_entropy_size",
        () -> F.binaryCrossEntropy(z(2, 3), z(3, 2)),
        ARG,
        "Using a target size (torch.Size([3, 2])) that is different to the input size"
            + " (torch.Size([2, 3])) is deprecated. Please ensure they have the same size.");
    // Out-of-range dims and empty inputs of the remaining reductions.
    error(
        "amin_dim",
        () -> z(2).amin(s(3), false),
        INDEX,
        "Dimension out of range (expected to be in range of [-1, 0], but got 3)");
    error(
        "min_empty",
        () -> z(0).min(),
        ARG,
        "min(): Expected reduction dim to be specified for input.numel() == 0. Specify the"
            + " reduction dim with the 'dim' argument.");
    error(
        "max_empty",
        () -> z(0).max(),
        ARG,
        "max(): Expected reduction dim to be specified for input.numel() == 0.");
  }

  @TestFactory
  Stream<DynamicTest> errorInputs() {
    assertFalse(ERRORS.isEmpty());
    return ERRORS.stream().map(e -> DynamicTest.dynamicTest(e.name(), () -> runError(e)));
  }

  static void runError(ErrorInput e) {
    try {
      e.call().run();
    } catch (RuntimeException x) {
      assertEquals(e.type(), x.getClass(), "exception type (message: " + x.getMessage() + ")");
      assertNotNull(x.getMessage(), "message");
      String m = e.message();
      boolean ok =
          m.endsWith("$")
              ? x.getMessage().endsWith(m.substring(0, m.length() - 1))
              : x.getMessage().contains(m);
      assertTrue(ok, "message \"" + x.getMessage() + "\" should contain \"" + e.message() + "\"");
      return;
    }
    fail("no exception; expected " + e.type().getSimpleName() + ": " + e.message());
  }
}
