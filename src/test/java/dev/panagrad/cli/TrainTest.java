package dev.panagrad.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panagrad.data.Idx;
import dev.panagrad.io.Safetensors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainTest {
  @TempDir Path tmp;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    PrintStream oldOut = System.out, oldErr = System.err;
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int code = Train.run(args);
      return new Run(
          code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  static void assertOneLineError(Run r, String contains) {
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().startsWith("error: "), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().contains(contains), r.err());
  }

  @Test
  void trainsOnDigitsAndWritesCurvesAndWeights() throws Exception {
    System.setProperty("java.awt.headless", "true");
    Path out = tmp.resolve("run"), save = tmp.resolve("m.safetensors");
    Run r =
        run("--epochs", "2", "--out", out.toString(), "--save", save.toString(), "--threads", "2");
    assertEquals(0, r.code(), r.err());
    String[] lines = r.out().strip().split("\n");
    assertTrue(
        lines[lines.length - 1].matches(
            "final: test_accuracy=0\\.\\d{4} train_loss=\\d+\\.\\d{4} samples_per_s=\\d+ seconds=\\d+\\.\\d"),
        lines[lines.length - 1]);
    assertTrue(r.out().contains("epoch 2/2: train_loss="), r.out());
    assertTrue(Files.size(out.resolve("curves.png")) > 1000);
    assertEquals(3, Files.readAllLines(out.resolve("metrics.csv")).size());
    assertEquals(4, Safetensors.load(save).size());
  }

  @Test
  void badInputIsOneLineAndExitCode2() throws Exception {
    assertOneLineError(run("--bogus"), "Unknown option: '--bogus'");
    assertOneLineError(run("--batch-size", "0"), "--batch-size must be positive");
    assertOneLineError(run("--model", "rnn"), "expected one of [mlp, cnn]");
    assertOneLineError(run("--data", tmp.resolve("none").toString()), "no such directory");
    Path dir = Files.createDirectories(tmp.resolve("idx"));
    assertOneLineError(run("--data", dir.toString()), "train-images-idx3-ubyte.gz: no such file");
    Idx.write(dir.resolve("train-images-idx3-ubyte.gz"), new int[] {1, 2, 2}, new byte[4]);
    Idx.write(dir.resolve("train-labels-idx1-ubyte.gz"), new int[] {1}, new byte[] {11});
    Idx.write(dir.resolve("t10k-images-idx3-ubyte.gz"), new int[] {1, 2, 2}, new byte[4]);
    Idx.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), new int[] {1}, new byte[] {1});
    assertOneLineError(run("--data", dir.toString()), "label 11 at index 0 is out of range 0..9");
    Files.copy(
        dir.resolve("t10k-labels-idx1-ubyte.gz"),
        dir.resolve("train-images-idx3-ubyte.gz"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertOneLineError(run("--data", dir.toString()), "wrong magic number 0x00000801");
    Path csv = tmp.resolve("d.csv");
    Files.writeString(csv, "1,2\n");
    assertOneLineError(run("--data", csv.toString()), "line 1: 2 values, expected 65");
  }
}
