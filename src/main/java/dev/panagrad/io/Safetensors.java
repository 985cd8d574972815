package dev.panagrad.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.panagrad.DType;
import dev.panagrad.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors format, for state dicts: an 8-byte little-endian header length, a JSON header
 * giving each tensor's {@code dtype} ({@code F32}, {@code F64}, {@code I64}, {@code BOOL}), {@code
 * shape} and {@code data_offsets} (begin and end in the data area), padded with spaces to a
 * multiple of 8 bytes, then the raw little-endian data.
 *
 * {@snippet :
 * Safetensors.save(model.stateDict(), Path.of("model.safetensors"));
 * model.loadStateDict(Safetensors.load(Path.of("model.safetensors")));
 * }
 */
public final class Safetensors {
  private Safetensors() {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

  static String code(DType t) {
    return switch (t) {
      case FLOAT32 -> "F32";
      case FLOAT64 -> "F64";
      case INT64 -> "I64";
      case BOOL -> "BOOL";
    };
  }

  static DType dtype(String code, String file, String name) throws IOException {
    return switch (code) {
      case "F32" -> DType.FLOAT32;
      case "F64" -> DType.FLOAT64;
      case "I64" -> DType.INT64;
      case "BOOL" -> DType.BOOL;
      default ->
          throw new IOException(
              file
                  + ": tensor '"
                  + name
                  + "' has dtype "
                  + code
                  + ", which is not supported"
                  + " (F32, F64, I64, BOOL are)");
    };
  }

  /** Writes {@code tensors} in the given order, with {@code "__metadata__": {"format": "pt"}}. */
  public static void save(Map<String, Tensor> tensors, Path file) throws IOException {
    Files.write(file, toBytes(tensors));
  }

  /** The bytes of a safetensors file holding {@code tensors}. */
  public static byte[] toBytes(Map<String, Tensor> tensors) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    long offset = 0;
    Map<String, Tensor> contiguous = new LinkedHashMap<>();
    for (var e : tensors.entrySet()) {
      if (e.getKey().equals("__metadata__")) {
        throw new IllegalArgumentException("'__metadata__' cannot be a tensor name");
      }
      Tensor t = e.getValue().detach().contiguous();
      contiguous.put(e.getKey(), t);
      long bytes = t.numel() * t.dtype().byteSize();
      ObjectNode entry = header.putObject(e.getKey());
      entry.put("dtype", code(t.dtype()));
      var shape = entry.putArray("shape");
      for (long s : t.shape()) shape.add(s);
      entry.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    header.putObject("__metadata__").put("format", "pt");
    byte[] json = JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    byte[] out = new byte[Math.toIntExact(8 + padded + offset)];
    MemorySegment seg = MemorySegment.ofArray(out);
    seg.set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, padded);
    System.arraycopy(json, 0, out, 8, json.length);
    java.util.Arrays.fill(out, 8 + json.length, 8 + padded, (byte) ' ');
    long at = 8 + padded;
    for (Tensor t : contiguous.values()) {
      long bytes = t.numel() * t.dtype().byteSize();
      copy(t.segment(), t.storageOffset() * t.dtype().byteSize(), seg, at, bytes, t.dtype());
      at += bytes;
    }
    return out;
  }

  /** Reads every tensor of {@code file}, in the header's order. */
  public static Map<String, Tensor> load(Path file) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IOException(file + ": no such file", e);
    }
    return fromBytes(bytes, file.toString());
  }

  /** Parses the bytes of a safetensors file; {@code name} appears in error messages. */
  public static Map<String, Tensor> fromBytes(byte[] bytes, String name) throws IOException {
    if (bytes.length < 8) throw new IOException(name + ": truncated: no header length");
    MemorySegment seg = MemorySegment.ofArray(bytes);
    long headerLen = seg.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
    if (headerLen < 2 || headerLen > bytes.length - 8) {
      throw new IOException(
          name
              + ": header length "
              + headerLen
              + " does not fit in a file of "
              + bytes.length
              + " bytes (not a safetensors file, or truncated)");
    }
    JsonNode header;
    try {
      header =
          JSON.readTree(
              new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8).stripTrailing());
    } catch (IOException e) {
      throw new IOException(name + ": the header is not valid JSON: " + e.getMessage(), e);
    }
    if (header == null || !header.isObject())
      throw new IOException(name + ": the header is not a JSON object");
    long dataStart = 8 + headerLen, dataLen = bytes.length - dataStart;
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      var e = it.next();
      if (e.getKey().equals("__metadata__")) continue;
      JsonNode info = e.getValue();
      DType dt = dtype(info.path("dtype").asText(), name, e.getKey());
      JsonNode sh = info.get("shape"), off = info.get("data_offsets");
      if (sh == null || off == null || off.size() != 2) {
        throw new IOException(name + ": tensor '" + e.getKey() + "' lacks shape or data_offsets");
      }
      long[] shape = new long[sh.size()];
      long numel = 1;
      for (int i = 0; i < shape.length; i++) numel *= (shape[i] = sh.get(i).asLong());
      long begin = off.get(0).asLong(), end = off.get(1).asLong();
      if (begin < 0 || end < begin || end > dataLen) {
        throw new IOException(
            name
                + ": tensor '"
                + e.getKey()
                + "' has data_offsets ["
                + begin
                + ", "
                + end
                + "] outside the "
                + dataLen
                + " data bytes (truncated file?)");
      }
      if (end - begin != numel * dt.byteSize()) {
        throw new IOException(
            name
                + ": tensor '"
                + e.getKey()
                + "' has "
                + (end - begin)
                + " bytes for shape "
                + java.util.Arrays.toString(shape)
                + " of "
                + dt.pyName());
      }
      Tensor t = Tensor.empty(dt, shape);
      copy(seg, dataStart + begin, t.segment(), 0, end - begin, dt);
      out.put(e.getKey(), t);
    }
    return out;
  }

  /** Copies {@code bytes} of {@code dt} elements, little-endian on the file's side. */
  private static void copy(
      MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long bytes, DType dt) {
    if (NATIVE_LE || dt.byteSize() == 1) {
      MemorySegment.copy(src, srcOff, dst, dstOff, bytes);
      return;
    }
    int w = dt.byteSize();
    for (long i = 0; i < bytes; i += w) {
      for (int k = 0; k < w; k++) {
        dst.set(
            ValueLayout.JAVA_BYTE,
            dstOff + i + k,
            src.get(ValueLayout.JAVA_BYTE, srcOff + i + w - 1 - k));
      }
    }
  }
}
