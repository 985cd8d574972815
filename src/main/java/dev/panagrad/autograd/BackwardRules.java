package dev.panagrad.autograd;

import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.ops.Convolution;
import dev.panagrad.ops.Elementwise;
import dev.panagrad.ops.LinearAlgebra;
import dev.panagrad.ops.Normalization;
import dev.panagrad.ops.Pooling;
import dev.panagrad.ops.Reductions;

/**
 * Every backward rule, in one switch over {@link Op} (no default: an op without a rule does not
 * compile). Each rule maps the output's gradient {@code g} to one gradient per input, null where
 * the input takes none; the maths is in the comment beside it (x: input, y: output). Rules are
 * written with tensor ops, so they record history when create_graph asks for it; relu, tanh and
 * sigmoid run one fused kernel when no history is needed (see {@code Elementwise.tanhBackward}).
 * The common rules return their gradients in the context's reused arrays ({@code c.one}, {@code
 * c.two}): the engine reads them before the next rule runs.
 */
final class BackwardRules {
  static volatile boolean detectAnomaly;

  private BackwardRules() {}

  static Tensor[] apply(Ctx c, Tensor g) {
    Tensor[] grads = rule(c, g);
    if (detectAnomaly) {
      for (int i = 0; i < grads.length; i++) {
        if (grads[i] != null && Torch.isnan(grads[i]).any()) {
          Object where = c.tape.origin[c.e];
          throw new IllegalStateException(
              "Function '"
                  + c.op().pyName()
                  + "' returned nan values in its "
                  + i
                  + "th output."
                  + (where == null ? "" : " The op was called at " + where + "."));
        }
      }
    }
    return grads;
  }

