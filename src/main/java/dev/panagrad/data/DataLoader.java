package dev.panagrad.data;

import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.random.Generator;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Batches of a dataset, one pass per {@code for} loop, optionally shuffled in PyTorch's order.
 *
 * <p>Shuffling follows {@code torch.utils.data.DataLoader} with {@code num_workers=0} exactly: each
 * pass first draws the loader's base seed ({@code random_()} of an int64, one {@code random64()})
 * from the loader's generator; then, without a generator, {@code RandomSampler} draws a seed the
 * same way from the default generator and shuffles with {@code randperm} of a new generator seeded
 * with it; with a generator, it shuffles with {@code randperm} of that generator. So after {@code
 * manualSeed(s)} the batches are PyTorch's batches.
 *
 * <p>A batch belongs to the scope open when {@code next()} makes it: call {@code next()} inside a
 * training step's {@code Scope} to release each batch with its step.
 *
 * {@snippet :
 * var loader = new DataLoader(new TensorDataset(x, y), 64, true);
 * for (Tensor[] batch : loader) {
 *   Tensor xb = batch[0], yb = batch[1];
 * }
 * }
 */
public final class DataLoader implements Iterable<Tensor[]> {
  private final Dataset dataset;
  private final int batchSize;
  private final boolean shuffle, dropLast;
  private final Generator generator;

  public DataLoader(Dataset dataset, int batchSize) {
    this(dataset, batchSize, false, false, null);
  }

  public DataLoader(Dataset dataset, int batchSize, boolean shuffle) {
    this(dataset, batchSize, shuffle, false, null);
  }

  /** {@code generator} null means the default generator, as in PyTorch. */
  public DataLoader(
      Dataset dataset, int batchSize, boolean shuffle, boolean dropLast, Generator generator) {
    if (batchSize <= 0) {
      throw new IllegalArgumentException(
          "batch_size should be a positive integer value, but got batch_size=" + batchSize);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.generator = generator;
  }

  /** The number of batches in one pass. */
  public long size() {
    long n = dataset.size();
    return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
  }

  public Dataset dataset() {
    return dataset;
  }

  public int batchSize() {
    return batchSize;
  }

  /** The sample order of one pass, drawing from the generators as PyTorch does. */
  long[] order() {
    long n = dataset.size();
    Generator loaderGen = generator != null ? generator : Generator.defaultGenerator();
    loaderGen.random64(); // _BaseDataLoaderIter's _base_seed: drawn even with no workers
    if (!shuffle) {
      long[] seq = new long[Math.toIntExact(n)];
      for (int i = 0; i < seq.length; i++) seq[i] = i;
      return seq;
    }
    Generator g = generator;
    if (g == null) {
      long seed = Generator.defaultGenerator().random64() & Long.MAX_VALUE;
      g = new Generator(seed);
    }
    long[] perm = new long[Math.toIntExact(n)];
    Tensor t = Torch.randperm(n, g);
    java.lang.foreign.MemorySegment.copy(
        t.segment(), java.lang.foreign.ValueLayout.JAVA_LONG, 0, perm, 0, perm.length);
    return perm;
  }

  @Override
  public Iterator<Tensor[]> iterator() {
    long[] order = order();
    long batches = size();
    return new Iterator<>() {
      long next;

      @Override
      public boolean hasNext() {
        return next < batches;
      }

      @Override
      public Tensor[] next() {
        if (!hasNext()) throw new NoSuchElementException();
        int from = Math.toIntExact(next * batchSize);
        int to = Math.min(order.length, from + batchSize);
        next++;
        return collate(java.util.Arrays.copyOfRange(order, from, to));
      }
    };
  }

  private Tensor[] collate(long[] indices) {
    if (dataset instanceof TensorDataset td) return td.rows(indices);
    Tensor[][] samples = new Tensor[indices.length][];
    for (int k = 0; k < indices.length; k++) samples[k] = dataset.get(indices[k]);
    Tensor[] out = new Tensor[samples[0].length];
    for (int f = 0; f < out.length; f++) {
      Tensor[] field = new Tensor[indices.length];
      for (int k = 0; k < field.length; k++) field[k] = samples[k][f];
      out[f] = Torch.stack(field, 0);
    }
    return out;
  }
}
