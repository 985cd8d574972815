package dev.panagrad.autograd;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.memory.Scope;
import java.lang.ref.Cleaner;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.UnaryOperator;

/**
 * A thread's record of the ops that need gradients: growable primitive arrays, one row an op, in
 * recording order, which is a topological order (an op's inputs were recorded before it). Backward
 * walks it in reverse. Rows are reused: see Note [Tape lifetime].
 *
 * <p>Note [Tape lifetime]. A row lives while something can still backward through it: a tensor
 * handle whose grad_fn it is, or a live row that consumes its output ({@code refs}). Inside a
 * {@link Scope}, rows die when the scope closes (the tape rewinds to where it was when the scope
 * opened). Outside scopes, a {@link Cleaner} reports a collected handle. A dead row releases its
 * saved tensors at once; dead rows at the tail are popped, so a training loop reuses the same rows
 * every step. A handle to a dead row sees its generation changed and refuses to backward.
 */
public final class Tape {
  private static final ThreadLocal<Tape> CURRENT = ThreadLocal.withInitial(Tape::new);
  private static final Cleaner CLEANER = Cleaner.create();

  static {
    Scope.setListener(
        new Scope.Listener() {
          @Override
          public void opened(Scope scope) {
            current().pushMark();
          }

          @Override
          public void closed(Scope scope) {
            current().popMark();
          }
        });
  }

  static final byte LIVE = 0, FREED = 1, DEAD = 2;

  // Note [Stores G1 pays for]: the tape's arrays are old objects, and under G1 (the JVM's default
  // collector) storing a reference into an old object from another heap region runs a fence and a
  // card check (G1's post-write barrier) unless the value is null. A training loop records the
  // same ops, shapes and leaves into the same rows every step, so the rows keep those references
  // when they die and beginRow and addEdge write only what changed: recording 1,000 tiny ops
  // (W3's forward) took 122 us instead of 137 us. Tensors (saved, gradients) are new each step
  // and are stored, and cleared, as before.

  final Thread owner = Thread.currentThread();
  private final GradMode.Cell gradMode = GradMode.threadCell(); // made on the owner thread
  int size;
  Op[] op = new Op[64];
  int[] gen = new int[64];
  byte[] state = new byte[64];
  int[] refs = new int[64];
  int[] visit = new int[64];
  int[] edgeStart = new int[64], edgeCount = new int[64];
  int[] savedStart = new int[64], savedCount = new int[64];
  int[] scalarStart = new int[64], scalarCount = new int[64];
  Object[] attr = new Object[64];
  long[][] outShape = new long[64][];
  DType[] outDtype = new DType[64];
  Tensor[] gradOf = new Tensor[64];

  /**
   * Whether gradOf[e] is the engine's alone (see Note [Gradient stealing] in Engine); meaningful
   * while gradOf[e] is set.
   */
  boolean[] gradOwned = new boolean[64];

  /**
   * A row's gradient as a number (Note [Scalar lane] in ScalarLane), valid while valueStamp[e] is
   * the running backward's stamp; gradOf[e] is then null.
   */
  double[] gradValue = new double[64];

  /**
   * Whether row e's output and inputs share one shape array of one element and one floating dtype,
   * as a one-element op's are (Note [One-element ops] in Pointwise): decided when the row is
   * recorded, from the tensors at hand, so the backward's scalar lane need not inspect the row
   * (ScalarLane.isScalarRow).
   */
  boolean[] scalarRow = new boolean[64];

  int[] valueStamp = new int[64];

  Object[] hooks = new Object[64];
  Object[] retained = new Object[64]; // weak references: see retain()
  Object[] origin = new Object[64]; // where the op was called, in anomaly mode only

  int edgeSize;
  int[] edgeEntry = new int[128];

  // Leaves are held weakly (one reused WeakReference per leaf): a gradient with history, made by
  // create_graph or by calling nodes by hand, must not keep its own leaf alive through the tape.
  @SuppressWarnings("unchecked")
  java.lang.ref.WeakReference<Tensor>[] edgeLeaf = new java.lang.ref.WeakReference[128];

  long[][] edgeShape = new long[128][];
  DType[] edgeDtype = new DType[128];

  int savedSize;
  Tensor[] saved = new Tensor[128];
  int[] savedVersion = new int[128];
  boolean[] savedIsOutput = new boolean[128];

