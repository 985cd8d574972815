package dev.panagrad.memory;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;

/**
 * The bytes behind one or more tensors: a 64-byte aligned {@link MemorySegment} from the {@link
 * StoragePool}, its size, and the version counter that views of it share.
 *
 * <p>Lifetime: a storage made while a {@link Scope} is open belongs to that scope and is released
 * when it closes; one made outside any scope (or kept out of the outermost one) is released by a
 * {@link Cleaner} once nothing refers to it. A released storage refuses every access: its bytes may
 * already belong to another tensor.
 *
 * <p>Note [Storage generations]. A storage a scope released goes, with its pool piece, to the
 * thread's {@link StorageCache} and may serve a later tensor: making a storage object per op was a
 * third of an eager op's heap allocation. What keeps a stale tensor from seeing the new data is the
 * generation: it goes up at every release, each tensor handle records the generation it was made
 * under, and a handle whose generation is not the storage's current one refuses every access
 * (naming the release that ended its generation, see {@link #releasedBy(int)}). A {@code Storage}
 * reference itself carries no generation, so code outside this package reaches storage through a
 * tensor handle, which checks.
 *
 * <p>Note [Scalar slots]. A tensor of one element made inside a scope gets no storage from the
 * shelf: it takes the next slot of its scope's slot block, a storage of {@link #BLOCK_SLOTS} slots
 * of {@link #SLOT_BYTES} bytes. A storage per tensor (taken from the shelf, listed by the scope,
 * shelved at its close) was 40% of a tiny op's eager time: a no-grad forward of W3's 1,000 ops took
 * 38 us with one each, 25 us with slots. Each slot is a {@code Storage} object of its own, made
 * once per block object and reused with it, so to a tensor a slot is a storage like any other: its
 * own segment (offset 0), size (the element's), version counter and identity. What it shares with
 * its block is the lifetime: the block's generation and release are the slot's (a slot's tensors
 * all refuse access once their block is released), the block's owner is the slot's, and {@code
 * keep} on a slot's tensor moves the whole block (the scope then starts another). A slot cannot
 * take another lifetime alone ({@link #shareLifetimeWith}): a tensor that must (a leaf's gradient)
 * is copied out of its slot first ({@code Tensor.withLifetimeOf}).
 */
public final class Storage {
  private static final Cleaner CLEANER = Cleaner.create();
  private static final VarHandle GENERATION;

