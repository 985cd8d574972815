package dev.panagrad.random;

import dev.panagrad.memory.Recorder;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * PyTorch's CPU generator ({@code at::CPUGeneratorImpl}, aten/src/ATen/CPUGeneratorImpl.cpp): an
 * {@link Mt19937} plus the cached second normal of Box-Muller, and the distributions drawn from it
 * the way PyTorch 1.13 and 2.x consume the engine on the CPU for contiguous tensors, so that a
 * stream seeded here reproduces {@code torch.manual_seed(s); torch.randn(...)} value for value.
 *
 * <p>Every fill method writes {@code n} elements, little-endian, at element index {@code i} from
 * byte offset 0 of {@code dst}. Like PyTorch, which locks the generator's mutex for each kernel,
 * every public method is {@code synchronized} on the generator.
 *
 * <p>Note [fused multiply-add]: PyTorch's CPU kernels run from the AVX2 or AVX-512 build of
 * aten/src/ATen/native/cpu, compiled by GCC with {@code -mfma} in GNU mode, whose default {@code
 * -ffp-contract=fast} turns {@code a * b + c} into one fused operation. rng.jsonl confirms it for
 * avx_mathfun's polynomials: float32 {@code randn} is bit-exact only with the fusions (see {@code
 * AvxMathfun}). The same flags fuse uniform_real's {@code x * (to - from) + from},
 * transformation::normal's {@code val * std + mean} and normal_fill_16's {@code ... * std + mean},
 * so those are {@link Math#fma} here too; with the default arguments of {@code rand} and {@code
 * randn} the fusion changes nothing, so the oracle does not test these three.
 *
 * <p>log, sin and cos are {@link Math}'s (within 1 ulp, like glibc's). The double normals of
 * rng.jsonl all match to the bit on x86-64; another JVM or CPU may differ in the last bit.
 *
 * {@snippet :
 * Generator g = new Generator(42);
 * try (Arena arena = Arena.ofConfined()) {
 *   MemorySegment x = arena.allocate(4L * 10);
 *   g.normalFloat(x, 10, 0.0, 1.0); // torch.manual_seed(42); torch.randn(10)
 * }
 * }
 */
public final class Generator {
  /**
   * The seed PyTorch's default CPU generator starts with ({@code torch.initial_seed()} in a fresh
   * process).
   */
  public static final long DEFAULT_SEED = 67280421310721L;

  /** {@code torch.get_rng_state()} is {@code sizeof(CPUGeneratorImplState)}: 5056 bytes. */
  public static final int STATE_BYTES = 5056;

  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
  private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
  private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

  /** 2^-24 and 2^-53: TransformationHelper.h's uniform_real DIVISOR for float and double. */
  private static final float FLOAT_DIVISOR = 0x1.0p-24f;

  private static final double DOUBLE_DIVISOR = 0x1.0p-53;

  /** {@code _mm256_set1_ps(2.0f * c10::pi<double>)}: 2pi computed in double, rounded to float. */
  private static final float TWO_PI_F = (float) (2.0 * Math.PI);

  /**
   * randperm's switch to the random64 inside-out shuffle, {@code UINT32_MAX / 20}
   * (TensorFactories.cpp, randperm_cpu).
   */
  private static final long RANDPERM_SMALL_N = 0xFFFFFFFFL / 20;

  private final Mt19937 engine;
  private boolean hasNextDoubleNormal;
  private double nextDoubleNormal;
  // Kept for the state layout and for parity with CPUGeneratorImpl; no CPU kernel sets it.
  private boolean hasNextFloatNormal;
  private float nextFloatNormal;

  private static final class DefaultHolder {
    static final Generator DEFAULT = new Generator(DEFAULT_SEED);
  }

  /** A generator seeded with {@link #DEFAULT_SEED}. */
  public Generator() {
    this(DEFAULT_SEED);
  }

  /** A generator seeded as {@code torch.Generator().manual_seed(seed)}. */
  public Generator(long seed) {
    engine = new Mt19937(seed);
  }

  /** The process-wide generator, like torch's default CPU generator. */
  public static Generator defaultGenerator() {
    return DefaultHolder.DEFAULT;
  }

  // ------------------------------------------------------------------ seed and state

