package dev.panagrad.data;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * The UCI Optical Recognition of Handwritten Digits data (E. Alpaydin, C. Kaynak, 1998; CC BY 4.0),
 * test part, embedded in the library: 1797 images of 8x8 pixels with values 0..16 and their labels
 * 0..9. One CSV row per image: 64 pixel values, then the label.
 */
public final class Digits {
  private Digits() {}

  public static final int SAMPLES = 1797, FEATURES = 64, CLASSES = 10;
  static final String RESOURCE = "digits.csv.gz";

  /** The embedded data: x float32 [1797, 64] with raw pixel values 0..16, y int64 [1797]. */
  public static TensorDataset load() throws DataFileException {
    try (InputStream in = Digits.class.getResourceAsStream(RESOURCE)) {
      if (in == null) throw new DataFileException("the embedded " + RESOURCE + " is missing");
      return parse(new GZIPInputStream(in), "embedded " + RESOURCE);
    } catch (DataFileException e) {
      throw e;
    } catch (IOException e) {
      throw new DataFileException("embedded " + RESOURCE + ": " + e.getMessage(), e);
    }
  }

  /** A digits CSV (gzip-compressed when its name ends in .gz) of the same layout. */
  public static TensorDataset load(Path file) throws DataFileException {
    try (InputStream in = Files.newInputStream(file)) {
      return parse(file.toString().endsWith(".gz") ? new GZIPInputStream(in) : in, file.toString());
    } catch (DataFileException e) {
      throw e;
    } catch (java.nio.file.NoSuchFileException e) {
      throw new DataFileException(file + ": no such file", e);
    } catch (EOFException e) {
      throw new DataFileException(file + ": truncated gzip data; copy the file again", e);
    } catch (IOException e) {
      throw new DataFileException(file + ": cannot be read: " + e.getMessage(), e);
    }
  }

  static TensorDataset parse(InputStream in, String name) throws IOException {
    java.util.List<int[]> rows = new java.util.ArrayList<>();
    try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
      String line;
      int lineNo = 0;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) continue;
        String[] f = line.split(",");
        if (f.length != FEATURES + 1) {
          throw new DataFileException(
              name
                  + " line "
                  + lineNo
                  + ": "
                  + f.length
                  + " values, expected "
                  + (FEATURES + 1)
                  + " (64 pixels and the label)");
        }
        int[] v = new int[f.length];
        for (int i = 0; i < f.length; i++) {
          try {
            v[i] = Integer.parseInt(f[i].trim());
          } catch (NumberFormatException e) {
            throw new DataFileException(
                name + " line " + lineNo + ": '" + f[i] + "' is not an integer");
          }
          int max = i < FEATURES ? 16 : CLASSES - 1;
          if (v[i] < 0 || v[i] > max) {
            throw new DataFileException(
                name
                    + " line "
                    + lineNo
                    + ": "
                    + (i < FEATURES ? "pixel " : "label ")
                    + v[i]
                    + " is out of range 0.."
                    + max);
          }
        }
        rows.add(v);
      }
    }
    if (rows.isEmpty()) throw new DataFileException(name + ": no rows");
    int n = rows.size();
    Tensor x = Tensor.empty(DType.FLOAT32, n, FEATURES);
    Tensor y = Tensor.empty(DType.INT64, n);
    MemorySegment xs = x.segment(), ys = y.segment();
    for (int i = 0; i < n; i++) {
      int[] v = rows.get(i);
      for (int j = 0; j < FEATURES; j++) {
        xs.setAtIndex(ValueLayout.JAVA_FLOAT, (long) i * FEATURES + j, v[j]);
      }
      ys.setAtIndex(ValueLayout.JAVA_LONG, i, v[FEATURES]);
    }
    return new TensorDataset(x, y);
  }
}