  static {
    try {
      GENERATION = MethodHandles.lookup().findVarHandle(Storage.class, "generation", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** Bytes of one slot (Note [Scalar slots]): the widest element, a double or a long. */
  static final int SLOT_BYTES = 8;

  /** Slots in a slot block: 8 KiB, a size class the shelf keeps. */
  static final int BLOCK_SLOTS = 1024;

  /** How many past generations' release reasons a reused storage remembers. */
  private static final int REMEMBERED = 8;

  private final StoragePool pool; // the piece's pool: a captured step's private one, or the shared
  private final StoragePool.Piece piece; // stays with this object when it is reused
  private MemorySegment segment;
  private long byteSize;
  private int version;
  // Written with release and read with acquire semantics (GENERATION): a thread that sees a
  // generation end sees why it ended, without the full fence a volatile write costs per tensor.
  private int generation;
  // Why the current generation ended, null while alive: a String, or the Scope whose close ended
  // it (its releaseMessage() is built only when an error needs it, so closing a scope makes no
  // string per step).
  private Object releasedBy;
  private Object[] pastReleases; // why generation g ended, at g % REMEMBERED, once reused
  private Scope owner;
  // The Cleaner's claim on this object's piece, made the first time no scope owns it and kept for
  // the object's life: reusing the object re-arms it instead of registering again.
  private Release claim;
  // Note [Scalar slots]. For a slot: its block (fixed). For a block: its slot objects, made as
  // first needed and kept with the object when it is reused; slotBlock is set while it serves as
  // one.
  private final Storage blockOfSlot;
  private Storage[] slots;
  private boolean slotBlock;
  private int slotsTaken;

  private Storage(StoragePool pool, StoragePool.Piece piece, long byteSize) {
    this.pool = pool;
    this.piece = piece;
    this.segment = piece.view(byteSize);
    this.byteSize = byteSize;
    this.blockOfSlot = null;
  }

  /** Slot {@code k} of {@code block} (Note [Scalar slots]). */
  private Storage(Storage block, int k) {
    this.pool = block.pool;
    this.piece = block.piece;
    this.segment = block.segment.asSlice((long) k * SLOT_BYTES, SLOT_BYTES);
    this.byteSize = SLOT_BYTES;
    this.blockOfSlot = block;
  }

  /** A block for one-element tensors (Note [Scalar slots]) owned by {@code scope}. */
  static Storage allocateSlotBlock(Scope scope) {
    Storage s = take((long) BLOCK_SLOTS * SLOT_BYTES, scope);
    if (s.slots == null) s.slots = new Storage[BLOCK_SLOTS];
    s.slotBlock = true;
    s.slotsTaken = 0;
    return s;
  }

  /** Whether this block has no free slot left (or is no block, or no longer this scope's). */
  boolean blockFullFor(Scope scope) {
    return !slotBlock || slotsTaken == BLOCK_SLOTS || owner != scope;
  }

  /**
   * The next free slot of this block, as the storage of a one-element tensor of {@code bytes} bytes
   * (at most {@link #SLOT_BYTES}): the size its views must stay inside.
   */
  Storage takeSlot(int bytes) {
    int k = slotsTaken++;
    Storage slot = slots[k];
    // A block always sees the same bytes of its piece, so a slot made once stays valid.
    if (slot == null) slot = slots[k] = new Storage(this, k);
    slot.byteSize = bytes;
    slot.version = 0;
    return slot;
  }

  /** Whether this is a slot of a slot block (Note [Scalar slots]). */
  public boolean isSlot() {
    return blockOfSlot != null;
  }

  /** The storage whose lifetime this one's is: its block for a slot, else itself. */
  Storage lifetime() {
    return blockOfSlot != null ? blockOfSlot : this;
  }

  /**
   * Uninitialised storage of {@code byteSize} bytes, owned by the current thread's innermost scope,
   * or by the garbage collector when no scope is open.
   */
  public static Storage allocate(long byteSize) {
    return take(byteSize, Scope.current());
  }

  /**
   * Uninitialised storage that no scope owns, whatever scope is open: released by the garbage
   * collector, or at once by {@link #releaseIfUnscoped}.
   */
  public static Storage allocateUnscoped(long byteSize) {
    return take(byteSize, null);
  }

  /** Storage owned by {@code scope}, or by the garbage collector when it is null. */
  private static Storage take(long byteSize, Scope scope) {
    if (byteSize < 0) throw new IllegalArgumentException("negative storage size " + byteSize);
    StoragePool pool = StoragePool.forCurrentThread();
    // A captured step's private pool bypasses the cache: its pieces must stay in that pool.
    Storage s = scope != null && pool == StoragePool.get() ? scope.cache().take(byteSize) : null;
    if (s == null) {
      StoragePool.Piece piece = pool.take(byteSize);
      Storage last = piece.lastHolder;
      piece.lastHolder = null;
      if (last != null && last.pool == pool) {
        s = last; // released by hand, generation not at its end (see release)
        s.reuse(byteSize);
      } else {
        s = new Storage(pool, piece, byteSize);
      }
    }
    if (scope != null) {
      scope.cache().counts.allocated(byteSize);
      scope.adopt(s);
    } else {
      MemoryStats.allocated(byteSize);
      s.releaseWhenUnreachable();
    }
    return s;
  }

  /** Makes this released storage serve a new request of {@code bytes} (same size class). */
  void reuse(long bytes) {
    slotBlock = false;
    if (pastReleases == null) pastReleases = new Object[REMEMBERED];
    pastReleases[(generation - 1) % REMEMBERED] = releasedBy; // generations are never negative
    // Same size as last time (a loop's usual case): the segment this storage holds is already that
    // view, so the piece and its cached views, two more objects to reach, are not touched.
    if (bytes != byteSize) {
      segment = piece.view(bytes);
      byteSize = bytes;
    }
    releasedBy = null;
  }

  StoragePool.Piece piece() {
    return piece;
  }

  /** The current generation; a tensor handle records it when made (Note [Storage generations]). */
  public int generation() {
    return (int) GENERATION.getAcquire(lifetime());
  }

  /**
   * What ended generation {@code gen} ("its scope 'step' closed ..."), or null while it is the
   * current, live generation.
   */
  public String releasedBy(int gen) {
    if (blockOfSlot != null) return blockOfSlot.releasedBy(gen);
    int now = generation();
    if (gen == now) return message(releasedBy);
    Object last = releasedBy;
    if (last != null && gen == now - 1) return message(last);
    if (pastReleases != null && now - gen <= REMEMBERED) {
      return message(pastReleases[gen % REMEMBERED]);
    }
    return "a scope closed, and its memory has since served " + (now - gen) + " other tensors";
  }

  /**
   * The bytes for a handle made under generation {@code gen}, or null when that generation ended:
   * one check where {@link #generation()} and then {@link #segment()} would make two (a release
   * always ends the generation), for the handle's every access.
   */
  public MemorySegment segmentIfLive(int gen) {
    return generation() == gen ? segment : null;
  }

  /** The bytes; throws if the storage was released. */
  public MemorySegment segment() {
    Object by = lifetime().releasedBy;
    if (by != null) {
      throw new IllegalStateException(
          "storage of " + byteSize + " bytes used after " + message(by));
    }
    return segment;
  }

  public long byteSize() {
    return byteSize;
  }

  public boolean isReleased() {
    return lifetime().releasedBy != null;
  }

  /** What released this storage ("its scope 'step' closed ..."), or null while it is alive. */
  public String releasedBy() {
    return message(lifetime().releasedBy);
  }

  /** The words for a release reason: the string itself, or what the scope's close says. */
  private static String message(Object reason) {
    return reason instanceof Scope s ? s.releaseMessage() : (String) reason;
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
    if (blockOfSlot != null) {
      throw new IllegalStateException(
          "a one-element tensor's slot lives with its block: copy it out (Tensor.withLifetimeOf)");
    }
    other = other.lifetime();
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
    if (blockOfSlot == null && owner == null) release(by); // a slot goes with its block
  }

  Scope owner() {
    return lifetime().owner;
  }

  void setOwner(Scope scope) {
    this.owner = scope;
  }

  void releaseWhenUnreachable() {
    owner = null;
    if (claim == null) {
      claim = new Release(pool, piece);
      CLEANER.register(this, claim);
    }
    claim.arm(byteSize);
  }

  /** Returns the bytes to the pool now; later accesses throw naming {@code by}. */
  void release(String by) {
    if (!end(by)) return;
    if (claim != null) {
      // The piece goes back now, so the Cleaner must not give it back again. The object, with its
      // registration, can serve the piece's next taker (a leaf's gradient, released by zeroGrad
      // every step, comes back without a new storage or a new registration).
      claim.disarm();
      if (pool == StoragePool.get() && generation() < Integer.MAX_VALUE) piece.lastHolder = this;
    }
    Release.giveBack(pool, piece, byteSize);
  }

  /**
   * Releases this storage into {@code cache}, object and piece together, for a later request of the
   * same size class on this thread (Note [Storage generations]). Returns the bytes released, for
   * the caller to count with the rest of its scope (one update of {@link MemoryStats} per close),
   * or -1 when there was nothing to count here. A storage the Cleaner also watches goes back to the
   * pool instead, through {@link #release}, which disarms the Cleaner's claim before the piece can
   * serve anyone else.
   */
  long releaseInto(StorageCache cache, Scope by) {
    if (claim != null || pool != StoragePool.get() || generation == Integer.MAX_VALUE - 1) {
      // A private pool keeps its pieces; a storage at its last generation retires, so generations
      // never wrap.
      release(by.releaseMessage());
      return -1;
    }
    if (!end(by)) return -1;
    cache.give(this);
    return byteSize;
  }

  /** Ends the current generation; false when it had already ended. */
  private boolean end(Object by) {
    if (releasedBy != null) return false;
    releasedBy = by;
    GENERATION.setRelease(this, generation + 1);
    return true;
  }

  /**
   * The Cleaner's action: gives the piece back when the storage becomes unreachable while armed (no
   * scope owns it and it was not released by hand). Holds no reference to the storage, so the
   * Cleaner can run it. Armed and disarmed by the storage's user; the Cleaner reads the state only
   * once nothing can reach the storage any more, hence no later write can race with it.
   */
  private static final class Release implements Runnable {
    private final StoragePool pool;
    private final StoragePool.Piece piece;
    private volatile long armedBytes = -1; // the bytes to count as released; -1: disarmed

    Release(StoragePool pool, StoragePool.Piece piece) {
      this.pool = pool;
      this.piece = piece;
    }

    void arm(long byteSize) {
      armedBytes = byteSize;
    }

    void disarm() {
      armedBytes = -1;
    }

    @Override
    public void run() {
      long bytes = armedBytes;
      if (bytes >= 0) giveBack(pool, piece, bytes);
    }

    /** Counts the bytes released and returns the piece to its pool. */
    static void giveBack(StoragePool pool, StoragePool.Piece piece, long byteSize) {
      MemoryStats.released(byteSize);
      pool.give(piece);
    }
  }
}
