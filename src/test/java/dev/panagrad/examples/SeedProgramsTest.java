package dev.panagrad.examples;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The seed tutorials ported to Java print what PyTorch printed (seeds/programs/*.out). */
class SeedProgramsTest {
  static Path programs() {
    Path p = Path.of("..", "shared", "seeds", "programs");
    assertTrue(Files.isDirectory(p), "seed programs not found at " + p);
    return p;
  }

  static String expected(String prefix) throws Exception {
    try (Stream<Path> s = Files.list(programs())) {
      Path out =
          s.filter(
                  f ->
                      f.getFileName().toString().startsWith(prefix)
                          && f.toString().endsWith(".out"))
              .findFirst()
              .orElseThrow();
      return Files.readString(out);
    }
  }

  static String run(Consumer<String[]> main) {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      main.accept(new String[0]);
    } finally {
      System.setOut(old);
    }
    return buf.toString(StandardCharsets.UTF_8);
  }

  static Stream<Object[]> exactSeeds() {
    return Stream.of(
        new Object[] {"seed000", (Consumer<String[]>) Seed000::main},
        new Object[] {"seed001", (Consumer<String[]>) Seed001::main},
        new Object[] {"seed002", (Consumer<String[]>) Seed002::main},
        new Object[] {"seed003", (Consumer<String[]>) Seed003::main});
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("exactSeeds")
  void printsExactlyWhatPyTorchPrinted(String name, Consumer<String[]> main) throws Exception {
    assertEquals(expected(name), run(main));
  }

  /** 500 float32 steps: within rtol 1e-3 for steps 0-199, then float32 rounding dominates. */
  @Test
  void seed004LossesFollowPyTorch() throws Exception {
    List<String> want = expected("seed004").lines().toList();
    List<String> got = run(Seed004::main).lines().toList();
    assertEquals(500, got.size());
    for (int t = 0; t < 200; t++) {
      double e = Double.parseDouble(want.get(t).split(" ")[1]);
      double g = Double.parseDouble(got.get(t).split(" ")[1]);
      assertEquals(e, g, 1e-3 * Math.abs(e), "step " + t);
    }
    assertTrue(Double.parseDouble(got.get(499).split(" ")[1]) < 1e-3);
  }
}
