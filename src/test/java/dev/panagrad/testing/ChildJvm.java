package dev.panagrad.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a test's workload in a JVM of its own, started as this one was (the vector module when this
 * JVM has it, the scripts' JIT flags), and returns what it printed.
 *
 * <p>Why: heap bytes per step depend on what the JIT has compiled. In the suite's JVM, hundreds of
 * test classes before a measurement leave inlining decisions and profiles that no training process
 * has: a Vector API kernel left in C1 code boxes every vector it makes (one test subset measured a
 * replayed step at exactly 655,360 bytes, 8,192 boxed 64-byte vectors, where the step alone
 * allocates 0). A measurement of allocation is only about the program in a fresh JVM.
 */
public final class ChildJvm {
  private ChildJvm() {}

  /**
   * Runs {@code main}'s main method with {@code args} in a new JVM; fails the test when it exits
   * non-zero (a failed assertion in the child) or takes over five minutes.
   */
  public static String run(Class<?> main, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
      cmd.add("--add-modules=jdk.incubator.vector"); // the vector kernels, as this JVM has them
    }
    cmd.add("--enable-native-access=ALL-UNNAMED");
    cmd.add("-Dpanagrad.quiet=true");
    // the JIT flags this JVM has, as the project's scripts give every JVM (scripts/_env)
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("-XX:CompileCommand")) cmd.add(arg);
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
    cmd.add(main.getName());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(300, TimeUnit.SECONDS), "child JVM timed out");
    assertEquals(0, p.exitValue(), out);
    return out;
  }
}