  int scalarSize;
  double[] scalars = new double[128];

  int stamp;
  private int[] marks = new int[8];
  private int markCount;

  // What a scope's close (popMark) has to undo beyond killing its rows, kept as the rows are
  // recorded, so that the close of a scope of 1,000 tiny ops reads no edge or reference it need
  // not (about 1 us of a W3 step, probe minima):
  /**
   * Per open mark: a row recorded since consumes a row below the mark (a reference to give back).
   */
  private boolean[] crossed = new boolean[8];

  /** The innermost mark, 0 without one. */
  private int floor;

  /** A row was given a hook, a retained gradient or an attribute since the outermost mark. */
  private boolean decorated;

  private final ConcurrentLinkedQueue<Handle> collected = new ConcurrentLinkedQueue<>();

  private Tape() {}

  /** What one backward from one root needs, made once per tape (see Engine.backward). */
  static final class EngineArrays {
    final Tensor[] roots = new Tensor[1], gradients = new Tensor[1], seeds = new Tensor[1];
    final Ctx ctx;
    final LeafSums leafSums = new LeafSums();

    EngineArrays(Tape tape) {
      this.ctx = new Ctx(tape, -1);
    }
  }

  private EngineArrays engineArrays; // null while a backward uses them (or before the first)
  private boolean engineArraysMade;

  /** The tape's engine arrays, or null when a backward on this thread already holds them. */
  EngineArrays takeEngineArrays() {
    if (!engineArraysMade) {
      engineArraysMade = true;
      return new EngineArrays(this);
    }
    EngineArrays a = engineArrays;
    engineArrays = null;
    return a;
  }

  void returnEngineArrays(EngineArrays a) {
    engineArrays = a;
  }

  /**
   * The tape of the thread that last opened a scope, while it has one open (Note [Last thread's
   * state] in Scope): cleared when its outermost scope closes, so a thread that ends is not kept.
   */
  private static Tape lastMarked;

  /**
   * Whether a leaf somewhere was given a hook (ever): Note [Leaf sums at the end] in Engine. A
   * program that never registers one loses nothing to it.
   */
  private static volatile boolean leafHooks;

  /**
   * Whether a row of this tape was given a hook or a retained gradient, or ran a custom Function.
   */
  boolean userCodeRows;

  /** For tests: sets whether a leaf was given a hook, returning what it was. */
  static boolean leafHooksForTests(boolean registered) {
    boolean was = leafHooks;
    leafHooks = registered;
    return was;
  }

  /** Notes that a leaf was given a hook (Tensor.registerHook). */
  public static void leafHookRegistered() {
    leafHooks = true;
  }

  /**
   * Whether a backward on this tape may run user code that can see when .grad is written: Note
   * [Leaf sums at the end] in Engine.
   */
  boolean backwardMayRunUserCode() {
    return userCodeRows || leafHooks;
  }

  /** This thread's tape. */
  public static Tape current() {
    Tape t = lastMarked;
    if (t != null && t.owner == Thread.currentThread()) return t;
    return CURRENT.get();
  }

  /** This thread's grad mode cell (the tape keeps it so that one lookup finds both). */
  static GradMode.Cell gradModeOfThisThread() {
    Tape t = lastMarked;
    if (t != null && t.owner == Thread.currentThread()) return t.gradMode;
    return GradMode.threadCell();
  }

  /** Rows in use (for tests and diagnostics). */
  public int size() {
    drainCollected();
    return size;
  }

  /** The live rows, one line each (op, references, saved count): for diagnosing leaks. */
  public String describe() {
    drainCollected();
    StringBuilder b = new StringBuilder();
    for (int e = 0; e < size; e++) {
      if (state[e] == DEAD) continue;
      b.append(e).append(' ').append(op[e]).append(" refs=").append(refs[e]);
      b.append(state[e] == FREED ? " freed" : "").append('\n');
    }
    return b.toString();
  }

  /**
   * Lets rows whose tensors the garbage collector has reported release their saved tensors now
   * rather than at this thread's next recorded op. Returns the rows still in use.
   */
  public int releaseCollected() {
    return size();
  }

  /** True when an op on these inputs must be recorded: grad mode is on and one needs a grad. */
  public static boolean needsRecord(Tensor a) {
    return a.requiresGrad() && GradMode.isEnabled();
  }

