package dev.panagrad.memory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters of the library's native memory. The JDK does not count memory of shared arenas, so the
 * pool keeps its own: live bytes and storages (what tensors hold now), and slab allocations (what
 * the pool took from the operating system).
 *
 * <p>Note [Counts per thread]. Every storage a scope takes or releases updates the live counts,
 * several times per eager op. As shared atomic counters that was about a quarter of a tiny op's
 * time (W3, 410 -> 310 ns: two locked read-modify-writes per storage, each a full fence on x86). So
 * each thread's {@link StorageCache}, which its scopes already hold, counts their storages in a
 * {@link Share} of its own, with plain stores in opaque mode, and a reader adds the shares up.
 * Storages outside scopes (released by the Cleaner or by hand, at most a few per step) go to shared
 * atomic counters: the Cleaner's thread erases its thread-locals after every action, so it has no
 * lasting cache to count in. A share whose thread has ended, or whose cache is gone, is folded into
 * {@code ended*} by the next reader or new share (a storage may be released by another thread, so
 * counts may be negative). The sums are exact whenever the threads that allocate are quiet, which
 * is when tests and reports read them; while they run, a reader may see a count a few stores old.
 */
public final class MemoryStats {
  private static final AtomicLong SLAB_COUNT = new AtomicLong();
  private static final AtomicLong SLAB_BYTES = new AtomicLong();
  private static final AtomicLong UNSCOPED_BYTES = new AtomicLong();
  private static final AtomicLong UNSCOPED_COUNT = new AtomicLong();

  private static final List<Share> SHARES = new ArrayList<>(); // guarded by itself
  private static long endedBytes, endedCount; // guarded by SHARES

  /** One thread's scoped live counts: written by that thread only, read by any. */
  static final class Share {
    private static final VarHandle BYTES, COUNT;

    static {
      try {
        var lookup = MethodHandles.lookup();
        BYTES = lookup.findVarHandle(Share.class, "bytes", long.class);
        COUNT = lookup.findVarHandle(Share.class, "count", long.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    // Both weak: the list of shares must not keep an ended thread reachable, and with it its task
    // and whatever the task captured (tensors, whose native memory would stay live until the
    // next reader folded the share).
    private final WeakReference<Thread> owner;
    private final WeakReference<Object> holder; // the cache that writes here
    private long bytes, count;

    private Share(Thread owner, Object holder) {
      this.owner = new WeakReference<>(owner);
      this.holder = new WeakReference<>(holder);
    }

    /** By the owner: its own fields need no fence to read, and opaque stores never tear. */
    private void add(long deltaBytes, long deltaCount) {
      BYTES.setOpaque(this, bytes + deltaBytes);
      COUNT.setOpaque(this, count + deltaCount);
    }

    /** A storage of {@code bytes} bytes taken, by the owner. */
    void allocated(long bytes) {
      add(bytes, 1);
    }

    /** {@code count} storages of {@code bytes} bytes in all released, by the owner. */
    void released(long bytes, long count) {
      if (count != 0) add(-bytes, -count);
    }

    long bytes() {
      return (long) BYTES.getOpaque(this);
    }

    long count() {
      return (long) COUNT.getOpaque(this);
    }

    /** Nothing can write here any more. */
    boolean ended() {
      Thread t = owner.get();
      return t == null || !t.isAlive() || holder.refersTo(null);
    }
  }

  private MemoryStats() {}

  /** A share for the current thread's {@code holder} (its storage cache) to count in. */
  static Share newShare(Object holder) {
    Share s = new Share(Thread.currentThread(), holder);
    synchronized (SHARES) {
      foldEnded();
      SHARES.add(s);
    }
    return s;
  }

  /**
   * Moves the counts of shares nothing can write any more into {@code ended*} (their last stores
   * are visible: a thread's end happens-before another thread sees {@code isAlive()} false, and a
   * cache is unreachable only once its thread has let go of it).
   */
  private static void foldEnded() {
    for (int i = SHARES.size() - 1; i >= 0; i--) {
      Share s = SHARES.get(i);
      if (!s.ended()) continue;
      endedBytes += s.bytes();
      endedCount += s.count();
      SHARES.set(i, SHARES.getLast());
      SHARES.removeLast();
    }
  }

  /** Bytes held by storages that are not yet released (requested sizes, not size classes). */
  public static long liveBytes() {
    synchronized (SHARES) {
      foldEnded();
      long sum = endedBytes + UNSCOPED_BYTES.get();
      for (Share s : SHARES) sum += s.bytes();
      return sum;
    }
  }

  /** Storages not yet released. */
  public static long liveCount() {
    synchronized (SHARES) {
      foldEnded();
      long sum = endedCount + UNSCOPED_COUNT.get();
      for (Share s : SHARES) sum += s.count();
      return sum;
    }
  }

  /** Shares still counted one by one (tests: they must not pile up). */
  static int shareCount() {
    synchronized (SHARES) {
      foldEnded();
      return SHARES.size();
    }
  }

  /** Slabs (native allocations) the pool has made; flat once a training loop is warm. */
  public static long slabCount() {
    return SLAB_COUNT.get();
  }

  /** Bytes of native memory the pool has taken in slabs: its high-water mark. */
  public static long slabBytes() {
    return SLAB_BYTES.get();
  }

  /** A storage taken outside any scope. */
  static void allocated(long bytes) {
    UNSCOPED_BYTES.addAndGet(bytes);
    UNSCOPED_COUNT.incrementAndGet();
  }

  /** A storage released outside a scope's close: by the Cleaner, or by hand. */
  static void released(long bytes) {
    UNSCOPED_BYTES.addAndGet(-bytes);
    UNSCOPED_COUNT.decrementAndGet();
  }

  static void slabAllocated(long bytes) {
    SLAB_COUNT.incrementAndGet();
    SLAB_BYTES.addAndGet(bytes);
  }

  /** One line for logs and {@code Torch.config()}. */
  public static String summary() {
    return "live="
        + liveBytes()
        + "B in "
        + liveCount()
        + " storages, slabs="
        + slabCount()
        + " ("
        + slabBytes()
        + "B)";
  }
}
