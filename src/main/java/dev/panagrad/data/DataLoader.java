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
  private boolean prefetch;

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

  /**
   * Makes the next batch on a background thread while the caller trains on the current one. Each
   * batch is copied into the caller's scope when {@code next()} hands it out, so scoping is the
   * same as without prefetching, and the order and values are identical. Returns this.
   */
  public DataLoader prefetch(boolean on) {
    this.prefetch = on;
    return this;
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
    if (prefetch) return new Prefetcher(order, batches);
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

  private long[] batchIndices(long[] order, long k) {
    int from = Math.toIntExact(k * batchSize);
    return java.util.Arrays.copyOfRange(order, from, Math.min(order.length, from + batchSize));
  }

  /**
   * One batch ahead on a daemon thread. The worker makes each batch inside its own scope and keeps
   * that scope open until the caller has copied the batch out (a scope must close on the thread
   * that opened it), then closes it and makes the next one: the copy of batch k and the making of
   * batch k+1 overlap the caller's step.
   */
  private final class Prefetcher implements Iterator<Tensor[]> {
    private final java.util.concurrent.SynchronousQueue<Object> ready =
        new java.util.concurrent.SynchronousQueue<>();
    private final java.util.concurrent.SynchronousQueue<Boolean> copied =
        new java.util.concurrent.SynchronousQueue<>();
    private final long batches;
    private long next;

    Prefetcher(long[] order, long batches) {
      this.batches = batches;
      Thread worker =
          new Thread(
              () -> {
                try {
                  for (long k = 0; k < batches; k++) {
                    try (var scope = dev.panagrad.memory.Scope.open("prefetch")) {
                      Object batch;
                      try {
                        batch = collate(batchIndices(order, k));
                      } catch (RuntimeException | Error e) {
                        batch = e;
                      }
                      ready.put(batch);
                      copied.take();
                    }
                  }
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              "panagrad-prefetch");
      worker.setDaemon(true);
      worker.start();
    }

    @Override
    public boolean hasNext() {
      return next < batches;
    }

    @Override
    public Tensor[] next() {
      if (!hasNext()) throw new NoSuchElementException();
      next++;
      try {
        Object got = ready.take();
        try {
          if (got instanceof RuntimeException e) throw e;
          if (got instanceof Error e) throw e;
          Tensor[] made = (Tensor[]) got;
          Tensor[] mine = new Tensor[made.length];
          for (int i = 0; i < made.length; i++) mine[i] = made[i].clone();
          return mine;
        } finally {
          copied.put(Boolean.TRUE);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for a prefetched batch", e);
      }
    }
  }
}