  /**
   * Reseeds the engine and drops both cached normals ({@code CPUGeneratorImpl::set_current_seed}).
   * The seed is read as an unsigned 64-bit value; only its low 32 bits reach the state.
   */
  public synchronized void manualSeed(long seed) {
    hasNextDoubleNormal = false;
    hasNextFloatNormal = false;
    engine.setSeed(seed);
  }

  /** The last seed given, as {@code torch.initial_seed()} (unsigned 64-bit). */
  public synchronized long initialSeed() {
    return engine.seed();
  }

  /**
   * The state in the byte layout of {@code torch.get_rng_state()} ({@code CPUGeneratorImplState} on
   * x86-64: the legacy THGenerator fields with a uint64 state array, then the float cache).
   */
  public synchronized byte[] getState() {
    ByteBuffer b = ByteBuffer.allocate(STATE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, engine.seed());
    b.putInt(8, engine.left());
    b.putInt(12, 1); // seeded
    b.putLong(16, engine.next());
    int[] s = engine.stateArray();
    for (int i = 0; i < Mt19937.N; i++) {
      b.putLong(24 + 8 * i, Integer.toUnsignedLong(s[i]));
    }
    // normal_x (5016) and normal_rho (5032) are dummies; normal_y holds the double cache.
    b.putDouble(5024, hasNextDoubleNormal ? nextDoubleNormal : 0.0);
    b.putInt(5040, hasNextDoubleNormal ? 1 : 0);
    b.putFloat(5048, hasNextFloatNormal ? nextFloatNormal : 0f);
    b.put(5052, (byte) (hasNextFloatNormal ? 1 : 0));
    return b.array();
  }

  /** Restores a state from {@link #getState()} or from {@code torch.get_rng_state().numpy()}. */
  public synchronized void setState(byte[] state) {
    if (state.length != STATE_BYTES) {
      throw new IllegalArgumentException(
          "Expected a CPUGeneratorImplState of size "
              + STATE_BYTES
              + " but found the input RNG state size to be "
              + state.length);
    }
    ByteBuffer b = ByteBuffer.wrap(state).order(ByteOrder.LITTLE_ENDIAN);
    int[] s = new int[Mt19937.N];
    for (int i = 0; i < Mt19937.N; i++) {
      s[i] = (int) b.getLong(24 + 8 * i); // std::copy from uint64 to uint32 truncates
    }
    if (b.getInt(12) == 0) {
      throw new IllegalArgumentException("Invalid mt19937 state");
    }
    engine.setRaw(b.getLong(0), b.getInt(8), (int) b.getLong(16), s);
    hasNextDoubleNormal = b.getInt(5040) != 0;
    nextDoubleNormal = hasNextDoubleNormal ? b.getDouble(5024) : 0.0;
    hasNextFloatNormal = b.get(5052) != 0;
    nextFloatNormal = hasNextFloatNormal ? b.getFloat(5048) : 0f;
  }

  // ------------------------------------------------------------------ raw draws

  /** {@code CPUGeneratorImpl::random()}: one engine output, unsigned 32-bit. */
  public synchronized long random() {
    return engine.nextInt32();
  }

  /** {@code CPUGeneratorImpl::random64()}: two outputs, the first in the high half. */
  public synchronized long random64() {
    return draw64();
  }

  private long draw64() {
    long hi = engine.nextInt32();
    long lo = engine.nextInt32();
    return (hi << 32) | lo;
  }

  /** {@code uniform_real_distribution<float>(0, 1)}: 24 bits of random() times 2^-24. */
  private float drawUniformFloat() {
    return (engine.nextRaw() & 0xFFFFFF) * FLOAT_DIVISOR;
  }

  /** {@code uniform_real_distribution<double>(0, 1)}: 53 bits of random64() times 2^-53. */
  private double drawUniformDouble() {
    return (draw64() & ((1L << 53) - 1)) * DOUBLE_DIVISOR;
  }

