package dev.panagrad;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panagrad.conformance.Conformance;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** The rng and repr conformance files, through the same code as scripts/conformance. */
class ConformanceFilesTest {
  static Path dir() {
    Path p = Path.of("..", "shared", "conformance");
    if (Files.isDirectory(p)) return p;
    String prop = System.getProperty("panagrad.conformance.dir");
    if (prop != null) return Path.of(prop);
    throw new AssertionError("conformance files not found at ../shared/conformance");
  }

  static Stream<DynamicTest> casesOf(String file) throws Exception {
    List<Conformance.Result> results = Conformance.runFile(dir().resolve(file));
    return results.stream()
        .map(r -> DynamicTest.dynamicTest(r.id(), () -> assertTrue(r.passed(), r.detail())));
  }

  @TestFactory
  Stream<DynamicTest> rng() throws Exception {
    return casesOf("rng.jsonl");
  }

  @TestFactory
  Stream<DynamicTest> repr() throws Exception {
    return casesOf("repr.jsonl");
  }
}