  public static boolean needsRecord(Tensor a, Tensor b) {
    return (a.requiresGrad() || b.requiresGrad()) && GradMode.isEnabled();
  }

  /** {@link #needsRecord(Tensor...)} for three inputs (any may be null), with no array. */
  public static boolean needsRecord(Tensor a, Tensor b, Tensor c) {
    return (needsGrad(a) || needsGrad(b) || needsGrad(c)) && GradMode.isEnabled();
  }

  private static boolean needsGrad(Tensor t) {
    return t != null && t.requiresGrad();
  }

  public static boolean needsRecord(Tensor... inputs) {
    if (!GradMode.isEnabled()) return false;
    for (Tensor t : inputs) if (t != null && t.requiresGrad()) return true;
    return false;
  }

  /**
   * Records {@code op}, which made {@code out} from {@code inputs}, and makes it {@code out}'s
   * grad_fn. Call only when {@link #needsRecord} said so.
   *
   * @param inputs the differentiable inputs in PyTorch's order (null entries take no grad)
   * @param saved tensors the backward rule reads (their versions are checked at backward)
   * @param scalars numbers the backward rule reads
   * @param attr one more object the rule reads (dims, a shape), or null
   */
  public static void record(
      Op op, Tensor out, Tensor[] inputs, Tensor[] saved, double[] scalars, Object attr) {
    current().append(op, out, inputs, saved, scalars, attr);
  }

  /**
   * {@link #record} for one input, {@code saved} (or nothing when null) and no scalar, without the
   * arrays: the common unary op records with no heap allocation.
   */
  public static void record(Op op, Tensor out, Tensor in, Tensor saved) {
    recordOne(op, out, in, saved, 0, 0, 0, 0, null);
  }

  /** {@link #record} for one input, {@code saved} (or nothing when null) and one scalar. */
  public static void record(Op op, Tensor out, Tensor in, Tensor saved, double scalar) {
    recordOne(op, out, in, saved, 1, scalar, 0, 0, null);
  }

  /** {@link #record} for one input, {@code saved} (or nothing when null) and an attribute. */
  public static void record(Op op, Tensor out, Tensor in, Tensor saved, Object attr) {
    recordOne(op, out, in, saved, 0, 0, 0, 0, attr);
  }

  /** {@link #record} for one input and an attribute, nothing saved and no scalar (views). */
  public static void record(Op op, Tensor out, Tensor in, Object attr) {
    recordOne(op, out, in, null, 0, 0, 0, 0, attr);
  }

  /** {@link #record} for one input, {@code saved} (or nothing), two scalars and an attribute. */
  public static void record(
      Op op, Tensor out, Tensor in, Tensor saved, double s0, double s1, Object attr) {
    recordOne(op, out, in, saved, 2, s0, s1, 0, attr);
  }

  /** {@link #record} for one input, {@code saved} (or nothing), one scalar and an attribute. */
  public static void record(Op op, Tensor out, Tensor in, Tensor saved, double s0, Object attr) {
    recordOne(op, out, in, saved, 1, s0, 0, 0, attr);
  }

  /** {@link #record} for one input, {@code saved} (or nothing), three scalars and an attribute. */
  public static void record(
      Op op, Tensor out, Tensor in, Tensor saved, double s0, double s1, double s2, Object attr) {
    recordOne(op, out, in, saved, 3, s0, s1, s2, attr);
  }

  /** A row of one input, at most one saved tensor and {@code scalars} (0 to 3) scalars. */
  private static void recordOne(
      Op op,
      Tensor out,
      Tensor in,
      Tensor saved,
      int scalars,
      double s0,
      double s1,
      double s2,
      Object attr) {
    Tape t = current();
    int e = t.beginRow(op, out, attr, 1, scalarRow(out, in, in));
    t.addEdge(in);
    t.beginSaved(e, saved == null ? 0 : 1);
    if (saved != null) t.addSaved(saved, out);
    t.beginScalars(e, scalars);
    if (scalars > 0) t.addScalar(s0);
    if (scalars > 1) t.addScalar(s1);
    if (scalars > 2) t.addScalar(s2);
    t.endRow(out, e);
  }