  /**
   * {@code at::normal_distribution<double>} (DistributionsHelper.h) with mean 0 and std 1: the
   * cached second value if there is one, else a Box-Muller pair from two 53-bit uniforms, caching
   * {@code r*sin}. PyTorch 1.13 takes {@code log(1 - u2)}; later versions take {@code log1p(-u2)},
   * which differs in the last bits (on rng.jsonl, log1p is 1 ulp off once in 63 values).
   */
  private double drawStandardNormal() {
    if (hasNextDoubleNormal) {
      hasNextDoubleNormal = false;
      return nextDoubleNormal;
    }
    double u1 = drawUniformDouble();
    double u2 = drawUniformDouble();
    double r = Math.sqrt(-2.0 * Math.log(1.0 - u2));
    double theta = 2.0 * Math.PI * u1;
    nextDoubleNormal = r * Math.sin(theta);
    hasNextDoubleNormal = true;
    return r * Math.cos(theta);
  }

  /** One draw of {@code uniform_real_distribution<double>(0, 1)}. */
  public synchronized double nextUniformDouble() {
    return drawUniformDouble();
  }

  /** One draw of {@code uniform_real_distribution<float>(0, 1)}. */
  public synchronized float nextUniformFloat() {
    return drawUniformFloat();
  }

  /** One draw of {@code normal_distribution<double>(0, 1)}, using and refilling the cache. */
  public synchronized double nextNormalDouble() {
    return drawStandardNormal();
  }

  // ------------------------------------------------------------------ uniform_

  /**
   * {@code torch.rand} / {@code uniform_(from, to)} on float32: per element {@code x = (random() &
   * (2^24-1)) * 2^-24}, then {@code x * (to - from) + from} in float, with from and to first cast
   * to float (cpu/DistributionTemplates.h uniform_kernel, TransformationHelper.h uniform_real). The
   * multiply-add is fused, see Note [fused multiply-add] above.
   */
  public synchronized void uniformFloat(MemorySegment dst, long n, double from, double to) {
    Recorder.refuse("randn/rand/dropout", "random ops are not capturable");
    checkSize(dst, n, Float.BYTES);
    checkUniform(from, to, Float.MAX_VALUE);
    float f = (float) from;
    float range = (float) to - f;
    for (long i = 0; i < n; i++) {
      dst.setAtIndex(F32, i, Math.fma(drawUniformFloat(), range, f));
    }
  }

  /** {@code uniform_(from, to)} on float64: 53-bit doubles from random64(), in double. */
  public synchronized void uniformDouble(MemorySegment dst, long n, double from, double to) {
    Recorder.refuse("randn/rand/dropout", "random ops are not capturable");
    checkSize(dst, n, Double.BYTES);
    checkUniform(from, to, Double.MAX_VALUE);
    double range = to - from;
    for (long i = 0; i < n; i++) {
      dst.setAtIndex(F64, i, Math.fma(drawUniformDouble(), range, from));
    }
  }

  /** The checks of uniform_impl_ (native/DistributionTemplates.h), made in double. */
  private static void checkUniform(double from, double to, double max) {
    if (!(from <= to)) {
      throw new IllegalArgumentException(
          "uniform_ expects to return a [from, to) range, but found from=" + from + " > to=" + to);
    }
    if (!(to - from <= max)) {
      throw new IllegalArgumentException(
          "uniform_ expects to-from <= std::numeric_limits<>::max(), but found to="
              + to
              + " and from="
              + from
              + " which result in to-from to exceed the limit");
    }
  }

  // ------------------------------------------------------------------ normal_

  /**
   * {@code torch.randn} / {@code normal_(mean, std)} on float32 (cpu/DistributionTemplates.h
   * normal_kernel). With 16 or more elements: {@code normal_fill_AVX2}, the path on CPUs with AVX2
   * (AVX-512 dispatch falls back to it for normal_; only CPUs without AVX2 take the scalar {@code
   * normal_fill<float>}, whose libm calls may differ in the last bits): all n uniforms first
   * (24-bit floats), then Box-Muller in place on each block of 16 (element j and j+8 form a pair),
   * and when n is not a multiple of 16 the last 16 slots get 16 fresh uniforms and are transformed
   * again. Below 16 elements: {@code normal_distribution<double>} per element, rounded to float,
   * using the cached normal.
   */
  public synchronized void normalFloat(MemorySegment dst, long n, double mean, double std) {
    Recorder.refuse("randn/rand/dropout", "random ops are not capturable");
    checkSize(dst, n, Float.BYTES);
    checkStd(std);
    if (n < 16) {
      for (long i = 0; i < n; i++) {
        dst.setAtIndex(F32, i, (float) Math.fma(drawStandardNormal(), std, mean));
      }
      return;
    }
    float m = (float) mean;
    float s = (float) std;
    for (long i = 0; i < n; i++) {
      dst.setAtIndex(F32, i, drawUniformFloat());
    }
    float[] sc = new float[2];
    for (long i = 0; i < n - 15; i += 16) {
      normalFill16Float(dst, i, m, s, sc);
    }
    if (n % 16 != 0) {
      long last = n - 16; // recompute the last 16 values from fresh uniforms
      for (long i = 0; i < 16; i++) {
        dst.setAtIndex(F32, last + i, drawUniformFloat());
      }
      normalFill16Float(dst, last, m, s, sc);
    }
  }

