package dev.panagrad.kernels;

import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The library's one intra-op thread pool. Work is split only above {@link #MIN_ELEMENTS}, into one
 * chunk per thread at boundaries that depend only on the length and the thread count, so a result
 * never depends on timing; the calling thread runs the first chunk.
 *
 * <p>Dispatch allocates nothing: the workers are persistent threads, each with one task slot that
 * the caller fills and wakes with {@link LockSupport#unpark}. A replayed training step runs with 0
 * bytes of heap allocation at any thread count. When two threads split work at once, the second
 * runs its chunks itself, at the same boundaries (same results, no waiting on the other's work).
 */
public final class Parallel {
  /**
   * Below this many elements an op runs on the calling thread. Handing a chunk to another thread
   * costs a few microseconds, and an elementwise op on data in cache is bound by the memory
   * bandwidth a core already has, so splitting pays only on large runs: eager W1 steps (elementwise
   * ops of 100,000 floats) took 340-379 us with 2^20 here against 410 us with 2^16 (2 cores, the
   * same run); W2 did not change beyond noise.
   */
  public static final long MIN_ELEMENTS = 1L << 20;

  /** The work on elements [from, to). */
  @FunctionalInterface
  public interface Range {
    void run(long from, long to);
  }

  /** Spins before parking while waiting for a worker: a chunk often ends within microseconds. */
  private static final int SPINS = 2_000;

  /**
   * How long an idle worker spins before parking. Waking a parked thread took 34-36 us a hand-off
   * on the 2-core virtual machine the library is tuned on, against 0.4 us for a spinning one; 1 ms
   * outlasts the gap between the split work of one training step and the next (a replayed W1 step
   * is about 300 us: with 200 us here its split product took 205-210 us, with 1 ms 99-120 us). The
   * property is for measuring only.
   */
  private static final long IDLE_SPIN_NANOS = Long.getLong("panagrad.idleSpinNanos", 1_000_000);

  private static volatile int threads = Runtime.getRuntime().availableProcessors();
  private static Worker[] workers = new Worker[0];
  private static final ReentrantLock BUSY = new ReentrantLock();

  private Parallel() {}

  public static int threads() {
    return threads;
  }

  /** Sets the thread count (the caller included); 1 runs everything on the calling thread. */
  public static void setThreads(int n) {
    if (n < 1) throw new IllegalArgumentException("Number of threads must be positive, got " + n);
    BUSY.lock();
    try {
      if (n == threads) return;
      threads = n;
      for (Worker w : workers) w.retire();
      workers = new Worker[0];
    } finally {
      BUSY.unlock();
    }
  }

  /** Runs {@code body} over [0, n), split into fixed chunks when n is large enough. */
  public static void forRange(long n, Range body) {
    forRange(n, MIN_ELEMENTS, body);
  }

  /** {@link #forRange} splitting from {@code minElements} on. */
  private static void forRange(long n, long minElements, Range body) {
    int t = threads;
    if (t == 1 || n < minElements) {
      body.run(0, n);
      return;
    }
    // Chunk boundaries are multiples of 64 elements, so every chunk starts cache-line aligned
    // relative to the first, and SIMD tails fall only at the very end.
    split(t, n, chunk(n, t, 64), body);
  }

  /**
   * One thread's share of n elements in whole units of {@code unit} (the last chunk may be short).
   */
  private static long chunk(long n, int t, long unit) {
    return ((n + unit - 1) / unit + t - 1) / t * unit;
  }

  /**
   * Runs {@code body} over [0, n) in one chunk per thread whatever n is, each chunk but the last a
   * multiple of {@code unit}: for work already known to be worth splitting, whose boundaries must
   * fall on units (a product's rows that end on a multiple of 64 elements).
   */
  public static void forUnits(long n, long unit, Range body) {
    if (unit < 1) throw new IllegalArgumentException("unit must be positive, got " + unit);
    int t = threads;
    if (t == 1 || n <= unit) {
      body.run(0, n);
      return;
    }
    split(t, n, chunk(n, t, unit), body);
  }

  /**
   * Below this many elements {@link #forPass} runs on the calling thread. A fused pass that reads
   * and writes several arrays per element (an optimizer update: parameter, gradient and momentum
   * read, two written) moves five times the bytes of its element count, and one core cannot draw
   * the memory bandwidth two can (W4: 12 GB/s for one thread's plain loop, 27-32 GB/s for two).
   */
  public static final long MIN_SPLIT_PASS = 1L << 16;

  /**
   * Runs {@code body} over [0, n) like {@link #forRange}, splitting from {@link #MIN_SPLIT_PASS}
   * elements on: for passes that move several arrays per element.
   */
  public static void forPass(long n, Range body) {
    forRange(n, MIN_SPLIT_PASS, body);
  }

  /**
   * Below this much work (items times elements per item) {@link #forItems} runs on the calling
   * thread. Lower than {@link #MIN_ELEMENTS}: an item (a sample's planes in im2col, col2im or
   * pooling) does index arithmetic and short row copies, not one streaming pass, so two cores pay
   * off on less data. W7's first pooling (2,048 planes of 676 floats) splits.
   */
  public static final long MIN_ITEM_WORK = 1L << 16;

  /**
   * Runs {@code body} over items [0, n), each about {@code elementsPerItem} elements of work, split
   * into one run of whole items per thread when there is enough work. Boundaries depend only on n
   * and the thread count.
   */
  public static void forItems(long n, long elementsPerItem, Range body) {
    int t = threads;
    if (!splitsItems(t, n, elementsPerItem)) {
      body.run(0, n);
      return;
    }
    split(t, n, (n + t - 1) / t, body);
  }

  /**
   * Whether {@link #forItems} would split this work: when it would not, a caller may run the work
   * directly instead of making a {@link Range} for it.
   */
  public static boolean splitsItems(long n, long elementsPerItem) {
    return splitsItems(threads, n, elementsPerItem);
  }

  private static boolean splitsItems(int t, long n, long elementsPerItem) {
    return t > 1 && n >= 2 && n * elementsPerItem >= MIN_ITEM_WORK;
  }

  /**
   * Runs body over [0, n) in chunks of {@code chunk}, one per thread, the caller taking the first.
   */
  private static void split(int t, long n, long chunk, Range body) {
    if (BUSY.isHeldByCurrentThread() || !BUSY.tryLock()) {
      for (long from = 0; from < n; from += chunk) body.run(from, Math.min(n, from + chunk));
      return;
    }
    try {
      if (workers.length != t - 1) startWorkers(t - 1);
      Thread caller = Thread.currentThread();
      int k = 0;
      for (long from = chunk; from < n; from += chunk) {
        workers[k++].submit(body, from, Math.min(n, from + chunk), caller);
      }
      Throwable failure = null;
      try {
        body.run(0, Math.min(chunk, n));
      } catch (Throwable e) {
        failure = e;
      }
      for (int i = 0; i < k; i++) {
        Throwable e = workers[i].await();
        if (failure == null) failure = e;
      }
      if (failure instanceof RuntimeException re) throw re;
      if (failure instanceof Error er) throw er;
      if (failure != null) throw new IllegalStateException(failure);
    } finally {
      BUSY.unlock();
    }
  }

  private static void startWorkers(int count) {
    for (Worker w : workers) w.retire();
    Worker[] ws = new Worker[count];
    for (int i = 0; i < count; i++) {
      ws[i] = new Worker("panagrad-intra-op-" + (i + 1));
      ws[i].start();
    }
    workers = ws;
  }

  /** A persistent thread with one task slot; {@code pending} hands the slot back and forth. */
  private static final class Worker extends Thread {
    private Range body;
    private long from, to;
    private Thread caller;
    private Throwable error;
    private volatile boolean pending;
    private volatile boolean retired;

    Worker(String name) {
      super(name);
      setDaemon(true);
    }

    /** Fills the slot (plain writes, published by the volatile write of pending) and wakes us. */
    void submit(Range body, long from, long to, Thread caller) {
      this.body = body;
      this.from = from;
      this.to = to;
      this.caller = caller;
      this.error = null;
      pending = true;
      LockSupport.unpark(this);
    }

    /** Waits for the submitted chunk; returns what it threw, or null. */
    Throwable await() {
      for (int spin = 0; pending; spin++) {
        if (spin < SPINS) Thread.onSpinWait();
        else LockSupport.park(this);
      }
      return error;
    }

    /** Spins up to {@link #IDLE_SPIN_NANOS} for the next chunk; true when one came. */
    private boolean spinForWork() {
      long deadline = System.nanoTime() + IDLE_SPIN_NANOS;
      for (int i = 1; !pending && !retired; i++) {
        if ((i & 63) != 0) {
          Thread.onSpinWait();
        } else {
          if (System.nanoTime() > deadline) return false;
          Thread.yield(); // a runnable thread on this core (a BLAS thread) goes first
        }
      }
      return pending;
    }

    void retire() {
      retired = true;
      LockSupport.unpark(this);
    }

    @Override
    public void run() {
      while (!retired) {
        if (!pending && !spinForWork()) {
          LockSupport.park(this);
          continue;
        }
        try {
          body.run(from, to);
        } catch (Throwable e) {
          error = e;
        }
        body = null;
        Thread c = caller;
        pending = false;
        LockSupport.unpark(c);
      }
    }
  }
}
