package dev.panagrad.kernels;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The library's one intra-op thread pool. Work is split only above {@link #MIN_ELEMENTS}, into one
 * chunk per thread at boundaries that depend only on the length and the thread count, so a result
 * never depends on timing; the calling thread runs the first chunk.
 */
public final class Parallel {
  /**
   * Below this many elements an op runs on the calling thread: handing a chunk to another thread
   * costs a few microseconds, about what 64K float adds take.
   */
  public static final long MIN_ELEMENTS = 1L << 16;

  /** The work on elements [from, to). */
  @FunctionalInterface
  public interface Range {
    void run(long from, long to);
  }

  private static volatile int threads = Runtime.getRuntime().availableProcessors();
  private static volatile ExecutorService pool;

  private Parallel() {}

  public static int threads() {
    return threads;
  }

  /** Sets the thread count (the caller included); 1 runs everything on the calling thread. */
  public static synchronized void setThreads(int n) {
    if (n < 1) throw new IllegalArgumentException("Number of threads must be positive, got " + n);
    if (n == threads) return;
    threads = n;
    ExecutorService old = pool;
    pool = null;
    if (old != null) old.shutdown();
  }

  private static synchronized ExecutorService pool() {
    if (pool == null) {
      AtomicInteger id = new AtomicInteger();
      pool =
          Executors.newFixedThreadPool(
              Math.max(1, threads - 1),
              r -> {
                Thread t = new Thread(r, "panagrad-intra-op-" + id.incrementAndGet());
                t.setDaemon(true);
                return t;
              });
    }
    return pool;
  }

  /** Runs {@code body} over [0, n), split into fixed chunks when n is large enough. */
  public static void forRange(long n, Range body) {
    int t = threads;
    if (t == 1 || n < MIN_ELEMENTS) {
      body.run(0, n);
      return;
    }
    // Chunk boundaries are multiples of 64 elements, so every chunk starts cache-line aligned
    // relative to the first, and SIMD tails fall only at the very end.
    long chunk = ((n + t - 1) / t + 63) & ~63L;
    ExecutorService p = pool();
    @SuppressWarnings("unchecked")
    Future<?>[] futures = new Future<?>[t];
    int k = 0;
    for (long from = chunk; from < n; from += chunk) {
      long lo = from, hi = Math.min(n, from + chunk);
      futures[k++] = p.submit(() -> body.run(lo, hi));
    }
    body.run(0, Math.min(chunk, n));
    for (int i = 0; i < k; i++) {
      try {
        futures[i].get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for an intra-op chunk", e);
      } catch (java.util.concurrent.ExecutionException e) {
        Throwable c = e.getCause();
        if (c instanceof RuntimeException re) throw re;
        if (c instanceof Error er) throw er;
        throw new IllegalStateException(c);
      }
    }
  }
}
