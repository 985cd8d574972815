package dev.panagrad.memory;

import java.lang.ref.Cleaner;

/**
 * A thread's small shelf of released storages, each with its pool piece, in front of the shared
 * {@link StoragePool}: a scope's close puts its storages here, and the next step's requests of the
 * same size classes take them back with no lock and no new storage object (Note [Storage
 * generations] in {@link Storage} says why that is safe).
 *
 * <p>Bounded: only pieces up to {@link #MAX_PIECE_BYTES} are kept, at most {@link #MAX_BYTES} of
 * them in all; the rest go to the pool at once. The shelf goes back to the pool when its thread
 * ends (a Cleaner watches the cache, which only the thread-local and the thread's scopes reach).
 * Live-byte accounting does not change: a storage on the shelf is released, and counted so.
 */
final class StorageCache {
  /** Largest piece kept: the small tensors of eager ops, where a lock per tensor shows. */
  static final long MAX_PIECE_BYTES = 64 << 10;

  /** Piece bytes a thread keeps at most. */
  static final long MAX_BYTES = 1 << 20;

  private static final Cleaner CLEANER = Cleaner.create();
  private static final ThreadLocal<StorageCache> CURRENT =
      ThreadLocal.withInitial(StorageCache::new);

  private final Shelf shelf = new Shelf();

  private StorageCache() {
    CLEANER.register(this, shelf);
  }

  /** This thread's cache. */
  static StorageCache current() {
    return CURRENT.get();
  }

  /** A released storage for a request of {@code bytes} bytes, made ready for it; or null. */
  Storage take(long bytes) {
    if (bytes > MAX_PIECE_BYTES) return null;
    Storage s = shelf.pop(StoragePool.sizeClass(bytes));
    if (s != null) s.reuse(bytes);
    return s;
  }

  /** Keeps released {@code s} for a later request, or returns its piece to the pool when full. */
  void give(Storage s) {
    if (!shelf.push(s)) StoragePool.get().give(s.piece());
  }

  /**
   * The stacks themselves, apart from the cache object so the Cleaner's action (which empties them
   * into the pool when the thread is gone) does not keep the cache reachable.
   */
  private static final class Shelf implements Runnable {
    private static final int CLASSES = 64 - Long.numberOfLeadingZeros(MAX_PIECE_BYTES - 1) + 1;
    private final Storage[][] stacks = new Storage[CLASSES][];
    private final int[] counts = new int[CLASSES];
    private long bytes;

    Storage pop(int c) {
      if (counts[c] == 0) return null;
      Storage s = stacks[c][--counts[c]];
      stacks[c][counts[c]] = null;
      bytes -= 1L << c;
      return s;
    }

    boolean push(Storage s) {
      int c = s.piece().sizeClass;
      if (c >= CLASSES || bytes + (1L << c) > MAX_BYTES) return false;
      Storage[] stack = stacks[c];
      if (stack == null) {
        stack = stacks[c] = new Storage[16];
      } else if (counts[c] == stack.length) {
        stack = stacks[c] = java.util.Arrays.copyOf(stack, stack.length * 2);
      }
      stack[counts[c]++] = s;
      bytes += 1L << c;
      return true;
    }

    /** Empties the shelf into the pool: run by the Cleaner once the thread is gone. */
    @Override
    public synchronized void run() {
      for (int c = 0; c < CLASSES; c++) {
        while (counts[c] > 0) StoragePool.get().give(pop(c).piece());
      }
    }
  }
}
