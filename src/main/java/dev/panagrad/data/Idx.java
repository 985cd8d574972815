package dev.panagrad.data;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files, the format of MNIST and Fashion-MNIST: a magic number (two zero bytes, the
 * element type, 0x08 for unsigned bytes, and the number of dims), the dims as big-endian 32-bit
 * integers, then the elements. Gzip-compressed files (as distributed) are recognised by their first
 * bytes. Every problem is a {@link DataFileException} naming the file.
 */
public final class Idx {
  private Idx() {}

  /** The header and elements of an IDX file of unsigned bytes. */
  public record Array(int[] dims, byte[] data) {}

  /** Images: [N, rows, cols] as float32 values 0..255. */
  public static Tensor readImages(Path file) throws DataFileException {
    Array a = read(file, 3);
    Tensor t = Tensor.empty(DType.FLOAT32, a.dims()[0], a.dims()[1], a.dims()[2]);
    MemorySegment s = t.segment();
    byte[] d = a.data();
    for (int i = 0; i < d.length; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, d[i] & 0xFF);
    return t;
  }

  /** Labels: [N] as int64. */
  public static Tensor readLabels(Path file) throws DataFileException {
    Array a = read(file, 1);
    Tensor t = Tensor.empty(DType.INT64, a.dims()[0]);
    MemorySegment s = t.segment();
    byte[] d = a.data();
    for (int i = 0; i < d.length; i++) s.setAtIndex(ValueLayout.JAVA_LONG, i, d[i] & 0xFF);
    return t;
  }

  /** Reads an IDX file of unsigned bytes with {@code ndims} dims. */
  public static Array read(Path file, int ndims) throws DataFileException {
    byte[] bytes = readBytes(file);
    String name = file.toString();
    int expected = 0x0800 | ndims;
    if (bytes.length < 4) {
      throw new DataFileException(
          name
              + ": truncated: "
              + bytes.length
              + " bytes, not even an IDX magic number;"
              + " download the file again");
    }
    int magic = bigEndian(bytes, 0);
    if (magic != expected) {
      String what =
          (magic & 0xFFFF0000) != 0
              ? "not an IDX file"
              : (magic & 0xFF00) != 0x0800
                  ? "an IDX file of element type 0x"
                      + Integer.toHexString((magic >> 8) & 0xFF)
                      + ", not of unsigned bytes"
                  : "an IDX file with " + (magic & 0xFF) + " dims, not " + ndims;
      throw new DataFileException(
          String.format(
                  "%s: wrong magic number 0x%08x (%s; expected 0x%08x, %s)",
                  name, magic, what, expected, ndims == 1 ? "a labels file" : "an images file")
              + "; check the file is the right one");
    }
    int header = 4 + 4 * ndims;
    if (bytes.length < header) {
      throw new DataFileException(name + ": truncated in its header; download the file again");
    }
    int[] dims = new int[ndims];
    long count = 1;
    for (int i = 0; i < ndims; i++) {
      dims[i] = bigEndian(bytes, 4 + 4 * i);
      if (dims[i] < 0) {
        throw new DataFileException(name + ": negative size in the header; the file is corrupt");
      }
      count *= dims[i];
    }
    long have = bytes.length - header;
    if (have < count) {
      throw new DataFileException(
          name
              + ": truncated: the header promises "
              + count
              + " bytes of data, the file holds "
              + have
              + "; download the file again");
    }
    if (have > count) {
      throw new DataFileException(
          name
              + ": "
              + (have - count)
              + " bytes after the data the header describes; the file"
              + " is corrupt, download it again");
    }
    byte[] data = new byte[Math.toIntExact(count)];
    System.arraycopy(bytes, header, data, 0, data.length);
    return new Array(dims, data);
  }

  /** The file's bytes, decompressed when it starts with gzip's magic bytes. */
  static byte[] readBytes(Path file) throws DataFileException {
    try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
      raw.mark(2);
      int b0 = raw.read(), b1 = raw.read();
      raw.reset();
      if (b0 == 0x1f && b1 == 0x8b) {
        try (InputStream in = new GZIPInputStream(raw, 1 << 16)) {
          return in.readAllBytes();
        }
      }
      return raw.readAllBytes();
    } catch (NoSuchFileException e) {
      throw new DataFileException(file + ": no such file", e);
    } catch (EOFException e) {
      throw new DataFileException(
          file + ": truncated: the gzip stream ends early; download the file again", e);
    } catch (ZipException e) {
      throw new DataFileException(
          file + ": corrupt gzip data (" + e.getMessage() + "); download the file again", e);
    } catch (IOException e) {
      throw new DataFileException(file + ": cannot be read: " + e.getMessage(), e);
    }
  }

  private static int bigEndian(byte[] b, int at) {
    return ((b[at] & 0xFF) << 24)
        | ((b[at + 1] & 0xFF) << 16)
        | ((b[at + 2] & 0xFF) << 8)
        | (b[at + 3] & 0xFF);
  }

  /** Writes an IDX file of unsigned bytes (gzip-compressed when the name ends in .gz). */
  public static void write(Path file, int[] dims, byte[] data) throws IOException {
    var buf = java.nio.ByteBuffer.allocate(4 + 4 * dims.length + data.length);
    buf.putInt(0x0800 | dims.length);
    for (int d : dims) buf.putInt(d);
    buf.put(data);
    try (var out =
        file.toString().endsWith(".gz")
            ? new java.util.zip.GZIPOutputStream(Files.newOutputStream(file))
            : Files.newOutputStream(file)) {
      out.write(buf.array());
    }
  }
}
