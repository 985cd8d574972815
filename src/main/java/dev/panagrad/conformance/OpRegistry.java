package dev.panagrad.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import java.util.HashMap;
import java.util.Map;

/**
 * How each op name of {@code ops.jsonl} is called in Java: inputs in PyTorch's order, attrs by
 * their PyTorch keyword. An op missing here is reported as "unsupported: op".
 */
final class OpRegistry {
  /** One op call. */
  interface Call {
    Tensor apply(Tensor[] in, JsonNode attrs);
  }

  static final Map<String, Call> OPS = new HashMap<>();

  static long[] longs(JsonNode n) {
    long[] out = new long[n.size()];
    for (int i = 0; i < out.length; i++) out[i] = n.get(i).asLong();
    return out;
  }

  static double num(JsonNode attrs, String key, double dflt) {
    JsonNode n = attrs.get(key);
    return n == null || n.isNull() ? dflt : n.asDouble();
  }

  static boolean flag(JsonNode attrs, String key, boolean dflt) {
    JsonNode n = attrs.get(key);
    return n == null || n.isNull() ? dflt : n.asBoolean();
  }

  static void put(String name, Call c) {
    OPS.put(name, c);
  }

  static {
    // Elementwise, one input.
    put("neg", (in, a) -> in[0].neg());
    put("exp", (in, a) -> in[0].exp());
    put("log", (in, a) -> in[0].log());
    put("sqrt", (in, a) -> in[0].sqrt());
    put("abs", (in, a) -> in[0].abs());
    put("tanh", (in, a) -> in[0].tanh());
    put("sigmoid", (in, a) -> in[0].sigmoid());
    put("relu", (in, a) -> in[0].relu());
    put("sin", (in, a) -> in[0].sin());
    put("cos", (in, a) -> in[0].cos());
    put("reciprocal", (in, a) -> in[0].reciprocal());
    put("gelu", (in, a) -> dev.panagrad.ops.Elementwise.gelu(in[0]));
    put("silu", (in, a) -> dev.panagrad.ops.Elementwise.silu(in[0]));
    put(
        "leaky_relu",
        (in, a) -> dev.panagrad.ops.Elementwise.leakyRelu(in[0], num(a, "negative_slope", 0.01)));
    put("elu", (in, a) -> dev.panagrad.ops.Elementwise.elu(in[0], num(a, "alpha", 1)));
    put(
        "softplus",
        (in, a) ->
            dev.panagrad.ops.Elementwise.softplus(
                in[0], num(a, "beta", 1), num(a, "threshold", 20)));
    put(
        "clamp",
        (in, a) ->
            in[0].clamp(
                num(a, "min", Double.NEGATIVE_INFINITY), num(a, "max", Double.POSITIVE_INFINITY)));
    // Binary, with a scalar form when only one input is given.
    put(
        "add",
        (in, a) ->
            in.length == 1 ? in[0].add(num(a, "other", 0)) : in[0].add(in[1], num(a, "alpha", 1)));
    put(
        "sub",
        (in, a) ->
            in.length == 1 ? in[0].sub(num(a, "other", 0)) : in[0].sub(in[1], num(a, "alpha", 1)));
    put("mul", (in, a) -> in.length == 1 ? in[0].mul(num(a, "other", 1)) : in[0].mul(in[1]));
    put("div", (in, a) -> in.length == 1 ? in[0].div(num(a, "other", 1)) : in[0].div(in[1]));
    put("pow", (in, a) -> in.length == 1 ? in[0].pow(num(a, "exponent", 1)) : in[0].pow(in[1]));
    put("maximum", (in, a) -> in[0].maximum(in[1]));
    put("minimum", (in, a) -> in[0].minimum(in[1]));
    put("where", (in, a) -> Torch.where(in[0], in[1], in[2]));
    put("masked_fill", (in, a) -> in[0].maskedFill(in[1], num(a, "value", 0)));
    // Linear algebra.
    put("matmul", (in, a) -> in[0].matmul(in[1]));
    put("mm", (in, a) -> in[0].mm(in[1]));
    put(
        "linear",
        (in, a) ->
            dev.panagrad.ops.LinearAlgebra.linear(in[0], in[1], in.length > 2 ? in[2] : null));
    // Shape.
    put("t", (in, a) -> in[0].t());
    put("transpose", (in, a) -> in[0].transpose(a.get("dim0").asLong(), a.get("dim1").asLong()));
    put("permute", (in, a) -> in[0].permute(longs(a.get("dims"))));
    put("reshape", (in, a) -> in[0].reshape(longs(a.get("shape"))));
    put("view", (in, a) -> in[0].view(longs(a.get("shape"))));
    put("unsqueeze", (in, a) -> in[0].unsqueeze(a.get("dim").asLong()));
    put(
        "squeeze",
        (in, a) -> a.has("dim") ? in[0].squeeze(a.get("dim").asLong()) : in[0].squeeze());
    put(
        "flatten",
        (in, a) -> in[0].flatten((long) num(a, "start_dim", 0), (long) num(a, "end_dim", -1)));
    put("expand", (in, a) -> in[0].expand(longs(a.get("size"))));
    put("cat", (in, a) -> Torch.cat(in, (long) num(a, "dim", 0)));
    put("stack", (in, a) -> Torch.stack(in, (long) num(a, "dim", 0)));
    put(
        "narrow",
        (in, a) ->
            in[0].narrow(a.get("dim").asLong(), a.get("start").asLong(), a.get("length").asLong()));
    put("select", (in, a) -> in[0].select(a.get("dim").asLong(), a.get("index").asLong()));
    // Reductions.
    put(
        "sum",
        (in, a) ->
            a.has("dim") ? in[0].sum(longs(a.get("dim")), flag(a, "keepdim", false)) : in[0].sum());
    put(
        "mean",
        (in, a) ->
            a.has("dim")
                ? in[0].mean(longs(a.get("dim")), flag(a, "keepdim", false))
                : in[0].mean());
    // --- reductions, softmax and losses (more below) ---
    put("amax", (in, a) -> in[0].amax(longs(a.get("dim")), flag(a, "keepdim", false)));
    put("amin", (in, a) -> in[0].amin(longs(a.get("dim")), flag(a, "keepdim", false)));
    put("max", (in, a) -> in[0].max());
    put("min", (in, a) -> in[0].min());
    put("norm", (in, a) -> in[0].norm());
    put(
        "var",
        (in, a) ->
            in[0].var(
                a.has("dim") ? longs(a.get("dim")) : null,
                flag(a, "unbiased", true),
                flag(a, "keepdim", false)));
    put("logsumexp", (in, a) -> in[0].logsumexp(longs(a.get("dim")), flag(a, "keepdim", false)));
    put("softmax", (in, a) -> dev.panagrad.F.softmax(in[0], a.get("dim").asLong()));
    put("log_softmax", (in, a) -> dev.panagrad.F.logSoftmax(in[0], a.get("dim").asLong()));
    put(
        "mse_loss",
        (in, a) -> dev.panagrad.F.mseLoss(in[0], in[1], a.path("reduction").asText("mean")));
    put(
        "l1_loss",
        (in, a) -> dev.panagrad.F.l1Loss(in[0], in[1], a.path("reduction").asText("mean")));
    put(
        "binary_cross_entropy_with_logits",
        (in, a) ->
            dev.panagrad.F.binaryCrossEntropyWithLogits(
                in[0], in[1], a.path("reduction").asText("mean")));
    put(
        "binary_cross_entropy",
        (in, a) ->
            dev.panagrad.F.binaryCrossEntropy(in[0], in[1], a.path("reduction").asText("mean")));
    put(
        "nll_loss",
        (in, a) -> dev.panagrad.F.nllLoss(in[0], in[1], a.path("reduction").asText("mean")));
    put(
        "cross_entropy",
        (in, a) -> dev.panagrad.F.crossEntropy(in[0], in[1], a.path("reduction").asText("mean")));
    // --- indexing ---
    put("index_select", (in, a) -> in[0].indexSelect(a.get("dim").asLong(), in[1]));
    put("gather", (in, a) -> in[0].gather(a.get("dim").asLong(), in[1]));
    put("embedding", (in, a) -> dev.panagrad.F.embedding(in[0], in[1]));
    // --- convolution, pooling, normalization ---
    // An int-or-list size attribute as a list (the default when absent).
    java.util.function.BiFunction<JsonNode, String, long[]> size =
        (a, key) -> {
          JsonNode n = a.get(key);
          long dflt = key.equals("padding") ? 0 : 1;
          if (n == null || n.isNull()) return new long[] {dflt};
          return n.isArray() ? longs(n) : new long[] {n.asLong()};
        };
    put(
        "conv2d",
        (in, a) ->
            dev.panagrad.F.conv2d(
                in[0],
                in[1],
                in.length > 2 ? in[2] : null,
                size.apply(a, "stride"),
                size.apply(a, "padding"),
                size.apply(a, "dilation"),
                (long) num(a, "groups", 1)));
    put(
        "max_pool2d",
        (in, a) ->
            dev.panagrad.F.maxPool2d(
                in[0],
                size.apply(a, "kernel_size"),
                a.has("stride") && !a.get("stride").isNull() ? size.apply(a, "stride") : null,
                size.apply(a, "padding"),
                size.apply(a, "dilation"),
                flag(a, "ceil_mode", false)));
    put(
        "avg_pool2d",
        (in, a) ->
            dev.panagrad.F.avgPool2d(
                in[0],
                size.apply(a, "kernel_size"),
                a.has("stride") && !a.get("stride").isNull() ? size.apply(a, "stride") : null,
                size.apply(a, "padding"),
                flag(a, "ceil_mode", false),
                flag(a, "count_include_pad", true),
                (long) num(a, "divisor_override", 0)));
    put(
        "layer_norm",
        (in, a) ->
            dev.panagrad.F.layerNorm(
                in[0],
                size.apply(a, "normalized_shape"),
                in.length > 1 ? in[1] : null,
                in.length > 2 ? in[2] : null,
                num(a, "eps", 1e-5)));
    put(
        "batch_norm",
        (in, a) -> {
          // Inputs: (input, weight, bias) or (input, running_mean, running_var, weight, bias).
          boolean stats = in.length == 5;
          return dev.panagrad.F.batchNorm(
              in[0],
              stats ? in[1] : null,
              stats ? in[2] : null,
              in.length > (stats ? 3 : 1) ? in[stats ? 3 : 1] : null,
              in.length > (stats ? 4 : 2) ? in[stats ? 4 : 2] : null,
              flag(a, "training", false),
              num(a, "momentum", 0.1),
              num(a, "eps", 1e-5));
        });
  }

  private OpRegistry() {}
}