  /** {@link #record} for two inputs, nothing saved and one scalar (add and sub: alpha). */
  public static void recordBinary(Op op, Tensor out, Tensor a, Tensor b, double scalar) {
    Tape t = current();
    int e = t.beginRow(op, out, null, 2, scalarRow(out, a, b));
    t.addEdge(a);
    t.addEdge(b);
    t.beginSaved(e, 0);
    t.beginScalars(e, 1);
    t.addScalar(scalar);
    t.endRow(out, e);
  }

  /** {@link #record} for two inputs, two saved tensors (either may be null) and no scalar. */
  public static void recordBinary(
      Op op, Tensor out, Tensor a, Tensor b, Tensor savedA, Tensor savedB) {
    recordBinary(op, out, a, b, savedA, savedB, null);
  }

  /** {@link #recordBinary(Op, Tensor, Tensor, Tensor, Tensor, Tensor)} with an attribute. */
  public static void recordBinary(
      Op op, Tensor out, Tensor a, Tensor b, Tensor savedA, Tensor savedB, Object attr) {
    Tape t = current();
    int e = t.beginRow(op, out, attr, 2, scalarRow(out, a, b));
    t.addEdge(a);
    t.addEdge(b);
    t.beginSaved(e, 2);
    t.addSaved(savedA, out);
    t.addSaved(savedB, out);
    t.beginScalars(e, 0);
    t.endRow(out, e);
  }

  /** {@link #record} for three inputs, two saved tensors (either may be null), no scalar. */
  public static void recordTernary(
      Op op, Tensor out, Tensor a, Tensor b, Tensor c, Tensor savedA, Tensor savedB, Object attr) {
    Tape t = current();
    int e = t.beginRow(op, out, attr, 3, false);
    t.addEdge(a);
    t.addEdge(b);
    t.addEdge(c);
    t.beginSaved(e, 2);
    t.addSaved(savedA, out);
    t.addSaved(savedB, out);
    t.beginScalars(e, 0);
    t.endRow(out, e);
  }

  private static boolean scalarRow(Tensor out, Tensor a, Tensor b) {
    long[] sh = out.shapeArray();
    DType d = out.dtype();
    return a != null
        && b != null
        && a.shapeArray() == sh
        && b.shapeArray() == sh
        && a.dtype() == d
        && b.dtype() == d
        && (d == DType.FLOAT32 || d == DType.FLOAT64)
        && dev.panagrad.Shapes.isOneElement(sh);
  }

  void append(Op o, Tensor out, Tensor[] inputs, Tensor[] sv, double[] sc, Object at) {
    if (o == Op.CUSTOM) userCodeRows = true;
    int e = beginRow(o, out, at, inputs.length, false);
    for (Tensor in : inputs) addEdge(in);
    int ns = sv == null ? 0 : sv.length;
    beginSaved(e, ns);
    for (int i = 0; i < ns; i++) addSaved(sv[i], out);
    int nc = sc == null ? 0 : sc.length;
    beginScalars(e, nc);
    for (int i = 0; i < nc; i++) addScalar(sc[i]);
    endRow(out, e);
  }

  // A row is written in order: beginRow, its edges, beginSaved and the saved tensors,
  // beginScalars and the scalars, endRow.

  /** Starts a row; {@code scalar}: its operands make it a scalar row (see scalarRow). */
  private int beginRow(Op o, Tensor out, Object at, int inputCount, boolean scalar) {
    // Rows whose handles the collector reported are released here outside scopes; inside one,
    // where rows do not get handles, at the next scope's opening (pushMark) instead of every op.
    if (!inScope()) drainCollected();
    int e = size;
    ensureRows(e + 1);
    // Note [Stores G1 pays for]: written only when they differ from what the row held.
    if (op[e] != o) op[e] = o;
    state[e] = LIVE;
    refs[e] = 0;
    if (attr[e] != at) {
      attr[e] = at;
      if (at != null) decorated = true;
    }
    long[] shape = out.shapeArray();
    if (outShape[e] != shape) outShape[e] = shape;
    DType dtype = out.dtype();
    if (outDtype[e] != dtype) outDtype[e] = dtype;
    // A free row (at size or beyond) has no gradient, hook or retained gradient: kill, popMark and
    // the engine's cleanup leave none (TapeRowsTest), so they are not stored again here.
    if (BackwardRules.detectAnomaly) {
      origin[e] = callSite();
    } else if (origin[e] != null) {
      origin[e] = null;
    }
    scalarRow[e] = scalar;
    edgeStart[e] = edgeSize;
    edgeCount[e] = inputCount;
    ensureEdges(edgeSize + inputCount);
    return e;
  }