  /**
   * {@code normal_fill_16_AVX2}: u1 = 1 - data[j], u2 = data[j + 8], radius = sqrt(-2 log u1),
   * theta = (float) 2pi * u2, with avx_mathfun's log and sincos, and {@code fmadd(n, std, mean)}.
   */
  private static void normalFill16Float(
      MemorySegment d, long at, float mean, float std, float[] sc) {
    for (long j = 0; j < 8; j++) {
      float u1 = 1f - d.getAtIndex(F32, at + j); // [0, 1) -> (0, 1] for log
      float u2 = d.getAtIndex(F32, at + j + 8);
      float radius = (float) Math.sqrt(-2f * AvxMathfun.log(u1));
      AvxMathfun.sincos(TWO_PI_F * u2, sc);
      d.setAtIndex(F32, at + j, Math.fma(radius * sc[1], std, mean));
      d.setAtIndex(F32, at + j + 8, Math.fma(radius * sc[0], std, mean));
    }
  }

  /**
   * {@code normal_(mean, std)} on float64: with 16 or more elements the scalar {@code
   * normal_fill<double>} (53-bit uniforms, Box-Muller in blocks of 16, the tail recomputed as for
   * float); below 16, {@code normal_distribution<double>} per element with the cached normal.
   */
  public synchronized void normalDouble(MemorySegment dst, long n, double mean, double std) {
    Recorder.refuse("randn/rand/dropout", "random ops are not capturable");
    checkSize(dst, n, Double.BYTES);
    checkStd(std);
    if (n < 16) {
      for (long i = 0; i < n; i++) {
        dst.setAtIndex(F64, i, Math.fma(drawStandardNormal(), std, mean));
      }
      return;
    }
    for (long i = 0; i < n; i++) {
      dst.setAtIndex(F64, i, drawUniformDouble());
    }
    for (long i = 0; i < n - 15; i += 16) {
      normalFill16Double(dst, i, mean, std);
    }
    if (n % 16 != 0) {
      long last = n - 16;
      for (long i = 0; i < 16; i++) {
        dst.setAtIndex(F64, last + i, drawUniformDouble());
      }
      normalFill16Double(dst, last, mean, std);
    }
  }

  /** {@code normal_fill_16<double>}: u1 = 1 - data[j], u2 = data[j + 8]. */
  private static void normalFill16Double(MemorySegment d, long at, double mean, double std) {
    for (long j = 0; j < 8; j++) {
      double u1 = 1.0 - d.getAtIndex(F64, at + j);
      double u2 = d.getAtIndex(F64, at + j + 8);
      double radius = Math.sqrt(-2.0 * Math.log(u1));
      double theta = 2.0 * Math.PI * u2;
      d.setAtIndex(F64, at + j, Math.fma(radius * Math.cos(theta), std, mean));
      d.setAtIndex(F64, at + j + 8, Math.fma(radius * Math.sin(theta), std, mean));
    }
  }

  private static void checkStd(double std) {
    if (!(std >= 0.0)) {
      throw new IllegalArgumentException("normal expects std >= 0.0, but found std " + std);
    }
  }

  // ------------------------------------------------------------------ integers

