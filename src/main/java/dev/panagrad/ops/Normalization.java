package dev.panagrad.ops;

import dev.panagrad.Shapes;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.Ctx;
import dev.panagrad.autograd.Op;
import dev.panagrad.autograd.Tape;

/**
 * Layer and batch normalization, forward and backward, on float32 or float64. Statistics are
 * computed in double (biased variance in the normalization), results rounded once.
 */
public final class Normalization {
  private Normalization() {}

  /** What layer_norm's backward needs: rows m of n normalized elements, their mean and 1/std. */
  public record LayerNormState(int m, int n, double[] mean, double[] rstd, boolean hasWeight) {}

  /** What batch_norm's backward needs: [n, c, s] geometry and each channel's mean and 1/std. */
  public record BatchNormState(
      int n, int c, int s, double[] mean, double[] rstd, boolean training, boolean hasWeight) {}

  // ------------------------------------------------------------------ layer_norm

  /**
   * F.layer_norm: normalizes over the trailing {@code normalizedShape} dims, then scales by weight
   * and shifts by bias (both optional, of that shape); records NativeLayerNormBackward0.
   */
  public static Tensor layerNorm(
      Tensor x, long[] normalizedShape, Tensor weight, Tensor bias, double eps) {
    Convolution.checkFloat("layer_norm", x);
    int nd = normalizedShape.length;
    if (nd == 0) {
      throw new IllegalArgumentException(
          "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one"
              + " element, but got normalized_shape = []");
    }
    long[] xs = x.shape();
    boolean ok = xs.length >= nd;
    for (int i = 0; ok && i < nd; i++) ok = xs[xs.length - nd + i] == normalizedShape[i];
    if (!ok) {
      StringBuilder star = new StringBuilder("[*");
      for (long v : normalizedShape) star.append(", ").append(v);
      throw new IllegalArgumentException(
          "Given normalized_shape="
              + Shapes.str(normalizedShape)
              + ", expected input with shape "
              + star
              + "], but got input of size"
              + Shapes.str(xs));
    }
    checkParam("weight", weight, normalizedShape);
    checkParam("bias", bias, normalizedShape);
    Convolution.checkSameType(x, weight, "weight");
    Convolution.checkSameType(x, bias, "bias");
    int n = (int) Shapes.numel(normalizedShape);
    int m = n == 0 ? 0 : (int) (x.numel() / n);
    double[] xv = x.toDoubleArray();
    double[] wv = weight == null ? null : weight.toDoubleArray();
    double[] bv = bias == null ? null : bias.toDoubleArray();
    double[] mean = new double[m], rstd = new double[m], out = new double[xv.length];
    for (int i = 0; i < m; i++) {
      int off = i * n;
      double s = 0;
      for (int j = 0; j < n; j++) s += xv[off + j];
      double mu = s / n, v = 0;
      for (int j = 0; j < n; j++) v += (xv[off + j] - mu) * (xv[off + j] - mu);
      double r = 1 / Math.sqrt(v / n + eps);
      mean[i] = mu;
      rstd[i] = r;
      for (int j = 0; j < n; j++) {
        double y = (xv[off + j] - mu) * r;
        if (wv != null) y *= wv[j];
        if (bv != null) y += bv[j];
        out[off + j] = y;
      }
    }
    Tensor y = Torch.tensor(out, x.dtype(), xs);
    if (Tape.needsRecord(x, weight, bias)) {
      Tensor[] saved = weight == null ? new Tensor[] {x} : new Tensor[] {x, weight};
      Tape.record(
          Op.NATIVE_LAYER_NORM,
          y,
          new Tensor[] {x, weight, bias},
          saved,
          null,
          new LayerNormState(m, n, mean, rstd, weight != null));
    }
    return y;
  }

  private static void checkParam(String name, Tensor p, long[] shape) {
    if (p != null && !java.util.Arrays.equals(p.shape(), shape)) {
      throw new IllegalArgumentException(
          "Expected "
              + name
              + " to be of same shape as normalized_shape, but got "
              + name
              + " of shape "
              + Shapes.str(p.shape())
              + " and normalized_shape = "
              + Shapes.str(shape));
    }
  }