  private static Tensor[] rule(Ctx c, Tensor g) {
    return switch (c.op()) {
      case NEG -> c.one(g.neg()); // dx = -g
      case EXP -> c.one(g.mul(c.saved(0))); // dx = g * y
      case LOG -> c.one(g.div(c.saved(0))); // dx = g / x
      case SQRT -> c.one(g.div(c.saved(0).mul(2))); // dx = g / (2y)
      case ABS -> c.one(g.mul(c.saved(0).sgn())); // dx = g * sgn(x)
      case TANH -> c.one(Elementwise.tanhBackward(g, c.saved(0))); // dx = g (1 - y^2)
      case SIGMOID -> c.one(Elementwise.sigmoidBackward(g, c.saved(0))); // dx = g y (1 - y)
      case RELU -> c.one(Elementwise.reluBackward(g, c.saved(0))); // dx = g [y > 0]
      case SIN -> c.one(g.mul(c.saved(0).cos())); // dx = g cos x
      case COS -> c.one(g.mul(c.saved(0).sin()).neg()); // dx = -g sin x
      case RECIPROCAL -> c.one(g.mul(c.saved(0).pow(2)).neg()); // dx = -g y^2
      case GELU -> { // dx = g (Phi(x) + x phi(x))
        Tensor x = c.saved(0);
        Tensor cdf = x.div(Math.sqrt(2)).erf().add(1).mul(0.5);
        Tensor pdf = x.pow(2).mul(-0.5).exp().mul(1 / Math.sqrt(2 * Math.PI));
        yield c.one(g.mul(cdf.add(x.mul(pdf))));
      }
      case SILU -> { // dx = g s (1 + x (1 - s)), s = sigmoid(x)
        Tensor x = c.saved(0), s = x.sigmoid();
        yield c.one(g.mul(s.mul(x.mul(s.rsub(1)).add(1))));
      }
      case LEAKY_RELU -> { // dx = g (x > 0 ? 1 : slope)
        Tensor x = c.saved(0);
        yield c.one(g.mul(Torch.where(x.gt(0), Torch.onesLike(x), Torch.fullLike(x, c.scalar(0)))));
      }
      case ELU -> { // dx = g (x > 0 ? 1 : alpha e^x)
        Tensor x = c.saved(0);
        yield c.one(g.mul(Torch.where(x.gt(0), Torch.onesLike(x), x.exp().mul(c.scalar(0)))));
      }
      case SOFTPLUS -> { // dx = g (beta x > threshold ? 1 : sigmoid(beta x))
        Tensor x = c.saved(0);
        Tensor bx = x.mul(c.scalar(0));
        yield c.one(g.mul(Torch.where(bx.gt(c.scalar(1)), Torch.onesLike(x), bx.sigmoid())));
      }
      case ADD_SCALAR, SUB_SCALAR -> c.one(g); // d(x + s) = g
      case RSUB_SCALAR -> c.one(g.neg()); // d(s - x) = -g
      case MUL_SCALAR -> c.one(g.mul(c.scalar(0))); // d(x s) = g s
      case DIV_SCALAR -> c.one(g.div(c.scalar(0))); // d(x / s) = g / s
      case POW_SCALAR -> { // d(x^e) = g e x^(e-1); 0 when e = 0
        double e = c.scalar(0);
        yield c.one(e == 0 ? Torch.zerosLike(g) : g.mul(c.saved(0).pow(e - 1).mul(e)));
      }
      case CLAMP -> // dx = g where min <= x <= max, else 0
          c.one(Elementwise.clampBackward(g, c.saved(0), c.scalar(0), c.scalar(1)));
      case ADD -> // d(a + alpha b) = (g, alpha g), summed to each input's shape
          c.two(
              c.needsGrad(0) ? sumTo(g, c, 0) : null,
              c.needsGrad(1) ? sumTo(c.scalar(0) == 1 ? g : g.mul(c.scalar(0)), c, 1) : null);
      case SUB ->
          c.two(
              c.needsGrad(0) ? sumTo(g, c, 0) : null,
              c.needsGrad(1) ? sumTo(g.mul(-c.scalar(0)), c, 1) : null);
      case MUL ->
          c.two( // d(a b) = (g b, g a)
              c.needsGrad(0) ? sumTo(g.mul(c.saved(0)), c, 0) : null,
              c.needsGrad(1) ? sumTo(g.mul(c.saved(1)), c, 1) : null);
      case DIV -> { // d(a / b) = (g / b, -g a / b^2)
        Tensor a = c.saved(0), b = c.saved(1);
        yield c.two(
            c.needsGrad(0) ? sumTo(g.div(b), c, 0) : null,
            c.needsGrad(1) ? sumTo(g.neg().mul(a).div(b.mul(b)), c, 1) : null);
      }
      case POW -> { // d(a^b) = (g b a^(b-1), g y log a), the latter 0 where a = 0 and b >= 0
        Tensor a = c.saved(0), b = c.saved(1), y = c.saved(2);
        Tensor ga = c.needsGrad(0) ? sumTo(g.mul(b).mul(a.pow(b.sub(1))), c, 0) : null;
        Tensor gb = null;
        if (c.needsGrad(1)) {
          Tensor mask = a.eq(0).logicalAnd(b.ge(0));
          gb = sumTo(Torch.where(mask, Torch.zerosLike(y), g.mul(y).mul(a.log())), c, 1);
        }
        yield c.two(ga, gb);
      }
      case MAXIMUM, MINIMUM -> { // g to the larger (smaller) input, split evenly on ties
        Tensor a = c.saved(0), b = c.saved(1);
        Tensor half = Torch.where(a.eq(b), g.div(2), g);
        boolean max = c.op() == Op.MAXIMUM;
        yield new Tensor[] {
          sumTo(half.maskedFill(max ? a.lt(b) : a.gt(b), 0), c, 0),
          sumTo(half.maskedFill(max ? a.gt(b) : a.lt(b), 0), c, 1)
        };
      }
      case WHERE -> { // (g where cond, g where not cond)
        Tensor cond = c.saved(0), z = Torch.zerosLike(g);
        yield new Tensor[] {
          sumTo(Torch.where(cond, g, z), c, 0), sumTo(Torch.where(cond, z, g), c, 1)
        };
      }
      case MASKED_FILL -> c.one(g.maskedFill(c.saved(0), 0)); // filled positions get no gradient
      case DOT ->
          new Tensor[] { // d(a . b) = (g b, g a)
            c.needsGrad(0) ? c.saved(0).mul(g) : null, c.needsGrad(1) ? c.saved(1).mul(g) : null
          };
      case MV ->
          new Tensor[] { // d(A v) = (g v^T, A^T g)
            c.needsGrad(0) ? g.unsqueeze(1).mm(c.saved(0).unsqueeze(0)) : null,
            c.needsGrad(1) ? c.saved(1).t().mv(g) : null
          };
      case MM ->
          c.two( // d(A B) = (g B^T, A^T g), the latter in B's layout
              c.needsGrad(0) ? g.mm(c.saved(1).t()) : null,
              c.needsGrad(1) ? LinearAlgebra.mat2Grad(c.saved(0), g, c.attr()) : null);
      case BMM ->
          new Tensor[] {
            c.needsGrad(0) ? g.bmm(c.saved(1).transpose(1, 2)) : null,
            c.needsGrad(1) ? c.saved(0).transpose(1, 2).bmm(g) : null
          };
      case ADDMM ->
          c.three( // d(bias + A B) = (g summed to bias, g B^T, A^T g)
              c.needsGrad(0) ? sumTo(g, c, 0) : null,
              c.needsGrad(1) ? g.mm(c.saved(1).t()) : null,
              c.needsGrad(2) ? LinearAlgebra.mat2Grad(c.saved(0), g, c.attr()) : null);
      case VIEW, RESHAPE_ALIAS, UNSAFE_VIEW, SQUEEZE, SQUEEZE_DIM, SQUEEZE_MATMUL ->
          c.one(g.reshape(c.inputShape(0))); // same elements, the input's shape
      case T -> c.one(g.t());
      case TRANSPOSE -> c.one(g.transpose((long) c.scalar(0), (long) c.scalar(1)));
      case PERMUTE -> { // the inverse permutation
        int[] p = (int[]) c.attr();
        long[] inv = new long[p.length];
        for (int i = 0; i < p.length; i++) inv[p[i]] = i;
        yield c.one(g.permute(inv));
      }
      case UNSQUEEZE -> c.one(g.squeeze((long) c.scalar(0)));
      case EXPAND -> c.one(sumTo(g, c, 0)); // sum over the expanded dims
      case SLICE -> { // g into a zero tensor at the slice
        Tensor z = Torch.zeros(c.inputDtype(0), c.inputShape(0));
        z.narrow((long) c.scalar(0), (long) c.scalar(1), (long) c.scalar(2)).copy_(g);
        yield c.one(z);
      }
      case SELECT -> {
        Tensor z = Torch.zeros(c.inputDtype(0), c.inputShape(0));
        z.select((long) c.scalar(0), (long) c.scalar(1)).copy_(g);
        yield c.one(z);
      }
      case CAT -> { // each input's slice of g
        long[] sizes = (long[]) c.attr();
        Tensor[] out = new Tensor[sizes.length];
        long at = 0;
        for (int i = 0; i < sizes.length; i++) {
          out[i] = c.needsGrad(i) ? g.narrow((long) c.scalar(0), at, sizes[i]) : null;
          at += sizes[i];
        }
        yield out;
      }
      case STACK -> {
        Tensor[] out = new Tensor[c.inputCount()];
        for (int i = 0; i < out.length; i++)
          out[i] = c.needsGrad(i) ? g.select((long) c.scalar(0), i) : null;
        yield out;
      }
      // (dx, dW, db) = (col2im(W^T g), g cols^T, sum of g over N, H, W)
      case CONVOLUTION -> Convolution.conv2dBackward(c, g);
      case MAX_POOL2D -> c.one(Pooling.maxPool2dBackward(c, g)); // g to each window's argmax
      case AVG_POOL2D -> c.one(Pooling.avgPool2dBackward(c, g)); // g / divisor over each window
      // dx = rstd/n (n g w - sum(g w) - xh sum(g w xh)), dw = sum g xh, db = sum g, per row
      case NATIVE_LAYER_NORM -> Normalization.layerNormBackward(c, g);
      // training: dx = w rstd (g - mean g - xh mean(g xh)); eval: dx = g w rstd; per channel
      case NATIVE_BATCH_NORM -> Normalization.batchNormBackward(c, g);
      case CLONE -> c.one(g);
      case COPY_BACKWARDS -> c.one(sumTo(g, c, 0).to(c.inputDtype(0))); // a copy passes g through
      case TO_COPY -> c.one(g.to(c.inputDtype(0)));
      case SUM -> c.one(g.expand(c.inputShape(0))); // every element gets g
      case SUM_DIM ->
          c.one(Reductions.unreduce(g, c.inputShape(0), (boolean[]) c.attr(), c.scalar(0) != 0));
      case MEAN -> c.one(g.expand(c.inputShape(0)).div(c.scalar(0))); // g / n
      case MEAN_DIM ->
          c.one(
              Reductions.unreduce(g, c.inputShape(0), (boolean[]) c.attr(), c.scalar(0) != 0)
                  .div(c.scalar(1)));
      case AMAX, AMIN, MAX, MIN -> // g shared evenly among the positions equal to y
          c.one(
              dev.panagrad.ops.Extrema.extremeBackward(
                  g, c.saved(0), c.saved(1), (boolean[]) c.attr(), c.scalar(0) != 0));
      case NORM -> // g x / |x|, 0 where |x| = 0
          c.one(dev.panagrad.ops.Extrema.normBackward(g, c.saved(0), c.saved(1)));
      case VAR -> // g 2 (x - mean) / (n - correction)
          c.one(
              dev.panagrad.ops.Extrema.varBackward(
                  g, c.saved(0), (boolean[]) c.attr(), c.scalar(0) != 0, c.scalar(1)));
      case LOGSUMEXP -> // g exp(x - y)
          c.one(
              dev.panagrad.ops.Extrema.logsumexpBackward(
                  g, c.saved(0), c.saved(1), (boolean[]) c.attr(), c.scalar(0) != 0));
      case SOFTMAX -> // y (g - sum(g y, dim))
          c.one(dev.panagrad.ops.Softmax.softmaxBackward(g, c.saved(0), (long) c.scalar(0)));
      case LOG_SOFTMAX -> // g - exp(y) sum(g, dim)
          c.one(dev.panagrad.ops.Softmax.logSoftmaxBackward(g, c.saved(0), (long) c.scalar(0)));
      case MSE_LOSS -> // (2 (a - b) g, -2 (a - b) g), / n for mean
          dev.panagrad.ops.Losses.mseBackward(c, g);
      case BCE_WITH_LOGITS -> // ((sigmoid(x) - y) g, -x g), / n for mean
          dev.panagrad.ops.Losses.bceWithLogitsBackward(c, g);
      case BCE -> // (g (x - y) / max(x (1 - x), 1e-12), -g logit(x)), / n for mean
          dev.panagrad.ops.Losses.bceBackward(c, g);
      case NLL_LOSS -> // -g (/ count for mean) at [i, target_i], 0 elsewhere
          c.one(dev.panagrad.ops.Losses.nllBackward(c, g));
      case INDEX_SELECT -> // index_add(zeros, dim, index, g)
          c.one(dev.panagrad.ops.Indexing.indexSelectBackward(c, g));
      case GATHER -> // scatter_add(zeros, dim, index, g)
          c.one(dev.panagrad.ops.Indexing.gatherBackward(c, g));
      case EMBEDDING -> // the rows of g added into zeros at the indices
          c.one(dev.panagrad.ops.Indexing.embeddingBackward(c, g));
      case COPY_SLICES -> { // base: g with the written region zeroed; src: g's region
        CopySlices.Geometry geo = (CopySlices.Geometry) c.attr();
        Tensor gb = c.needsGrad(0) ? g.clone() : null;
        if (gb != null) geo.of(gb).zero_();
        Tensor gs = c.needsGrad(1) ? sumTo(geo.of(g), c, 1) : null;
        yield new Tensor[] {gb, gs};
      }
      case CUSTOM -> {
        Function.Record r = (Function.Record) c.attr();
        r.ctx().unpack(c);
        yield r.fn().backward(r.ctx(), g);
      }
    };
  }

  /** PyTorch's sum_to: reduces a broadcast gradient back to input {@code i}'s shape. */
  static Tensor sumTo(Tensor g, Ctx c, int i) {
    return sumTo(g, c.inputShape(i));
  }

  private static final long[] DIM_0 = {0}; // read only

  static Tensor sumTo(Tensor g, long[] shape) {
    long[] gs = g.shapeArray(); // read only
    if (java.util.Arrays.equals(gs, shape)) return g;
    if (gs.length == 2 && shape.length == 1 && shape[0] == gs[1] && gs[1] != 1) {
      return g.sum(DIM_0, false); // a bias's gradient: the sum over rows, already its shape
    }
    int lead = gs.length - shape.length;
    long[] dims = new long[gs.length];
    int n = 0;
    for (int i = 0; i < gs.length; i++) {
      if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) dims[n++] = i;
    }
    Tensor r = n == 0 ? g : g.sum(java.util.Arrays.copyOf(dims, n), true);
    return r.reshape(shape);
  }
}
