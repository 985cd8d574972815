package dev.panagrad.random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicContainer.dynamicContainer;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

class GeneratorTest {

  /** rng.jsonl: ../shared/conformance from the project root, else -Dpanagrad.conformance.dir. */
  private static Path rngFile() {
    Path beside = Path.of("..", "shared", "conformance", "rng.jsonl");
    if (Files.isRegularFile(beside)) {
      return beside;
    }
    String dir = System.getProperty("panagrad.conformance.dir");
    if (dir != null && Files.isRegularFile(Path.of(dir, "rng.jsonl"))) {
      return Path.of(dir, "rng.jsonl");
    }
    throw new IllegalStateException(
        "rng.jsonl not found at ../shared/conformance; set -Dpanagrad.conformance.dir");
  }

  private static List<JsonNode> lines() throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(rngFile())) {
      if (!line.isBlank()) {
        out.add(json.readTree(line));
      }
    }
    return out;
  }

  /** Each line through the conformance runner's own check. */
  @TestFactory
  Stream<DynamicNode> everyLinePassesRngConformance() throws IOException {
    List<JsonNode> lines = lines();
    List<DynamicNode> tests = new ArrayList<>();
    for (int l = 0; l < lines.size(); l++) {
      JsonNode line = lines.get(l);
      tests.add(
          dynamicTest(
              "line " + (l + 1) + " seed " + line.get("seed").asLong(),
              () -> {
                List<String> failures = RngConformance.check(line);
                assertTrue(failures.isEmpty(), () -> String.join("\n", failures));
              }));
    }
    return tests.stream();
  }

  /** Each call on its own: replay the calls before it, then assert every value it draws. */
  @TestFactory
  Stream<DynamicNode> everyCallMatchesPyTorch() throws IOException {
    List<JsonNode> lines = lines();
    List<DynamicNode> containers = new ArrayList<>();
    for (int l = 0; l < lines.size(); l++) {
      JsonNode line = lines.get(l);
      long seed = line.get("seed").asLong();
      JsonNode calls = line.get("calls");
      List<DynamicNode> tests = new ArrayList<>();
      for (int k = 0; k < calls.size(); k++) {
        int index = k;
        JsonNode call = calls.get(k);
        String name =
            "call "
                + k
                + " "
                + call.get("fn").asText()
                + call.get("shape")
                + " "
                + call.get("dtype").asText();
        tests.add(dynamicTest(name, () -> assertCall(seed, calls, index)));
      }
      containers.add(dynamicContainer("line " + (l + 1) + " seed " + seed, tests));
    }
    return containers.stream();
  }

  private static void assertCall(long seed, JsonNode calls, int index) {
    Generator g = new Generator(seed);
    for (int k = 0; k < index; k++) {
      draw(g, calls.get(k));
    }
    JsonNode call = calls.get(index);
    double[] got = draw(g, call);
    JsonNode data = call.get("data");
    assertEquals(data.size(), got.length, "element count");
    String fn = call.get("fn").asText();
    boolean single = call.get("dtype").asText().equals("float32");
    if (!fn.equals("randn")) {
      double[] expected = new double[got.length];
      for (int i = 0; i < expected.length; i++) {
        expected[i] = data.get(i).asDouble();
      }
      assertArrayEquals(expected, got, 0.0); // rand, randint, randperm: bit for bit
      return;
    }
    long worst = 0;
    int worstAt = -1;
    for (int i = 0; i < got.length; i++) {
      double e = data.get(i).asDouble();
      long ulp =
          single
              ? RngConformance.ulpDistance((float) e, (float) got[i])
              : RngConformance.ulpDistance(e, got[i]);
      if (ulp > worst) {
        worst = ulp;
        worstAt = i;
      }
    }
    int at = worstAt;
    long w = worst;
    assertTrue(
        worst <= RngConformance.RANDN_MAX_ULP,
        () -> "index " + at + " expected " + data.get(at) + " got " + got[at] + " (" + w + " ulp)");
  }

  /** Draws one call of rng.jsonl from g; values as doubles (exact for floats and these ints). */
  private static double[] draw(Generator g, JsonNode call) {
    long n = 1;
    for (JsonNode d : call.get("shape")) {
      n *= d.asLong();
    }
    String dtype = call.get("dtype").asText();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(Math.max(1, 8 * n));
      switch (call.get("fn").asText() + "/" + dtype) {
        case "randn/float32" -> g.normalFloat(out, n, 0, 1);
        case "randn/float64" -> g.normalDouble(out, n, 0, 1);
        case "rand/float32" -> g.uniformFloat(out, n, 0, 1);
        case "rand/float64" -> g.uniformDouble(out, n, 0, 1);
        case "randint/int64" ->
            g.randint(out, n, call.get("low").asLong(), call.get("high").asLong());
        case "randperm/int64" -> g.randperm(out, n);
        default -> throw new AssertionError("unknown call " + call.get("fn") + " " + dtype);
      }
      double[] values = new double[(int) n];
      for (int i = 0; i < n; i++) {
        values[i] =
            switch (dtype) {
              case "float32" -> out.getAtIndex(ValueLayout.JAVA_FLOAT, i);
              case "float64" -> out.getAtIndex(ValueLayout.JAVA_DOUBLE, i);
              default -> out.getAtIndex(ValueLayout.JAVA_LONG, i);
            };
      }
      return values;
    }
  }

  // ------------------------------------------------------------------ the engine

  @Test
  void mt19937MatchesTheStandardOutputsForSeed5489() {
    // The first outputs of mt19937 with the default seed 5489 (Matsumoto and Nishimura's
    // mt19937ar reference output, equal to std::mt19937's).
    long[] first = {
      3499211612L, 581869302L, 3890346734L, 3586334585L, 545404204L,
      4161255391L, 3922919429L, 949333985L, 2715962298L, 1323567403L
    };
    Mt19937 mt = new Mt19937();
    for (long expected : first) {
      assertEquals(expected, mt.nextInt32());
    }
    // C++ [rand.predef]: the 10000th consecutive output of default-constructed mt19937.
    Mt19937 again = new Mt19937(5489);
    long v = 0;
    for (int i = 0; i < 10000; i++) {
      v = again.nextInt32();
    }
    assertEquals(4123659995L, v);
  }

  @Test
  void mt19937SeedsFromTheLow32BitsButRemembersAll64() {
    Mt19937 a = new Mt19937(5);
    Mt19937 b = new Mt19937((1L << 32) | 5);
    for (int i = 0; i < 700; i++) { // past one regeneration of the 624-word state
      assertEquals(a.nextInt32(), b.nextInt32());
    }
    assertEquals((1L << 32) | 5, b.seed());
  }

  // ------------------------------------------------------------------ the generator

  @Test
  void random64IsTwoOutputsHighFirst() {
    Mt19937 mt = new Mt19937(3);
    Generator g = new Generator(3);
    long hi = mt.nextInt32();
    long lo = mt.nextInt32();
    assertEquals((hi << 32) | lo, g.random64());
    assertEquals(mt.nextInt32(), g.random());
  }

  @Test
  void manualSeedResetsTheStreamAndTheCachedNormal() {
    Generator g = new Generator(11);
    double first = g.nextNormalDouble(); // leaves r*sin(theta) cached
    double cached = g.nextNormalDouble();
    g.nextNormalDouble();
    g.manualSeed(11);
    assertEquals(11, g.initialSeed());
    assertEquals(first, g.nextNormalDouble());
    assertEquals(cached, g.nextNormalDouble());
    g.nextNormalDouble(); // cache full again
    g.manualSeed(11);
    assertEquals(first, g.nextNormalDouble(), "manualSeed must drop the cached normal");
  }

  @Test
  void defaultGeneratorIsOneAndReseedable() {
    Generator d = Generator.defaultGenerator();
    assertSame(d, Generator.defaultGenerator());
    assertEquals(67280421310721L, Generator.DEFAULT_SEED);
    assertEquals(Generator.DEFAULT_SEED, new Generator().initialSeed());
    d.manualSeed(100);
    Generator own = new Generator(100);
    assertEquals(own.random64(), d.random64());
  }

  @Test
  void stateRoundTripsWithTheCachedNormal() {
    Generator g = new Generator(5);
    for (int i = 0; i < 1000; i++) {
      g.random();
    }
    g.nextNormalDouble(); // a cached normal is part of the state
    byte[] state = g.getState();
    assertEquals(Generator.STATE_BYTES, state.length);
    Generator h = new Generator(99);
    h.setState(state);
    assertEquals(5, h.initialSeed());
    assertEquals(g.nextNormalDouble(), h.nextNormalDouble());
    assertEquals(g.random64(), h.random64());
    assertThrows(IllegalArgumentException.class, () -> h.setState(new byte[10]));
  }

  @Test
  void randintAboveTwoTo32DrawsRandom64() {
    long low = -5, high = (1L << 40);
    Generator g = new Generator(8);
    Generator ref = new Generator(8);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(8 * 4);
      g.randint(out, 4, low, high);
      for (int i = 0; i < 4; i++) {
        // transformation::uniform_int_from_to: (val % range) + base, range = high - low
        long expected = Long.remainderUnsigned(ref.random64(), high - low) + low;
        assertEquals(expected, out.getAtIndex(ValueLayout.JAVA_LONG, i));
      }
    }
  }

  @Test
  void bernoulliComparesA53BitUniformWithP() {
    Generator g = new Generator(21);
    Generator ref = new Generator(21);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment f = arena.allocate(4 * 50);
      MemorySegment d = arena.allocate(8 * 50);
      g.bernoulliFloat(f, 50, 0.3);
      g.bernoulliDouble(d, 50, 0.7);
      for (int i = 0; i < 50; i++) {
        assertEquals(
            ref.nextUniformDouble() < 0.3 ? 1f : 0f, f.getAtIndex(ValueLayout.JAVA_FLOAT, i));
      }
      for (int i = 0; i < 50; i++) {
        assertEquals(
            ref.nextUniformDouble() < 0.7 ? 1.0 : 0.0, d.getAtIndex(ValueLayout.JAVA_DOUBLE, i));
      }
    }
  }

  @Test
  void normalDoubleOf16OrMoreIsBoxMullerOverBlocksOf16() {
    // normal_fill<double>: 20 uniforms, blocks [0, 16), then 16 fresh uniforms for [4, 20).
    Generator g = new Generator(3);
    Generator ref = new Generator(3);
    double[] u = new double[20];
    for (int i = 0; i < 20; i++) {
      u[i] = ref.nextUniformDouble();
    }
    boxMuller16(u, 0);
    for (int i = 4; i < 20; i++) {
      u[i] = ref.nextUniformDouble();
    }
    boxMuller16(u, 4);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(8 * 20);
      g.normalDouble(out, 20, 0, 1);
      for (int i = 0; i < 20; i++) {
        assertTrue(
            RngConformance.ulpDistance(u[i], out.getAtIndex(ValueLayout.JAVA_DOUBLE, i)) <= 2);
      }
    }
    assertEquals(ref.random64(), g.random64(), "both consumed 36 doubles");
  }

  private static void boxMuller16(double[] d, int at) {
    for (int j = 0; j < 8; j++) {
      double r = Math.sqrt(-2 * Math.log(1 - d[at + j]));
      double theta = 2 * Math.PI * d[at + j + 8];
      d[at + j] = r * Math.cos(theta);
      d[at + j + 8] = r * Math.sin(theta);
    }
  }

  @Test
  void uniformScalesIntoFromTo() {
    Generator g = new Generator(4);
    Generator ref = new Generator(4);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(8 * 5);
      g.uniformDouble(out, 5, -2, 3);
      for (int i = 0; i < 5; i++) {
        // x * (to - from) + from, one fused multiply-add as GCC compiles uniform_real
        assertEquals(
            Math.fma(ref.nextUniformDouble(), 5, -2), out.getAtIndex(ValueLayout.JAVA_DOUBLE, i));
      }
      g.uniformFloat(out, 5, 1, 2);
      for (int i = 0; i < 5; i++) {
        assertEquals(ref.nextUniformFloat() + 1f, out.getAtIndex(ValueLayout.JAVA_FLOAT, i));
      }
    }
  }

  @Test
  void randpermIsAPermutation() {
    Generator g = new Generator(0);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(8 * 1000);
      g.randperm(out, 1000);
      boolean[] seen = new boolean[1000];
      for (int i = 0; i < 1000; i++) {
        seen[(int) out.getAtIndex(ValueLayout.JAVA_LONG, i)] = true;
      }
      for (boolean s : seen) {
        assertTrue(s);
      }
    }
  }

  @Test
  void rejectsTooSmallDestinationsAndBadArguments() {
    Generator g = new Generator(1);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment seg = arena.allocate(15);
      assertThrows(IllegalArgumentException.class, () -> g.uniformFloat(seg, 4, 0, 1));
      assertThrows(IllegalArgumentException.class, () -> g.normalDouble(seg, 2, 0, 1));
      assertThrows(IllegalArgumentException.class, () -> g.randint(seg, 2, 0, 10));
      assertThrows(IllegalArgumentException.class, () -> g.randperm(seg, 2));
      assertThrows(IllegalArgumentException.class, () -> g.bernoulliDouble(seg, 2, 0.5));
      assertThrows(IllegalArgumentException.class, () -> g.randint(seg, 1, 5, 5));
      assertThrows(IllegalArgumentException.class, () -> g.normalFloat(seg, 1, 0, -1));
      assertThrows(IllegalArgumentException.class, () -> g.bernoulliFloat(seg, 1, 1.5));
      assertThrows(IllegalArgumentException.class, () -> g.uniformDouble(seg, 1, 2, 1));
      g.uniformFloat(seg, 3, 0, 1); // 12 bytes fit in 15
    }
    assertNotEquals(new Generator(1).random(), g.random(), "the fills above drew from g");
  }
}
