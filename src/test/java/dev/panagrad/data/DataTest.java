package dev.panagrad.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.random.Generator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataTest {
  @TempDir Path tmp;

  @Test
  void embeddedDigits() throws Exception {
    TensorDataset d = Digits.load();
    assertEquals(1797, d.size());
    assertArrayEquals(new long[] {1797, 64}, d.tensor(0).shape());
    long[] counts = new long[10];
    for (long y : d.tensor(1).toLongArray()) counts[(int) y]++;
    // The label counts of the UCI test part, as sklearn's load_digits reports them.
    assertArrayEquals(new long[] {178, 182, 177, 183, 181, 182, 181, 179, 174, 180}, counts);
    // First row of the file: 0,0,5,13,9,1,0,0,... label 0
    assertArrayEquals(
        new float[] {0, 0, 5, 13, 9, 1, 0, 0}, Arrays.copyOf(d.tensor(0).toFloatArray(), 8));
    assertEquals(16f, d.tensor(0).max().item());
  }

  @Test
  void badDigitsFile() throws Exception {
    Path f = tmp.resolve("d.csv");
    Files.writeString(f, "1,2,3\n");
    var e = assertThrows(DataFileException.class, () -> Digits.load(f));
    assertTrue(e.getMessage().contains("line 1: 3 values, expected 65"), e.getMessage());
    assertThrows(DataFileException.class, () -> Digits.load(tmp.resolve("missing.csv")));
  }

  static TensorDataset small() {
    Tensor x = Torch.arange(10).to(DType.FLOAT32).reshape(5, 2);
    Tensor y = Torch.tensor(0L, 1L, 2L, 3L, 4L);
    return new TensorDataset(x, y);
  }

  @Test
  void tensorDatasetAndSequentialLoader() {
    TensorDataset d = small();
    assertEquals(5, d.size());
    assertArrayEquals(new float[] {4, 5}, d.get(2)[0].toFloatArray());
    var loader = new DataLoader(d, 2);
    assertEquals(3, loader.size());
    List<long[]> labels = new ArrayList<>();
    for (Tensor[] b : loader) labels.add(b[1].toLongArray());
    assertArrayEquals(new long[] {4}, labels.get(2));
    assertArrayEquals(new float[] {4, 5, 6, 7}, Arrays.copyOf(rows(d, 2, 3), 4));
    var dropLast = new DataLoader(d, 2, false, true, null);
    int n = 0;
    for (Tensor[] b : dropLast) n++;
    assertEquals(2, n);
    assertThrows(IllegalArgumentException.class, () -> new DataLoader(d, 0));
  }

  private static float[] rows(TensorDataset d, long... idx) {
    return d.rows(idx)[0].toFloatArray();
  }

  @Test
  void shuffleFollowsPyTorchsDraws() {
    // With a generator g: the loader draws its base seed (one random64) from g, then randperm(n,
    // g).
    Generator g = new Generator(7), ref = new Generator(7);
    ref.random64();
    long[] want = Torch.randperm(5, ref).toLongArray();
    var loader = new DataLoader(small(), 5, true, false, g);
    long[] got = loader.iterator().next()[1].toLongArray();
    assertArrayEquals(want, got);
    // Without one: base seed and sampler seed from the default generator, randperm of a new
    // generator seeded with the second draw modulo 2^63.
    Torch.manualSeed(3);
    Generator def = Generator.defaultGenerator();
    def.random64();
    long seed = def.random64() & Long.MAX_VALUE;
    long[] want2 = Torch.randperm(5, new Generator(seed)).toLongArray();
    Torch.manualSeed(3);
    long[] got2 = new DataLoader(small(), 5, true).iterator().next()[1].toLongArray();
    assertArrayEquals(want2, got2);
    long[] sorted = got2.clone();
    Arrays.sort(sorted);
    assertArrayEquals(new long[] {0, 1, 2, 3, 4}, sorted);
  }

  @Test
  void idxRoundTripAndErrors() throws Exception {
    byte[] pixels = new byte[2 * 3 * 2];
    for (int i = 0; i < pixels.length; i++) pixels[i] = (byte) (i * 20);
    pixels[0] = (byte) 255;
    Path images = tmp.resolve("train-images-idx3-ubyte.gz");
    Path labels = tmp.resolve("train-labels-idx1-ubyte.gz");
    Idx.write(images, new int[] {2, 3, 2}, pixels);
    Idx.write(labels, new int[] {2}, new byte[] {3, 9});
    Tensor x = Idx.readImages(images);
    assertArrayEquals(new long[] {2, 3, 2}, x.shape());
    assertEquals(255f, x.get(0, 0, 0));
    assertEquals(20f, x.get(0, 0, 1));
    assertArrayEquals(new long[] {3, 9}, Idx.readLabels(labels).toLongArray());
    TensorDataset d = MnistFormat.load(tmp, true);
    assertArrayEquals(new long[] {2, 1, 3, 2}, d.tensor(0).shape());
    assertEquals(1.0, d.tensor(0).get(0, 0, 0, 0), 1e-7);

    var wrong = assertThrows(DataFileException.class, () -> Idx.readImages(labels));
    assertTrue(wrong.getMessage().contains("wrong magic number 0x00000801"), wrong.getMessage());

    Path raw = tmp.resolve("raw-idx3");
    Idx.write(raw, new int[] {2, 3, 2}, pixels);
    byte[] all = Files.readAllBytes(raw);
    Files.write(raw, Arrays.copyOf(all, all.length - 5));
    var trunc = assertThrows(DataFileException.class, () -> Idx.readImages(raw));
    assertTrue(
        trunc.getMessage().contains("truncated: the header promises 12 bytes"), trunc.getMessage());

    byte[] gz = Files.readAllBytes(images);
    Path cut = tmp.resolve("cut.gz");
    Files.write(cut, Arrays.copyOf(gz, gz.length / 2));
    var cutErr = assertThrows(DataFileException.class, () -> Idx.readImages(cut));
    assertTrue(cutErr.getMessage().contains("truncated"), cutErr.getMessage());

    Path text = tmp.resolve("notidx");
    Files.writeString(text, "hello world");
    var notIdx = assertThrows(DataFileException.class, () -> Idx.readImages(text));
    assertTrue(notIdx.getMessage().contains("not an IDX file"), notIdx.getMessage());

    Idx.write(labels, new int[] {2}, new byte[] {3, 12});
    var range = assertThrows(DataFileException.class, () -> MnistFormat.load(tmp, true));
    assertTrue(
        range.getMessage().contains("label 12 at index 1 is out of range 0..9"),
        range.getMessage());
    var missing = assertThrows(DataFileException.class, () -> MnistFormat.load(tmp, false));
    assertTrue(missing.getMessage().contains("t10k-images-idx3-ubyte.gz: no such file"));
  }

  @org.junit.jupiter.api.Test
  void prefetchingGivesTheSameBatchesInTheCallersScope() {
    dev.panagrad.Torch.manualSeed(7);
    var ds = new TensorDataset(dev.panagrad.Torch.randn(53, 3), dev.panagrad.Torch.arange(53));
    dev.panagrad.Torch.manualSeed(3);
    java.util.List<float[]> plain = new java.util.ArrayList<>();
    for (var b : new DataLoader(ds, 8, true)) plain.add(b[0].toFloatArray());
    dev.panagrad.Torch.manualSeed(3);
    int k = 0;
    for (var it = new DataLoader(ds, 8, true).prefetch(true).iterator(); it.hasNext(); k++) {
      try (var step = dev.panagrad.memory.Scope.open()) {
        var b = it.next();
        org.junit.jupiter.api.Assertions.assertArrayEquals(plain.get(k), b[0].toFloatArray());
      }
    }
    org.junit.jupiter.api.Assertions.assertEquals(plain.size(), k);
  }
}