  private void addEdge(Tensor in) {
    int k = edgeSize++;
    // Note [Stores G1 pays for]: each slot is written once, and only with a new value.
    long[] shape = in == null ? null : in.shapeArray();
    if (edgeShape[k] != shape) edgeShape[k] = shape;
    DType dtype = in == null ? null : in.dtype();
    if (edgeDtype[k] != dtype) edgeDtype[k] = dtype;
    java.lang.ref.WeakReference<Tensor> leaf = null;
    int p = -1;
    if (in != null && in.requiresGrad()) {
      if (in.isLeaf()) {
        leaf = in.weakSelf();
      } else {
        p = producerOf(in);
        refs[p]++;
        if (p < floor) crossed[markCount - 1] = true;
      }
    }
    if (edgeLeaf[k] != leaf) edgeLeaf[k] = leaf;
    edgeEntry[k] = p;
  }

  private void beginSaved(int e, int count) {
    savedStart[e] = savedSize;
    savedCount[e] = count;
    ensureSaved(savedSize + count);
  }

  private void addSaved(Tensor t, Tensor out) {
    // Outside scopes, an op that saves its own output keeps a history-free alias of it: the
    // row must not keep alive the handle whose collection is what lets the row die. Inside a
    // scope the row dies with the scope, so the output itself is kept (no allocation).
    saved[savedSize] = t == out && !inScope() ? out.detach() : t;
    savedIsOutput[savedSize] = t == out;
    savedVersion[savedSize] = t == null ? 0 : t.storage().version();
    savedSize++;
  }

  private void beginScalars(int e, int count) {
    scalarStart[e] = scalarSize;
    scalarCount[e] = count;
    if (scalarSize + count > scalars.length) {
      scalars = Arrays.copyOf(scalars, Math.max(scalars.length * 2, scalarSize + count));
    }
  }

  private void addScalar(double v) {
    scalars[scalarSize++] = v;
  }

  private void endRow(Tensor out, int e) {
    size = e + 1;
    attachHandle(out, e);
  }

  private static final StackWalker WALKER =
      StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

  /** The first frame outside the library's own code (its examples count as user code). */
  private static String callSite() {
    java.security.CodeSource lib = Tape.class.getProtectionDomain().getCodeSource();
    return WALKER.walk(
        frames ->
            frames
                .filter(
                    f ->
                        !java.util.Objects.equals(
                                f.getDeclaringClass().getProtectionDomain().getCodeSource(), lib)
                            || f.getClassName().startsWith("dev.panagrad.examples."))
                .findFirst()
                .map(f -> f.toStackTraceElement().toString())
                .orElse("unknown"));
  }

  /** The row that made non-leaf {@code t}, checking it is still alive and on this tape. */
  int producerOf(Tensor t) {
    if (t.historyTape() != this) {
      throw new IllegalStateException(
          "a tensor's autograd history belongs to thread "
              + t.historyTape().owner.getName()
              + ", not "
              + Thread.currentThread().getName()
              + ". Use t.detach() to pass a tensor between threads.");
    }
    int e = t.historyEntry();
    if (e >= size || gen[e] != t.historyGen() || state[e] == DEAD) {
      throw new IllegalStateException(
          "the autograd graph of this tensor was released (its scope closed). Call backward()"
              + " inside the scope that built the graph, or detach() the tensor to keep only its"
              + " value.");
    }
    return e;
  }

  /** Makes row {@code e} the grad_fn of {@code out} (which may have had another: in-place). */
  void attachHandle(Tensor out, int e) {
    if (!out.isLeaf() && out.historyTape() == this) {
      int old = out.historyEntry();
      if (old < size && gen[old] == out.historyGen() && state[old] != DEAD) release(old);
    }
    refs[e]++;
    out.setHistory(this, e, gen[e]);
    if (!inScope()) {
      // Outside scopes nothing else tells us when the handle goes away.
      Handle h = out.historyHandle();
      if (h == null) {
        h = new Handle(this);
        out.setHistoryHandle(h);
        CLEANER.register(out, h);
      }
      h.entry = e;
      h.gen = gen[e];
    } else if (out.historyHandle() != null) {
      out.historyHandle().entry = -1; // the scope owns the row now
    }
  }

