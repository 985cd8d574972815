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

  /** The thread's live counts (Note [Counts per thread] in {@link MemoryStats}). */
  final MemoryStats.Share counts = MemoryStats.newShare(this);

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
    Storage s = shelf.pop(StoragePool.sizeClass(bytes), bytes);
    if (s != null) s.reuse(bytes);
    return s;
  }

  /** Keeps released {@code s} for a later request, or returns its piece to the pool when full. */
  void give(Storage s) {
    if (!shelf.push(s)) {
      s.piece().lastHolder = s; // the next taker of the piece reuses the object (Storage.take)
      StoragePool.get().give(s.piece());
    }
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

    /** How deep pop looks for a storage that last held exactly the bytes asked for. */
    private static final int MATCH_DEPTH = 8;

    /**
     * The most recently shelved storage of class c, or, among the top {@link #MATCH_DEPTH}, one
     * that last served exactly {@code want} bytes: its piece keeps that view (StoragePool.Piece),
     * so when a class serves two sizes in a step (a 4,000- and a 2,560-byte tensor share the 4 KiB
     * class) the match cuts no new segment.
     */
    Storage pop(int c, long want) {
      int n = counts[c];
      if (n == 0) return null;
      Storage[] stack = stacks[c];
      for (int i = n - 1; i >= Math.max(0, n - MATCH_DEPTH); i--) {
        if (stack[i].byteSize() == want) {
          Storage s = stack[i];
          stack[i] = stack[n - 1];
          return popTop(c, s);
        }
      }
      return popTop(c, stack[n - 1]);
    }

    private Storage popTop(int c, Storage s) {
      Storage[] stack = stacks[c];
      stack[--counts[c]] = null;
      bytes -= 1L << c;
      return s;
    }

    Storage pop(int c) {
      return counts[c] == 0 ? null : popTop(c, stacks[c][counts[c] - 1]);
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
