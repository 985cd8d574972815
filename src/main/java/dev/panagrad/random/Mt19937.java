package dev.panagrad.random;

/**
 * The 32-bit Mersenne Twister exactly as PyTorch's {@code at::mt19937}
 * (aten/src/ATen/core/MT19937RNGEngine.h): seeded from the low 32 bits of a 64-bit seed with
 * Knuth's initialiser, the full 64-bit seed kept for {@link #seed()}, and the state regenerated
 * lazily ({@code left}/{@code next}) so a state copied from PyTorch continues identically.
 *
 * <p>Not thread-safe; {@link Generator} guards it.
 */
public final class Mt19937 {
  static final int N = 624;
  private static final int M = 397;
  private static final int MATRIX_A = 0x9908b0df;
  private static final int UMASK = 0x80000000;
  private static final int LMASK = 0x7fffffff;

  private final int[] state = new int[N];
  private long seed;
  private int left;
  private int next;

  /** Seeded with 5489, the default of {@code at::mt19937} and {@code std::mt19937}. */
  public Mt19937() {
    this(5489);
  }

  /** Seeded as {@code at::mt19937(seed)}: only the low 32 bits reach the state. */
  public Mt19937(long seed) {
    setSeed(seed);
  }

  /** A copy with the same state; the two then produce the same stream independently. */
  public Mt19937(Mt19937 other) {
    copyFrom(other);
  }

  /** {@code init_with_uint32}: the state from the low 32 bits; the whole seed is remembered. */
  public void setSeed(long seed) {
    this.seed = seed;
    state[0] = (int) seed;
    for (int j = 1; j < N; j++) {
      // uint32 arithmetic: Java's int multiply wraps the same way.
      state[j] = 1812433253 * (state[j - 1] ^ (state[j - 1] >>> 30)) + j;
    }
    left = 1;
    next = 0;
  }

  /** The 64-bit seed last given, as {@code at::mt19937::seed()} (read it as unsigned). */
  public long seed() {
    return seed;
  }

  /** The next output, an unsigned 32-bit value in {@code [0, 2^32)}. */
  public long nextInt32() {
    return Integer.toUnsignedLong(nextRaw());
  }

  /** The next output as its 32 bits in an int (negative when the top bit is set). */
  int nextRaw() {
    if (--left == 0) {
      nextState();
    }
    int y = state[next++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y;
  }

  private static int twist(int u, int v) {
    int mixed = (u & UMASK) | (v & LMASK);
    return (mixed >>> 1) ^ ((v & 1) != 0 ? MATRIX_A : 0);
  }

  private void nextState() {
    left = N;
    next = 0;
    int p = 0;
    for (; p < N - M; p++) {
      state[p] = state[p + M] ^ twist(state[p], state[p + 1]);
    }
    for (; p < N - 1; p++) {
      state[p] = state[p + M - N] ^ twist(state[p], state[p + 1]);
    }
    state[N - 1] = state[M - 1] ^ twist(state[N - 1], state[0]);
  }

  void copyFrom(Mt19937 other) {
    System.arraycopy(other.state, 0, state, 0, N);
    seed = other.seed;
    left = other.left;
    next = other.next;
  }

  // The raw fields, for Generator's get/set state in PyTorch's byte layout.
  int[] stateArray() {
    return state;
  }

  int left() {
    return left;
  }

  int next() {
    return next;
  }

  void setRaw(long seed, int left, int next, int[] newState) {
    if (left <= 0 || left > N || next < 0 || next > N || newState.length != N) {
      throw new IllegalArgumentException("Invalid mt19937 state");
    }
    this.seed = seed;
    this.left = left;
    this.next = next;
    System.arraycopy(newState, 0, state, 0, N);
  }
}