  private int[] stack = new int[16];

  /** Drops one reference to row {@code e}; a row with none left dies. */
  void release(int e) {
    if (--refs[e] > 0) return;
    // Iterative cascade: a dead row releases the rows it consumed.
    stack[0] = e;
    int top = 1;
    while (top > 0) {
      int r = stack[--top];
      kill(r);
      for (int k = edgeStart[r], end = k + edgeCount[r]; k < end; k++) {
        int p = edgeEntry[k];
        if (p >= 0 && state[p] != DEAD && --refs[p] <= 0) {
          if (top == stack.length) stack = Arrays.copyOf(stack, top * 2);
          stack[top++] = p;
        }
      }
    }
    popDeadTail();
  }

  private void kill(int e) {
    if (state[e] != FREED) freeSaved(e); // a backward that kept no graph freed them already
    state[e] = DEAD;
    gen[e]++;
    // The row's edges (leaf references are weak) and shapes stay until the slot is reused: a
    // dead row is never read, and rewriting the same values costs G1 nothing.
    gradOf[e] = null;
    hooks[e] = null;
    retained[e] = null;
    attr[e] = null;
  }

  void freeSaved(int e) {
    for (int i = savedStart[e], end = i + savedCount[e]; i < end; i++) saved[i] = null;
  }

  private void popDeadTail() {
    int floor = markCount > 0 ? marks[markCount - 1] : 0;
    while (size > floor && state[size - 1] == DEAD) {
      int e = --size;
      edgeSize = edgeStart[e];
      savedSize = savedStart[e];
      scalarSize = scalarStart[e];
    }
  }

  /**
   * Whether a {@link Scope} is open on this thread: every scope opening pushes a mark (the listener
   * above), so this answers without {@link Scope#current()}'s thread-local lookup.
   */
  private boolean inScope() {
    return markCount > 0;
  }

  private void pushMark() {
    lastMarked = this;
    drainCollected();
    if (markCount == marks.length) {
      marks = Arrays.copyOf(marks, markCount * 2);
      crossed = Arrays.copyOf(crossed, markCount * 2);
    }
    crossed[markCount] = false;
    marks[markCount++] = floor = size;
  }

  /** A scope closed: every row it recorded dies, releasing what it consumed below the mark. */
  private void popMark() {
    int mark = marks[--markCount];
    boolean crossing = crossed[markCount], clearing = decorated;
    floor = markCount > 0 ? marks[markCount - 1] : 0;
    if (markCount == 0) {
      decorated = false;
      if (lastMarked == this) lastMarked = null;
    }
    int end = size, savedEnd = savedSize;
    if (mark >= end) return;
    // Each live row dies (its handles see the generation change) and gives back what it consumed
    // below the mark (when a row did: crossed); then the tape rewinds to the mark. What kill
    // clears is cleared only where set (and hooks, retained gradients and attributes only when a
    // row had one: decorated): a store into a reference array runs G1's barrier code, a read does
    // not, and most rows have no gradient, hook, retained gradient or attribute left by now.
    for (int e = end - 1; e >= mark; e--) {
      if (state[e] != DEAD) {
        state[e] = DEAD;
        gen[e]++;
        if (crossing) {
          for (int k = edgeStart[e], stop = k + edgeCount[e]; k < stop; k++) {
            int p = edgeEntry[k];
            if (p >= 0 && p < mark && state[p] != DEAD) release(p);
          }
        }
      }
      if (gradOf[e] != null) gradOf[e] = null;
      if (clearing) {
        if (hooks[e] != null) hooks[e] = null;
        if (retained[e] != null) retained[e] = null;
        if (attr[e] != null) attr[e] = null;
      }
    }
    for (int k = savedStart[mark]; k < savedEnd; k++) if (saved[k] != null) saved[k] = null;
    size = mark;
    edgeSize = edgeStart[mark];
    savedSize = savedStart[mark];
    scalarSize = scalarStart[mark];
    popDeadTail();
  }

