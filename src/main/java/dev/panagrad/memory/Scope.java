package dev.panagrad.memory;

import java.util.Arrays;

/**
 * A region of a thread's work whose tensors are released together when it closes: typically one
 * training step.
 *
 * {@snippet :
 * try (var step = Scope.open()) {
 *   Tensor loss = model.forward(x).sub(y).pow(2).sum();
 *   loss.backward();
 *   kept = step.keep(loss.detach());   // survives the scope
 * } // every other tensor made in the step returns its memory to the pool here
 * }
 *
 * <p>Scopes nest and belong to the thread that opened them; they must close in the reverse order of
 * opening. A tensor used after its scope closed throws {@link IllegalStateException}.
 */
public final class Scope implements AutoCloseable {
  private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

  /**
   * Note [Last thread's state]. Every op on a small tensor asks for its thread's scope, grad mode
   * and tape, and a ThreadLocal lookup is a hash probe and a weak-reference check, a few ns a time:
   * on W3's 1,000 tiny ops, more than the arithmetic. So the innermost scope of the thread that
   * last opened or closed one is also kept in a plain static field (and, by the autograd layer,
   * that thread's tape and grad mode), read first and used when the reading thread owns it. The
   * field is written only by the owner of what it holds, and a thread never sees an older write of
   * its own than its last one (the Java memory model orders a thread's own writes before its
   * reads); another thread's value is recognised by its final owner field and ignored, so a race
   * costs a ThreadLocal lookup, never a wrong answer. Written when scopes open and close, not on
   * misses (two threads that both make tensors do not take turns writing it), and emptied when the
   * outermost scope closes, so it does not keep an ended thread reachable.
   */
  private static Scope lastChanged;

  /**
   * The list array of this thread's last closed scope, for the next scope to reuse: a step's scope
   * owns thousands of storages, and growing a fresh list every step was most of a small op's heap
   * allocation.
   */
  private static final ThreadLocal<Storage[]> SPARE_LIST = new ThreadLocal<>();

  private static final java.util.concurrent.atomic.AtomicLong COUNTER =
      new java.util.concurrent.atomic.AtomicLong();
  private static volatile Listener listener;

  static {
    // The autograd tape must hear of every scope, including one opened before any tensor
    // exists; loading it here installs its listener first. Absent (a memory-only use): fine.
    try {
      Class.forName("dev.panagrad.autograd.Tape");
    } catch (ClassNotFoundException e) {
      // no autograd layer on the class path
    }
  }

  /**
   * Told when a scope opens and closes, on the scope's thread. Autograd's tape uses it to drop the
   * graph entries a scope recorded (see {@code dev.panagrad.autograd.Tape}).
   */
  public interface Listener {
    void opened(Scope scope);

    void closed(Scope scope);
  }

  /** Installs the one listener (the layer above registers itself once). */
  public static void setListener(Listener l) {
    listener = l;
  }

  private final Scope parent;
  private final Thread thread;
  private final String name; // null for an unnamed scope, whose name is "#" + id, made on demand
  private final long id;
  private Storage[] owned;
  private int count;
  private boolean closed;
  // Where this scope's one-element tensors go (Note [Scalar slots] in Storage), and how many did.
  private Storage slotBlock;
  private long slotsTaken;

  /** The thread's cache of released storages; null once closed (so it can die with the thread). */
  private StorageCache cache;

  private Scope(Scope parent, String name, long id) {
    this.parent = parent;
    this.thread = Thread.currentThread();
    this.name = name;
    this.id = id;
    this.cache = parent != null ? parent.cache : StorageCache.current();
    Storage[] spare = SPARE_LIST.get();
    if (spare != null) SPARE_LIST.set(null);
    this.owned = spare != null ? spare : new Storage[16];
  }

  /** Opens a scope on the current thread, nested in the current one if any. */
  public static Scope open() {
    return open(null, COUNTER.incrementAndGet());
  }

  /** Opens a named scope; the name appears in use-after-release errors. */
  public static Scope open(String name) {
    return open(java.util.Objects.requireNonNull(name, "name"), 0);
  }

