package dev.panagrad.bench;

import dev.panagrad.blas.BlasLibrary;

/**
 * Prints the native BLAS library the Java side loads and its thread count ({@code PATH THREADS}),
 * or nothing when none is loaded: scripts/bench runs W5's C baseline on that same library.
 */
public final class BlasInfo {
  private BlasInfo() {}

  public static void main(String[] args) {
    if (BlasLibrary.isNative() && BlasLibrary.get().path() != null) {
      System.out.println(BlasLibrary.get().path() + " " + BlasLibrary.getNumThreads());
    }
  }
}
