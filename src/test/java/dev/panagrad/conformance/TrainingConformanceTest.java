package dev.panagrad.conformance;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** The training runs and the nn.Linear init case, through the conformance runner's code. */
class TrainingConformanceTest {
  static final Path DIR = Path.of("..", "shared", "conformance");

  static Stream<DynamicTest> casesOf(String file) throws Exception {
    List<Conformance.Result> results = Conformance.runFile(DIR.resolve(file));
    return results.stream()
        .map(r -> DynamicTest.dynamicTest(r.id(), () -> assertTrue(r.passed(), r.detail())));
  }

  @TestFactory
  Stream<DynamicTest> training() throws Exception {
    return casesOf("training.jsonl");
  }

  @TestFactory
  Stream<DynamicTest> linearInit() throws Exception {
    return casesOf("linear_init_seed1.json");
  }
}