  private void drainCollected() {
    Handle h;
    while ((h = collected.poll()) != null) {
      int e = h.entry;
      if (e >= 0 && e < size && gen[e] == h.gen && state[e] != DEAD) release(e);
    }
  }

  // -------------------------------------------------------------- growth

  private void ensureRows(int n) {
    if (n <= op.length) return;
    int c = Math.max(n, op.length * 2);
    op = Arrays.copyOf(op, c);
    gen = Arrays.copyOf(gen, c);
    state = Arrays.copyOf(state, c);
    refs = Arrays.copyOf(refs, c);
    visit = Arrays.copyOf(visit, c);
    edgeStart = Arrays.copyOf(edgeStart, c);
    edgeCount = Arrays.copyOf(edgeCount, c);
    savedStart = Arrays.copyOf(savedStart, c);
    savedCount = Arrays.copyOf(savedCount, c);
    scalarStart = Arrays.copyOf(scalarStart, c);
    scalarCount = Arrays.copyOf(scalarCount, c);
    attr = Arrays.copyOf(attr, c);
    outShape = Arrays.copyOf(outShape, c);
    outDtype = Arrays.copyOf(outDtype, c);
    gradOf = Arrays.copyOf(gradOf, c);
    gradOwned = Arrays.copyOf(gradOwned, c);
    gradValue = Arrays.copyOf(gradValue, c);
    scalarRow = Arrays.copyOf(scalarRow, c);
    valueStamp = Arrays.copyOf(valueStamp, c);
    hooks = Arrays.copyOf(hooks, c);
    retained = Arrays.copyOf(retained, c);
    origin = Arrays.copyOf(origin, c);
  }

  private void ensureEdges(int n) {
    if (n <= edgeEntry.length) return;
    int c = Math.max(n, edgeEntry.length * 2);
    edgeEntry = Arrays.copyOf(edgeEntry, c);
    edgeLeaf = Arrays.copyOf(edgeLeaf, c);
    edgeShape = Arrays.copyOf(edgeShape, c);
    edgeDtype = Arrays.copyOf(edgeDtype, c);
  }

  private void ensureSaved(int n) {
    if (n <= saved.length) return;
    int c = Math.max(n, saved.length * 2);
    saved = Arrays.copyOf(saved, c);
    savedVersion = Arrays.copyOf(savedVersion, c);
    savedIsOutput = Arrays.copyOf(savedIsOutput, c);
  }

  // -------------------------------------------------------------- hooks and retained grads

  /** The leaf of edge {@code k}, or null (no leaf there, or it was collected). */
  Tensor leafAt(int k) {
    java.lang.ref.WeakReference<Tensor> r = edgeLeaf[k];
    return r == null ? null : r.get();
  }

  /** Registers a hook on the row that made non-leaf {@code t}. */
  public void hookRow(Tensor t, UnaryOperator<Tensor> hook) {
    addHook(producerOf(t), hook);
  }

  /** Makes backward store the gradient of non-leaf {@code t} in its {@code .grad}. */
  public void retainRow(Tensor t) {
    retain(producerOf(t), t);
  }

  void addHook(int e, UnaryOperator<Tensor> hook) {
    @SuppressWarnings("unchecked")
    java.util.List<UnaryOperator<Tensor>> list = (java.util.List<UnaryOperator<Tensor>>) hooks[e];
    if (list == null) hooks[e] = list = new java.util.ArrayList<>();
    decorated = userCodeRows = true;
    list.add(hook);
  }

  void retain(int e, Tensor t) {
    // Weak, like PyTorch's retain_grad hook: the row must not keep its own handle alive.
    retained[e] = new java.lang.ref.WeakReference<>(t);
    decorated = userCodeRows = true;
  }

  @SuppressWarnings("unchecked")
  Tensor retainedTensor(int e) {
    Object r = retained[e];
    return r == null ? null : ((java.lang.ref.WeakReference<Tensor>) r).get();
  }

  /**
   * The link between a tensor handle and its row for the Cleaner: it holds no reference to the
   * tensor, and hands the row back to the owning thread's queue when the tensor is collected.
   */
  public static final class Handle implements Runnable {
    private final Tape tape;
    volatile int entry = -1;
    volatile int gen;

    Handle(Tape tape) {
      this.tape = tape;
    }

    @Override
    public void run() {
      if (entry >= 0) tape.collected.add(this);
    }
  }
}
