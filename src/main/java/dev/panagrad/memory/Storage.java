package dev.panagrad.memory;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;

/**
 * The bytes behind one or more tensors: a 64-byte aligned {@link MemorySegment} from the {@link
 * StoragePool}, its size, and the version counter that views of it share.
 *
 * <p>Lifetime: a storage made while a {@link Scope} is open belongs to that scope and is released
 * when it closes; one made outside any scope (or kept out of the outermost one) is released by a
 * {@link Cleaner} once nothing refers to it. A released storage refuses every access: its bytes may
 * already belong to another tensor.
 */
public final class Storage {
  private static final Cleaner CLEANER = Cleaner.create();

  private final StoragePool pool;
  private final StoragePool.Piece piece;
  private final MemorySegment segment;
  private final long byteSize;
  private int version;
  private volatile String releasedBy;
  private Scope owner;
  private Cleaner.Cleanable cleanable;

  private Storage(StoragePool pool, StoragePool.Piece piece, long byteSize) {
    this.pool = pool;
    this.piece = piece;
    this.segment = piece.view(byteSize);
    this.byteSize = byteSize;
  }

  /**
   * Uninitialised storage of {@code byteSize} bytes, owned by the current thread's innermost scope,
   * or by the garbage collector when no scope is open.
   */
  public static Storage allocate(long byteSize) {
    Storage s = take(byteSize);
    Scope scope = Scope.current();
    if (scope != null) scope.adopt(s);
    else s.releaseWhenUnreachable();
    return s;
  }

  /**
   * Uninitialised storage that no scope owns, whatever scope is open: released by the garbage
   * collector, or at once by {@link #releaseIfUnscoped}.
   */
  public static Storage allocateUnscoped(long byteSize) {
    Storage s = take(byteSize);
    s.releaseWhenUnreachable();
    return s;
  }

  /** Storage from this thread's pool (a capture's private one while a step is captured). */
  private static Storage take(long byteSize) {
    if (byteSize < 0) throw new IllegalArgumentException("negative storage size " + byteSize);
    StoragePool pool = StoragePool.forCurrentThread();
    Storage s = new Storage(pool, pool.take(byteSize), byteSize);
    MemoryStats.allocated(byteSize);
    return s;
  }

  /** The bytes; throws if the storage was released. */
  public MemorySegment segment() {
    if (releasedBy != null) {
      throw new IllegalStateException("storage of " + byteSize + " bytes used after " + releasedBy);
    }
    return segment;
  }

  public long byteSize() {
    return byteSize;
  }

  public boolean isReleased() {
    return releasedBy != null;
  }

  /** What released this storage ("its scope 'step' closed ..."), or null while it is alive. */
  public String releasedBy() {
    return releasedBy;
  }

  /** The version counter: bumped by every in-place write, checked by autograd's saved tensors. */
  public int version() {
    return version;
  }

  public void bumpVersion() {
    version++;
  }

  /** Gives this storage the same owner (scope or garbage collector) as {@code other}. */
  public void shareLifetimeWith(Storage other) {
    if (other.owner == owner) return;
    if (other.owner == null) {
      if (owner != null) {
        owner = null;
        releaseWhenUnreachable();
      }
    } else {
      other.owner.adopt(this);
    }
  }

  /**
   * Releases a storage that no scope owns (its memory would otherwise wait for the garbage
   * collector); one a scope owns is left to that scope. Later accesses throw naming {@code by}.
   */
  public void releaseIfUnscoped(String by) {
    if (owner == null) release(by);
  }

  Scope owner() {
    return owner;
  }

  void setOwner(Scope scope) {
    this.owner = scope;
  }

  void releaseWhenUnreachable() {
    owner = null;
    if (cleanable == null) cleanable = CLEANER.register(this, new Release(pool, piece, byteSize));
  }

  /** Returns the bytes to the pool now; later accesses throw naming {@code by}. */
  void release(String by) {
    if (releasedBy != null) return;
    releasedBy = by;
    if (cleanable != null) {
      cleanable.clean();
    } else {
      new Release(pool, piece, byteSize).run();
    }
  }

  /** The release action; holds no reference to the storage, so the Cleaner can run it. */
  private record Release(StoragePool pool, StoragePool.Piece piece, long byteSize)
      implements Runnable {
    @Override
    public void run() {
      MemoryStats.released(byteSize);
      pool.give(piece);
    }
  }
}
