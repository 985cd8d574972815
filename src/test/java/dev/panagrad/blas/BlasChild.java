package dev.panagrad.blas;

/**
 * The main class of the child JVMs that {@link GemmBackendsTest} starts, one per forced BLAS
 * source. {@code check}: loads the BLAS, runs the shared checks, and prints {@code source=...},
 * {@code path=...} and {@code OK}. {@code expect-failure}: the forced source must fail to load with
 * an IllegalStateException, whose message it prints.
 */
public final class BlasChild {
  private BlasChild() {}

  public static void main(String[] args) {
    String mode = args.length > 0 ? args[0] : "check";
    if (mode.equals("expect-failure")) {
      try {
        BlasLibrary.get();
      } catch (IllegalStateException e) {
        System.out.println("failed: " + e.getMessage());
        System.exit(0);
      }
      System.out.println("loaded " + BlasLibrary.get().source() + " though it should have failed");
      System.exit(3);
    }
    BlasLibrary lib = BlasLibrary.get();
    System.out.println("source=" + lib.source().name().toLowerCase(java.util.Locale.ROOT));
    System.out.println("path=" + lib.path());
    int n = GemmChecks.checkAllAgainstJavaKernel();
    int t = GemmChecks.checkTensorOps();
    GemmChecks.checkDenormals();
    System.out.println("threads=" + BlasLibrary.getNumThreads());
    System.out.print(dev.panagrad.Torch.config());
    System.out.println("OK " + n + " products and " + t + " tensor ops checked");
  }
}
