package dev.panagrad.blas;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * OpenBLAS settings that must be in the process environment before the library loads (OpenBLAS
 * reads them once, in its constructor), set through libc's {@code setenv} unless the user set them.
 *
 * <p>{@code OPENBLAS_THREAD_TIMEOUT}: after a product, OpenBLAS's worker threads spin, yielding,
 * for 2^28 cycles (about a tenth of a second) by default before they sleep. Between products a
 * training step runs its own elementwise kernels on the library's intra-op threads; on a machine
 * with as many cores as threads, the spinning workers take cores from them, and on a busy machine
 * each product waits for descheduled workers. Measured on 2 cores, eager steps, three runs each:
 * with another process busy, W2 took 12-77 ms a step with a short timeout (2^4 or 2^16) against
 * 71-122 ms with the default; on the quiet machine W2 took 4.1-4.3 ms with 2^{@value
 * #THREAD_TIMEOUT} cycles, 4.2-4.9 ms with the default and 4.8-5.3 ms with 2^4 (workers then sleep
 * between the products of one backward and must be woken), and W1 took the same within noise
 * (0.57-0.70 ms) with all three.
 */
final class OpenBlasEnvironment {
  /**
   * log2 of the cycles OpenBLAS's idle workers spin before they sleep (about 25 microseconds here):
   * long enough for the next product of a backward pass, short enough to give the cores back.
   */
  static final String THREAD_TIMEOUT = "16";

  private OpenBlasEnvironment() {}

  /** Sets the variables the user has not set; a platform without setenv keeps OpenBLAS's. */
  static void apply() {
    setDefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT);
  }

  private static void setDefault(String name, String value) {
    if (System.getenv(name) != null) return;
    Linker linker = Linker.nativeLinker();
    Optional<MemorySegment> setenv = linker.defaultLookup().find("setenv");
    if (setenv.isEmpty()) return;
    MethodHandle h =
        linker.downcallHandle(
            setenv.get(),
            FunctionDescriptor.of(
                ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS,
                ValueLayout.ADDRESS,
                ValueLayout.JAVA_INT));
    try (Arena arena = Arena.ofConfined()) {
      // overwrite = 0: a value set natively since the JVM started is kept too.
      int unused = (int) h.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 0);
    } catch (Throwable e) {
      throw new IllegalStateException("setenv(" + name + ") failed", e);
    }
  }
}
