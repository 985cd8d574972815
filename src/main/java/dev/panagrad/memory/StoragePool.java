package dev.panagrad.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Native memory for tensors, handed out in power-of-two size classes from slabs.
 *
 * <p>Why a pool: a training step makes the same tensors every step; with free lists per size class
 * the second step reuses the first step's memory and no native allocation happens after warm-up.
 * Small classes are cut from {@link #SLAB_BYTES} slabs; a class at least that large is its own
 * slab. Slabs come from shared arenas so a piece may be released on any thread (the {@link
 * java.lang.ref.Cleaner} thread included). Pieces are 64-byte aligned.
 *
 * <p>A storage sees its piece through a view of exactly the requested size (so a kernel cannot run
 * past a tensor's bytes into the rest of the piece). The view is cut once and kept with the piece
 * while later requests have the same size, as a training loop's do: cutting one per tensor was a
 * heap object per op. Reusing it loses nothing: a tensor whose storage was released can never reach
 * the bytes a later tensor gets, because its handle's generation ended (Note [Storage generations]
 * in {@link Storage}).
 *
 * <p>Each thread's {@link StorageCache} sits in front of {@link #take} and {@link #give} for the
 * storages its scopes release.
 */
public final class StoragePool {
  /** Alignment of every piece: a cache line, and the widest vector register. */
  public static final long ALIGNMENT = 64;

  /** Size of a slab that small size classes are cut from. */
  public static final long SLAB_BYTES = 1L << 20;

  private static final int MIN_CLASS = 6; // 64 bytes
  private static final int MAX_CLASS = 62;

  private static final StoragePool INSTANCE = new StoragePool(null);

  /** A slab piece of one size class, and the last two exact-size views cut from it. */
  static final class Piece {
    final MemorySegment whole;
    final int sizeClass; // kept here so a release need not reach the segment object
    private MemorySegment view, previous; // previous: null until a second size is cut

    /**
     * The released storage object that last held this piece, when the thread that released it sent
     * the piece to the pool (its shelf was full): the next taker reuses the object, as a shelf
     * would (Note [Storage generations]), instead of making one. Written before the piece enters
     * the pool and read after it leaves, both under the pool's lock.
     */
    Storage lastHolder;

    Piece(MemorySegment whole, int sizeClass) {
      this.whole = whole;
      this.sizeClass = sizeClass;
      this.view = whole;
    }

    /**
     * A view of the first {@code bytes} bytes; only the piece's current holder calls it. The last
     * two views are kept: a piece often serves tensors of two sizes of its class in turn within a
     * step (W7's), and a new slice each time is garbage each time.
     */
    MemorySegment view(long bytes) {
      if (view.byteSize() != bytes) {
        MemorySegment other = previous;
        previous = view;
        view = other != null && other.byteSize() == bytes ? other : whole.asSlice(0, bytes);
      }
      return view;
    }
  }

  /** Free pieces of each size class, as a stack (most recently freed first: warm in cache). */
  private final Piece[][] free = new Piece[MAX_CLASS + 1][];

  private final int[] freeCount = new int[MAX_CLASS + 1];

  /** The pool a private pool borrows from, or null for the shared pool. */
  private final StoragePool parent;

  /** Pieces a private pool borrowed from its parent, all returned by {@link #returnAll()}. */
  private final java.util.List<Piece> borrowed = new java.util.ArrayList<>();

  /** Pieces of a private pool handed out and not yet given back. */
  private int outstanding;

  private static final ThreadLocal<StoragePool> THREAD_POOL = new ThreadLocal<>();
  private static volatile int privateInUse;

  private StoragePool(StoragePool parent) {
    this.parent = parent;
  }

  public static StoragePool get() {
    return INSTANCE;
  }

  /**
   * A private pool: it borrows pieces from the shared pool and keeps them when they are released,
   * so memory a captured step's program writes can never be handed to other code. {@link
   * #returnAll()} gives everything back.
   */
  public static StoragePool newPrivate() {
    return new StoragePool(INSTANCE);
  }

  /** The pool storage allocated on this thread comes from: a private one while installed. */
  static StoragePool forCurrentThread() {
    if (privateInUse == 0) return INSTANCE;
    StoragePool p = THREAD_POOL.get();
    return p == null ? INSTANCE : p;
  }

  /** Routes this thread's storage allocations to {@code pool} (null: back to the shared pool). */
  public static void installOnThisThread(StoragePool pool) {
    StoragePool old = THREAD_POOL.get();
    if (old == pool) return;
    synchronized (StoragePool.class) {
      privateInUse += (pool == null ? 0 : 1) - (old == null ? 0 : 1);
    }
    if (pool == null) THREAD_POOL.remove();
    else THREAD_POOL.set(pool);
  }

  /** Pieces of this private pool handed out and not given back. */
  public synchronized int outstanding() {
    return outstanding;
  }

  /**
   * Gives every borrowed piece back to the shared pool. Only when none is outstanding: a piece some
   * storage still holds stays borrowed (leaked, never aliased). Returns whether all went back.
   */
  public synchronized boolean returnAll() {
    if (parent == null || outstanding != 0) return false;
    for (Piece piece : borrowed) parent.give(piece);
    borrowed.clear();
    java.util.Arrays.fill(free, null);
    java.util.Arrays.fill(freeCount, 0);
    return true;
  }

  /** The size class (log2 of the piece size) that holds {@code bytes}. */
  static int sizeClass(long bytes) {
    if (bytes <= (1L << MIN_CLASS)) return MIN_CLASS;
    int c = 64 - Long.numberOfLeadingZeros(bytes - 1);
    if (c > MAX_CLASS) {
      throw new IllegalArgumentException("cannot allocate " + bytes + " bytes: too large");
    }
    return c;
  }

  /**
   * A piece of at least {@code bytes} bytes (the whole size class), uninitialised.
   *
   * @throws OutOfMemoryError naming the request and the live bytes when native memory runs out
   */
  synchronized Piece take(long bytes) {
    int c = sizeClass(bytes);
    outstanding++;
    if (freeCount[c] == 0 && parent != null) {
      Piece piece = parent.take(bytes);
      borrowed.add(piece);
      return piece;
    }
    if (freeCount[c] == 0) refill(c, bytes);
    Piece piece = free[c][--freeCount[c]];
    free[c][freeCount[c]] = null;
    return piece;
  }

  /** Returns a piece taken by {@link #take}. */
  synchronized void give(Piece piece) {
    outstanding--;
    push(piece.sizeClass, piece);
  }

  private void push(int c, Piece piece) {
    Piece[] stack = free[c];
    if (stack == null) {
      stack = free[c] = new Piece[16];
    } else if (freeCount[c] == stack.length) {
      stack = free[c] = java.util.Arrays.copyOf(stack, stack.length * 2);
    }
    stack[freeCount[c]++] = piece;
  }

  private void refill(int c, long requested) {
    long pieceBytes = 1L << c;
    long slabBytes = Math.max(SLAB_BYTES, pieceBytes);
    MemorySegment slab;
    try {
      slab = Arena.ofShared().allocate(slabBytes, ALIGNMENT);
    } catch (OutOfMemoryError e) {
      throw new OutOfMemoryError(
          "native allocation of a "
              + slabBytes
              + "-byte slab failed while allocating "
              + requested
              + " bytes; "
              + MemoryStats.summary());
    }
    MemoryStats.slabAllocated(slabBytes);
    for (long off = slabBytes - pieceBytes; off >= 0; off -= pieceBytes) {
      push(c, new Piece(slab.asSlice(off, pieceBytes), c));
    }
  }
}
