package dev.panagrad.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Forces each BLAS source in turn, each in its own JVM (a library, once loaded, stays loaded), and
 * runs the shared checks there against the Java kernel.
 */
class GemmBackendsTest {

  record Result(int exit, String output) {}

  static Result child(String mode, String... props) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("--enable-native-access=ALL-UNNAMED");
    cmd.add("--illegal-native-access=deny");
    cmd.add("-Dpanagrad.quiet=true");
    for (String p : props) cmd.add("-D" + p);
    cmd.add("-cp");
    cmd.add(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
    cmd.add(BlasChild.class.getName());
    cmd.add(mode);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().remove(BlasLibrary.LIBRARY_ENV);
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("child JVM timed out: " + cmd);
    }
    return new Result(p.exitValue(), new String(out));
  }

  static void assertChecked(Result r, String source) {
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("source=" + source + "\n"), r.output());
    assertTrue(r.output().contains("\nOK "), r.output());
  }

  @Test
  void mavenCentralOpenBlas() throws Exception {
    Result r = child("check", "panagrad.blas=maven");
    assertChecked(r, "maven");
    assertTrue(r.output().contains("BLAS: OpenBLAS"), r.output());
  }

  @Test
  void pathToTheExtractedJarLibrary() throws Exception {
    Path lib = BlasLibrary.extractBundledOpenBlas().resolve("libopenblas.so.0");
    Result r = child("check", "panagrad.blas=path", "panagrad.blas.library=" + lib);
    assertChecked(r, "path");
    assertTrue(r.output().contains("path=" + lib + "\n"), r.output());
  }

  @Test
  void systemOpenBlas() throws Exception {
    Result probe = child("expect-failure", "panagrad.blas=system");
    assumeTrue(probe.exit() != 0, "no system OpenBLAS is installed: " + probe.output().strip());
    assertChecked(child("check", "panagrad.blas=system"), "system");
  }

  @Test
  void javaKernel() throws Exception {
    Result r = child("check", "panagrad.blas=java");
    assertChecked(r, "java");
    assertTrue(r.output().contains("BLAS: none"), r.output());
  }

  @Test
  void aForcedSourceThatFailsSaysWhy() throws Exception {
    Result r =
        child(
            "expect-failure",
            "panagrad.blas=path",
            "panagrad.blas.library=/nonexistent/libcblas.so");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("-Dpanagrad.blas=path was asked for"), r.output());
    assertTrue(r.output().contains("/nonexistent/libcblas.so: no such file"), r.output());
    Result bad = child("expect-failure", "panagrad.blas=fortran");
    assertEquals(0, bad.exit(), bad.output());
    assertTrue(bad.output().contains("not one of path, system, maven, java"), bad.output());
  }

  @Test
  void concurrentExtractionsAgree(@TempDir Path root) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Path>> fs = new ArrayList<>();
      Callable<Path> extract = () -> BlasLibrary.extractBundledOpenBlas(root);
      for (int i = 0; i < 4; i++) fs.add(pool.submit(extract));
      Path first = fs.get(0).get();
      for (Future<Path> f : fs) assertEquals(first, f.get());
      for (String lib : BlasLibrary.JAR_LIBRARIES) assertTrue(Files.size(first.resolve(lib)) > 0);
      try (var entries = Files.list(root)) {
        assertEquals(List.of(first), entries.toList(), "temporary folders left behind");
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