  /**
   * NativeLayerNormBackward0, per row with xh = (x - mean) rstd and d = g w: dx = rstd / n (n d -
   * sum d - xh sum(d xh)); dw = sum over rows of g xh; db = sum over rows of g.
   */
  public static Tensor[] layerNormBackward(Ctx c, Tensor grad) {
    LayerNormState st = (LayerNormState) c.attr();
    Tensor x = c.saved(0);
    Convolution.checkNoDoubleBackward(c, grad, x, c.savedCount() > 1 ? c.saved(1) : null);
    double[] xv = x.toDoubleArray(), gv = grad.toDoubleArray();
    double[] wv = st.hasWeight() ? c.saved(1).toDoubleArray() : null;
    int m = st.m(), n = st.n();
    boolean nx = c.needsGrad(0), nw = c.needsGrad(1), nb = c.needsGrad(2);
    double[] gx = nx ? new double[xv.length] : null;
    double[] gw = nw ? new double[n] : null, gb = nb ? new double[n] : null;
    double[] d = new double[n], xh = new double[n];
    for (int i = 0; i < m; i++) {
      int off = i * n;
      double r = st.rstd()[i], mu = st.mean()[i], sd = 0, sdx = 0;
      for (int j = 0; j < n; j++) {
        xh[j] = (xv[off + j] - mu) * r;
        d[j] = wv == null ? gv[off + j] : gv[off + j] * wv[j];
        sd += d[j];
        sdx += d[j] * xh[j];
        if (nw) gw[j] += gv[off + j] * xh[j];
        if (nb) gb[j] += gv[off + j];
      }
      if (nx) for (int j = 0; j < n; j++) gx[off + j] = r / n * (n * d[j] - sd - xh[j] * sdx);
    }
    long[] ps = c.needsGrad(1) ? c.inputShape(1) : c.needsGrad(2) ? c.inputShape(2) : null;
    return new Tensor[] {
      nx ? Torch.tensor(gx, grad.dtype(), x.shape()) : null,
      nw ? Torch.tensor(gw, grad.dtype(), ps) : null,
      nb ? Torch.tensor(gb, grad.dtype(), ps) : null
    };
  }

  // ------------------------------------------------------------------ batch_norm

  /**
   * F.batch_norm on [N, C] or [N, C, *]. In training, normalizes with the batch's mean and biased
   * variance and, when given, updates running_mean and running_var in place with {@code momentum}
   * (the variance unbiased, as PyTorch); in evaluation, normalizes with the running statistics.
   * Records NativeBatchNormBackward0.
   */
  public static Tensor batchNorm(
      Tensor x,
      Tensor runningMean,
      Tensor runningVar,
      Tensor weight,
      Tensor bias,
      boolean training,
      double momentum,
      double eps) {
    Convolution.checkFloat("batch_norm", x);
    if (x.dim() < 2) {
      throw new IllegalArgumentException(
          "Expected 2D or more input to batch_norm (got " + x.dim() + "D input)");
    }
    long[] xs = x.shape();
    int nn = (int) xs[0], c = (int) xs[1];
    int s = (int) (Shapes.numel(xs) / Math.max(1, (long) nn * c));
    checkFeatures("running_mean", runningMean, c);
    checkFeatures("running_var", runningVar, c);
    checkFeatures("weight", weight, c);
    checkFeatures("bias", bias, c);
    Convolution.checkSameType(x, weight, "weight");
    Convolution.checkSameType(x, bias, "bias");
    long count = (long) nn * s;
    if (training && count <= 1) {
      throw new IllegalArgumentException(
          "Expected more than 1 value per channel when training, got input size torch.Size("
              + Shapes.str(xs)
              + ")");
    }
    if (!training && (runningMean == null || runningVar == null)) {
      throw new IllegalArgumentException(
          "running_mean and running_var must be defined in evaluation mode");
    }
    double[] xv = x.toDoubleArray();
    double[] mean = new double[c], rstd = new double[c];
    if (training) {
      double[] var = new double[c];
      for (int ch = 0; ch < c; ch++) {
        double sum = 0;
        for (int i = 0; i < nn; i++)
          for (int k = 0, off = (i * c + ch) * s; k < s; k++) sum += xv[off + k];
        double mu = sum / count, v = 0;
        for (int i = 0; i < nn; i++)
          for (int k = 0, off = (i * c + ch) * s; k < s; k++)
            v += (xv[off + k] - mu) * (xv[off + k] - mu);
        mean[ch] = mu;
        var[ch] = v / count;
        rstd[ch] = 1 / Math.sqrt(var[ch] + eps);
      }
      if (runningMean != null || runningVar != null) {
        try (var guard = Torch.noGrad()) {
          for (int ch = 0; ch < c; ch++) {
            if (runningMean != null) {
              double rm = runningMean.get(ch);
              runningMean.set((1 - momentum) * rm + momentum * mean[ch], ch);
            }
            if (runningVar != null) {
              double rv = runningVar.get(ch);
              double unbiased = var[ch] * count / (count - 1);
              runningVar.set((1 - momentum) * rv + momentum * unbiased, ch);
            }
          }
        }
      }
    } else {
      for (int ch = 0; ch < c; ch++) {
        mean[ch] = runningMean.get(ch);
        rstd[ch] = 1 / Math.sqrt(runningVar.get(ch) + eps);
      }
    }
    double[] wv = weight == null ? null : weight.toDoubleArray();
    double[] bv = bias == null ? null : bias.toDoubleArray();
    double[] out = new double[xv.length];
    for (int i = 0; i < nn; i++)
      for (int ch = 0; ch < c; ch++)
        for (int k = 0, off = (i * c + ch) * s; k < s; k++) {
          double y = (xv[off + k] - mean[ch]) * rstd[ch];
          if (wv != null) y *= wv[ch];
          if (bv != null) y += bv[ch];
          out[off + k] = y;
        }
    Tensor y = Torch.tensor(out, x.dtype(), xs);
    if (Tape.needsRecord(x, weight, bias)) {
      Tensor[] saved = weight == null ? new Tensor[] {x} : new Tensor[] {x, weight};
      Tape.record(
          Op.NATIVE_BATCH_NORM,
          y,
          new Tensor[] {x, weight, bias},
          saved,
          null,
          new BatchNormState(nn, c, s, mean, rstd, training, weight != null));
    }
    return y;
  }