  /**
   * {@code torch.randint(low, high)} / {@code random_(low, high)} as int64
   * (uniform_int_from_to_distribution): {@code random() % range + low} when {@code range = high -
   * low} is below 2^32, else {@code random64() % range + low}, unsigned.
   */
  public synchronized void randint(MemorySegment dst, long n, long low, long high) {
    Recorder.refuse("randn/rand/dropout", "random ops are not capturable");
    checkSize(dst, n, Long.BYTES);
    if (low >= high) {
      throw new IllegalArgumentException(
          "random_ expects 'from' to be less than 'to', but got from=" + low + " >= to=" + high);
    }
    long range = high - low; // uint64 in PyTorch: read unsigned below
    boolean wide = Long.compareUnsigned(range, 1L << 32) >= 0;
    for (long i = 0; i < n; i++) {
      long v = wide ? draw64() : engine.nextInt32();
      dst.setAtIndex(I64, i, Long.remainderUnsigned(v, range) + low);
    }
  }

  /**
   * {@code torch.randperm(n)} as int64 (TensorFactories.cpp randperm_cpu): the identity, then for i
   * in [0, n-1) swap element i with element {@code i + random() % (n - i)}. For n of {@code
   * UINT32_MAX / 20} or more, PyTorch 2.x instead uses an inside-out shuffle with {@code random64()
   * % (i + 1)}, followed here too.
   */
  public synchronized void randperm(MemorySegment dst, long n) {
    Recorder.refuse("randn/rand/dropout", "random ops are not capturable");
    if (n < 0) {
      throw new IllegalArgumentException("n must be non-negative, got " + n);
    }
    checkSize(dst, n, Long.BYTES);
    if (n < RANDPERM_SMALL_N) {
      for (long i = 0; i < n; i++) {
        dst.setAtIndex(I64, i, i);
      }
      for (long i = 0; i < n - 1; i++) {
        long z = engine.nextInt32() % (n - i);
        long save = dst.getAtIndex(I64, i);
        dst.setAtIndex(I64, i, dst.getAtIndex(I64, z + i));
        dst.setAtIndex(I64, z + i, save);
      }
      return;
    }
    for (long i = 0; i < n; i++) {
      long z = Long.remainderUnsigned(draw64(), i + 1);
      dst.setAtIndex(I64, i, i);
      dst.setAtIndex(I64, i, dst.getAtIndex(I64, z));
      dst.setAtIndex(I64, z, i);
    }
  }

  // ------------------------------------------------------------------ bernoulli_

  /**
   * {@code bernoulli_(p)} on float32: 1 where a 53-bit uniform double is below p, else 0. This is
   * PyTorch's default CPU kernel ({@code bernoulli_scalar_kernel_default} ->
   * cpu/DistributionTemplates.h bernoulli_kernel with {@code bernoulli_distribution<double>}), the
   * one PyTorch runs when built without MKL or on a non-Intel CPU. MKL builds on Intel CPUs instead
   * draw one random() as the seed of an MKL VSL MCG31 stream, which is not reproduced here.
   */
  public synchronized void bernoulliFloat(MemorySegment dst, long n, double p) {
    Recorder.refuse("randn/rand/dropout", "random ops are not capturable");
    checkSize(dst, n, Float.BYTES);
    checkP(p);
    for (long i = 0; i < n; i++) {
      dst.setAtIndex(F32, i, drawUniformDouble() < p ? 1f : 0f);
    }
  }

  /** {@code bernoulli_(p)} on float64; see {@link #bernoulliFloat}. */
  public synchronized void bernoulliDouble(MemorySegment dst, long n, double p) {
    Recorder.refuse("randn/rand/dropout", "random ops are not capturable");
    checkSize(dst, n, Double.BYTES);
    checkP(p);
    for (long i = 0; i < n; i++) {
      dst.setAtIndex(F64, i, drawUniformDouble() < p ? 1.0 : 0.0);
    }
  }

  private static void checkP(double p) {
    if (!(p >= 0.0 && p <= 1.0)) {
      throw new IllegalArgumentException("bernoulli_ expects p to be in [0, 1], but got p=" + p);
    }
  }

  private static void checkSize(MemorySegment dst, long n, int elementBytes) {
    if (n < 0) {
      throw new IllegalArgumentException("element count must be non-negative, got " + n);
    }
    if (n > dst.byteSize() / elementBytes) {
      throw new IllegalArgumentException(
          "destination of "
              + dst.byteSize()
              + " bytes is too small for "
              + n
              + " elements of "
              + elementBytes
              + " bytes");
    }
  }
}