  private static Scope open(String name, long id) {
    Scope s = new Scope(CURRENT.get(), name, id);
    CURRENT.set(s);
    lastChanged = s;
    Listener l = listener;
    if (l != null) l.opened(s);
    return s;
  }

  /** The innermost open scope of this thread, or null. */
  public static Scope current() {
    Scope s = lastChanged; // Note [Last thread's state]
    if (s != null && s.thread == Thread.currentThread()) return s;
    return CURRENT.get();
  }

  /**
   * Moves {@code t}'s storage to the enclosing scope (or, from the outermost scope, to the garbage
   * collector), so it survives this scope's close. Returns {@code t}.
   */
  public <T extends HasStorage> T keep(T t) {
    // A slot's tensor keeps its whole block (Note [Scalar slots] in Storage).
    Storage s = t.storage().lifetime();
    if (s.owner() == this) {
      if (parent != null) parent.adopt(s);
      else s.releaseWhenUnreachable();
    }
    return t;
  }

  /** Where storages allocated in this open scope come from first. */
  StorageCache cache() {
    return cache;
  }

  /**
   * The storage of a one-element tensor of {@code bytes} bytes made in this scope: the next slot of
   * the scope's slot block (Note [Scalar slots] in Storage). Null when slots are not used: while a
   * step is captured, whose tensors keep storages of their own in its private pool. A block this
   * scope no longer owns (moved by {@link #keep}) or with no free slot is followed by a new one.
   */
  public Storage takeSlot(int bytes) {
    if (StoragePool.forCurrentThread() != StoragePool.get()) return null;
    Storage s = slotBlock;
    if (s == null || s.blockFullFor(this)) s = slotBlock = Storage.allocateSlotBlock(this);
    slotsTaken++;
    return s.takeSlot(bytes);
  }

  /** How many one-element tensors took a slot of this scope (for tests and diagnostics). */
  public long slotsTaken() {
    return slotsTaken;
  }

  void adopt(Storage s) {
    if (closed) throw new IllegalStateException("scope '" + name() + "' is closed");
    if (count == owned.length) owned = Arrays.copyOf(owned, count * 2);
    owned[count++] = s;
    s.setOwner(this);
  }

  @Override
  public void close() {
    if (closed) return;
    if (Thread.currentThread() != thread) {
      throw new IllegalStateException(
          "scope '" + name() + "' was opened on thread " + thread.getName() + "; close it there");
    }
    if (CURRENT.get() != this) {
      throw new IllegalStateException(
          "scope '"
              + name()
              + "' closed while an inner scope is still open; close inner scopes first");
    }
    closed = true;
    slotBlock = null;
    Listener l = listener;
    if (l != null) l.closed(this);
    long bytes = 0, released = 0;
    // Last made, first shelved: the shelf is a stack, so the next step's first request gets the
    // storage (and memory) this step's first request had, and so on down the step: each op of a
    // loop finds the same objects in cache as last time. Shelving in the order they were made
    // reversed that order every step; a W3 step (1,000 tiny ops) took 4-8% longer so.
    for (int i = count - 1; i >= 0; i--) {
      Storage s = owned[i];
      owned[i] = null;
      // A storage kept out of this scope has another owner now: it is not ours to release.
      if (s.owner() == this) {
        long b = s.releaseInto(cache, this); // the storage words the reason only if asked
        if (b >= 0) {
          bytes += b;
          released++;
        }
      }
    }
    cache.counts.released(bytes, released); // once per close, not once a tensor
    count = 0;
    Storage[] spare = SPARE_LIST.get();
    if (spare == null || spare.length < owned.length) SPARE_LIST.set(owned);
    owned = null;
    cache = null;
    CURRENT.set(parent);
    lastChanged = parent; // null too: then this thread's next lookup takes the ThreadLocal
  }

  public String name() {
    return name != null ? name : "#" + id;
  }

  /** Why a storage this scope released is gone, in a use-after-release error. */
  String releaseMessage() {
    return "its scope '" + name() + "' closed (thread " + thread.getName() + ")";
  }
}
