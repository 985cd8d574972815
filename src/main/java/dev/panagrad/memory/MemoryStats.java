package dev.panagrad.memory;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters of the library's native memory. The JDK does not count memory of shared arenas, so the
 * pool keeps its own: live bytes and storages (what tensors hold now), the peak, and slab
 * allocations (what the pool took from the operating system).
 */
public final class MemoryStats {
  private static final AtomicLong LIVE_BYTES = new AtomicLong();
  private static final AtomicLong PEAK_BYTES = new AtomicLong();
  private static final AtomicLong LIVE_COUNT = new AtomicLong();
  private static final AtomicLong SLAB_COUNT = new AtomicLong();
  private static final AtomicLong SLAB_BYTES = new AtomicLong();

  private MemoryStats() {}

  /** Bytes held by storages that are not yet released (requested sizes, not size classes). */
  public static long liveBytes() {
    return LIVE_BYTES.get();
  }

  /** The highest {@link #liveBytes()} seen since start or {@link #resetPeak()}. */
  public static long peakBytes() {
    return PEAK_BYTES.get();
  }

  /** Storages not yet released. */
  public static long liveCount() {
    return LIVE_COUNT.get();
  }

  /** Slabs (native allocations) the pool has made; flat once a training loop is warm. */
  public static long slabCount() {
    return SLAB_COUNT.get();
  }

  /** Bytes of native memory the pool has taken in slabs. */
  public static long slabBytes() {
    return SLAB_BYTES.get();
  }

  public static void resetPeak() {
    PEAK_BYTES.set(LIVE_BYTES.get());
  }

  static void allocated(long bytes) {
    long live = LIVE_BYTES.addAndGet(bytes);
    LIVE_COUNT.incrementAndGet();
    // Read first: a new peak is rare once warm, and the update is an atomic write.
    if (live > PEAK_BYTES.get()) PEAK_BYTES.accumulateAndGet(live, Math::max);
  }

  static void released(long bytes) {
    released(bytes, 1);
  }

  /** {@code count} storages of {@code bytes} bytes in all released together (a scope's close). */
  static void released(long bytes, long count) {
    if (count == 0) return;
    LIVE_BYTES.addAndGet(-bytes);
    LIVE_COUNT.addAndGet(-count);
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
        + " storages, peak="
        + peakBytes()
        + "B, slabs="
        + slabCount()
        + " ("
        + slabBytes()
        + "B)";
  }
}
