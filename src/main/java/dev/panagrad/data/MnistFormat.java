package dev.panagrad.data;

import dev.panagrad.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A directory of MNIST-format IDX files ({@code train-images-idx3-ubyte[.gz]}, {@code
 * train-labels-idx1-ubyte[.gz]}, {@code t10k-images-idx3-ubyte[.gz]}, {@code
 * t10k-labels-idx1-ubyte[.gz]}), as MNIST and Fashion-MNIST ship. Images become float32 [N, 1, 28,
 * 28] scaled to 0..1; labels int64, checked to be in 0..9.
 */
public final class MnistFormat {
  private MnistFormat() {}

  /** Where Debian's {@code dataset-fashion-mnist} package installs Fashion-MNIST. */
  public static final Path DEBIAN_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

  public static final int CLASSES = 10;

  /** The class names of Fashion-MNIST, by label. */
  public static final String[] FASHION_CLASSES = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
  };

  /** The training part ({@code train-*}) or the test part ({@code t10k-*}) of {@code dir}. */
  public static TensorDataset load(Path dir, boolean train) throws DataFileException {
    String prefix = train ? "train" : "t10k";
    Path images = find(dir, prefix + "-images-idx3-ubyte");
    Path labels = find(dir, prefix + "-labels-idx1-ubyte");
    Tensor x = Idx.readImages(images);
    Tensor y = Idx.readLabels(labels);
    if (x.size(0) != y.size(0)) {
      throw new DataFileException(
          images
              + " holds "
              + x.size(0)
              + " images but "
              + labels
              + " holds "
              + y.size(0)
              + " labels; the two files must come from the same download");
    }
    checkLabels(y, labels.toString());
    long n = x.size(0);
    Tensor scaled = x.reshape(n, 1, x.size(1), x.size(2)).div(255.0);
    return new TensorDataset(scaled, y);
  }

  static void checkLabels(Tensor y, String where) throws DataFileException {
    long[] v = y.toLongArray();
    for (int i = 0; i < v.length; i++) {
      if (v[i] < 0 || v[i] >= CLASSES) {
        throw new DataFileException(
            where
                + ": label "
                + v[i]
                + " at index "
                + i
                + " is out of range 0.."
                + (CLASSES - 1)
                + "; the file is corrupt or not a 10-class labels file");
      }
    }
  }

  private static Path find(Path dir, String base) throws DataFileException {
    for (String name : new String[] {base + ".gz", base}) {
      Path p = dir.resolve(name);
      if (Files.isRegularFile(p)) return p;
    }
    throw new DataFileException(
        dir.resolve(base + ".gz")
            + ": no such file (nor without .gz); the directory must hold the four MNIST-format"
            + " files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,"
            + " t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)");
  }
}