  private static void checkFeatures(String name, Tensor t, int c) {
    if (t != null && t.numel() != c) {
      throw new IllegalArgumentException(
          name + " should contain " + c + " elements not " + t.numel());
    }
  }

  /**
   * NativeBatchNormBackward0, per channel with xh = (x - mean) rstd over its m = N * spatial
   * elements: in training dx = w rstd (g - mean(g) - xh mean(g xh)); in evaluation dx = g w rstd;
   * dw = sum g xh; db = sum g.
   */
  public static Tensor[] batchNormBackward(Ctx c, Tensor grad) {
    BatchNormState st = (BatchNormState) c.attr();
    Tensor x = c.saved(0);
    Convolution.checkNoDoubleBackward(c, grad, x, c.savedCount() > 1 ? c.saved(1) : null);
    double[] xv = x.toDoubleArray(), gv = grad.toDoubleArray();
    double[] wv = st.hasWeight() ? c.saved(1).toDoubleArray() : null;
    int nn = st.n(), ch = st.c(), s = st.s();
    double m = (double) nn * s;
    boolean nx = c.needsGrad(0), nw = c.needsGrad(1), nb = c.needsGrad(2);
    double[] gx = nx ? new double[xv.length] : null;
    double[] gw = nw ? new double[ch] : null, gb = nb ? new double[ch] : null;
    for (int k = 0; k < ch; k++) {
      double mu = st.mean()[k], r = st.rstd()[k], sg = 0, sgx = 0;
      for (int i = 0; i < nn; i++)
        for (int j = 0, off = (i * ch + k) * s; j < s; j++) {
          sg += gv[off + j];
          sgx += gv[off + j] * (xv[off + j] - mu) * r;
        }
      if (nw) gw[k] = sgx;
      if (nb) gb[k] = sg;
      if (!nx) continue;
      double w = wv == null ? 1 : wv[k];
      for (int i = 0; i < nn; i++)
        for (int j = 0, off = (i * ch + k) * s; j < s; j++) {
          double xh = (xv[off + j] - mu) * r;
          gx[off + j] =
              st.training() ? w * r * (gv[off + j] - sg / m - xh * sgx / m) : gv[off + j] * w * r;
        }
    }
    return new Tensor[] {
      nx ? Torch.tensor(gx, grad.dtype(), x.shape()) : null,
      nw ? Torch.tensor(gw, grad.dtype(), c.inputShape(1)) : null,
      nb ? Torch.tensor(gb, grad.dtype(), c.inputShape(2)) : null
    };
  }
}
