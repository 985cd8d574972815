package dev.panagrad;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.memory.MemoryStats;
import dev.panagrad.memory.Scope;
import org.junit.jupiter.api.Test;

/** The tensor and memory layer, and the RELIABILITY.md items that touch it. */
class TensorLayerTest {
  static <T extends Throwable> void assertMessage(Class<T> type, String part, Runnable r) {
    T e = assertThrows(type, r::run);
    assertTrue(e.getMessage().contains(part), () -> "message was: " + e.getMessage());
  }

  /**
   * In-place add_, sub_ and mul_ write straight into a contiguous tensor when nothing is recorded:
   * the same values as the out-of-place op copied back, also when the operand is the tensor itself.
   */
  @Test
  void inPlaceArithmeticWritesTheOutOfPlaceResult() {
    manualSeed(3);
    Tensor a = randn(1000), b = randn(1000);
    assertArrayEquals(a.sub(b).toFloatArray(), a.clone().sub_(b).toFloatArray());
    assertArrayEquals(a.mul(b).toFloatArray(), a.clone().mul_(b).toFloatArray());
    assertArrayEquals(a.add(b, 0.3).toFloatArray(), a.clone().add_(b, 0.3).toFloatArray());
    Tensor self = a.clone();
    assertArrayEquals(a.mul(a).toFloatArray(), self.mul_(self).toFloatArray());
  }

  /**
   * In-place arithmetic with a scalar writes straight into a contiguous floating tensor when
   * nothing is recorded: the out-of-place op's bits, in both float dtypes, on a slice, and under
   * noGrad on a leaf that requires grad; it takes no storage (no temporary); a recorded or
   * non-contiguous one still goes through the out-of-place result.
   */
  @Test
  void inPlaceScalarArithmeticWritesTheOutOfPlaceResult() {
    manualSeed(4);
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      Tensor a = randn(1000).to(dt);
      assertArrayEquals(a.add(0.3).toDoubleArray(), a.clone().add_(0.3).toDoubleArray());
      assertArrayEquals(a.sub(0.3).toDoubleArray(), a.clone().sub_(0.3).toDoubleArray());
      assertArrayEquals(a.mul(0.9).toDoubleArray(), a.clone().mul_(0.9).toDoubleArray());
      assertArrayEquals(a.div(7).toDoubleArray(), a.clone().div_(7).toDoubleArray());
      Tensor rows = a.clone().view(10, 100);
      rows.narrow(0, 2, 3).mul_(-2);
      Tensor want = a.clone().view(10, 100);
      want.narrow(0, 2, 3).copy_(want.narrow(0, 2, 3).mul(-2));
      assertArrayEquals(want.toDoubleArray(), rows.toDoubleArray(), "a contiguous slice");
      Tensor strided = a.clone().view(10, 100).t();
      assertArrayEquals(
          a.view(10, 100).t().mul(3).toDoubleArray(),
          strided.mul_(3).toDoubleArray(),
          "a transposed view");
    }
    Tensor w = randn(1000).requiresGrad_(true);
    Tensor expected = w.detach().mul(0.5);
    Tensor y = w.mul(w).sum(); // saves w
    try (var ng = noGrad()) {
      w.mul_(0.5);
    }
    assertArrayEquals(expected.toFloatArray(), w.detach().toFloatArray());
    // the write bumped w's version, as any in-place write does
    assertMessage(IllegalStateException.class, "modified by an inplace", y::backward);
    Tensor x = randn(1000);
    try (Scope scope = Scope.open()) {
      long live = MemoryStats.liveCount();
      x.add_(1).mul_(2).sub_(3).div_(4);
      assertEquals(live, MemoryStats.liveCount(), "no temporary storage");
    }
  }

  @Test
  void shapeArithmeticOverflowFailsBeforeAllocating() {
    long before = MemoryStats.slabCount();
    assertMessage(
        IllegalArgumentException.class, "64-bit", () -> zeros(1L << 40, 1L << 40, 1L << 40));
    assertMessage(IllegalArgumentException.class, "bytes", () -> zeros(1L << 31, 1L << 31));
    assertEquals(before, MemoryStats.slabCount());
  }

  @Test
  void reshapeToAWrongCount() {
    assertMessage(
        IllegalArgumentException.class,
        "shape '[3, 5]' is invalid for input of size 12",
        () -> zeros(3, 4).reshape(3, 5));
  }

  @Test
  void viewOfANonContiguousTensor() {
    assertMessage(
        IllegalArgumentException.class,
        "Use .reshape(...) instead.",
        () -> zeros(3, 4).t().view(12));
    // reshape copies instead, with the same values as the contiguous copy
    Tensor a = arange(12).reshape(3, 4).t();
    assertArrayEquals(a.contiguous().view(12).toLongArray(), a.reshape(12).toLongArray());
  }

  @Test
  void broadcastMismatch() {
    assertMessage(
        IllegalArgumentException.class,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
        () -> zeros(2, 3).add(zeros(2, 4)));
  }

  @Test
  void inPlaceResultMayNotBroadcastTheDestination() {
    assertMessage(
        IllegalArgumentException.class,
        "output with shape [3] doesn't match the broadcast shape [2, 3]",
        () -> zeros(3).add_(zeros(2, 3)));
  }

  @Test
  void requiresGradOnIntegerOrBool() {
    assertMessage(
        IllegalArgumentException.class,
        "only Tensors of floating point and complex dtype can require gradients",
        () -> arange(3).requiresGrad_(true));
    assertMessage(
        IllegalArgumentException.class,
        "only Tensors of floating point and complex dtype can require gradients",
        () -> tensor(true, false).requiresGrad_(true));
  }

  @Test
  void useAfterReleaseNamesTheTensorAndScopeAndNeverSeesNewData() {
    Tensor stale;
    try (var s = Scope.open("step")) {
      stale = ones(4, 4);
    }
    Tensor reused;
    try (var s = Scope.open("next")) {
      reused = full(new long[] {4, 4}, 7); // same size class: likely the same bytes
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> stale.get(0, 0));
      assertTrue(e.getMessage().contains("[4, 4]"), e.getMessage());
      assertTrue(e.getMessage().contains("'step'"), e.getMessage());
      assertThrows(IllegalStateException.class, stale::toString);
      assertThrows(IllegalStateException.class, () -> stale.add(1));
      assertEquals(7, reused.get(3, 3));
    }
  }

  @Test
  void aStaleHandleFailsEvenWhenItsStorageObjectServesANewTensor() {
    Tensor stale;
    dev.panagrad.memory.Storage storage;
    try (var s = Scope.open("first")) {
      stale = zeros(3);
      storage = stale.storage();
    }
    try (var s = Scope.open("second")) {
      Tensor fresh = full(new long[] {3}, 5);
      // The thread's cache handed the released storage object itself to the new tensor.
      assertSame(storage, fresh.storage());
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> stale.get(0));
      assertTrue(e.getMessage().contains("[3] (torch.float32)"), e.getMessage());
      assertTrue(e.getMessage().contains("'first'"), e.getMessage());
      assertThrows(IllegalStateException.class, stale::storage);
      assertThrows(IllegalStateException.class, stale::detach);
      assertThrows(IllegalStateException.class, () -> stale.view(3));
      assertThrows(IllegalStateException.class, () -> stale.fill_(1));
      assertThrows(IllegalStateException.class, () -> s.keep(stale));
      assertArrayEquals(new float[] {5, 5, 5}, fresh.toFloatArray());
    }
    // Reused again and again: the handle still fails, naming the first scope while the storage
    // remembers it (eight generations), and saying its memory moved on after that.
    for (int i = 0; i < 12; i++) {
      try (var s = Scope.open("later")) {
        assertSame(storage, zeros(3).storage());
        String m = assertThrows(IllegalStateException.class, stale::item).getMessage();
        assertTrue(m.contains(i < 7 ? "'first'" : "since served"), i + ": " + m);
      }
    }
  }

  @Test
  void aLargeTensorsStorageObjectComesBackThroughThePoolAndItsStaleHandleStillFails() {
    // 1 MB: past the thread's shelf, so the piece goes back to the pool with its storage object
    // (StoragePool.Piece.lastHolder), and the next request of the class takes both.
    Tensor stale;
    dev.panagrad.memory.Storage storage;
    try (var s = Scope.open("big")) {
      stale = zeros(250_000);
      storage = stale.storage();
    }
    try (var s = Scope.open("bigger")) {
      Tensor fresh = full(new long[] {250_000}, 2);
      assertSame(storage, fresh.storage());
      String m = assertThrows(IllegalStateException.class, stale::sum).getMessage();
      assertTrue(m.contains("[250000]") && m.contains("'big'"), m);
      assertEquals(500_000.0, fresh.sum().item());
    }
  }

  @Test
  void aTensorsGeometryIsItsOwnWhateverTheCallerDoesWithItsArrays() {
    // Shapes and strides are shared between tensors of one geometry (SharedDims), never the
    // caller's arrays: changing the array a tensor was made from changes nothing.
    long[] shape = {2, 3};
    Tensor a = zeros(shape);
    shape[0] = 5;
    assertArrayEquals(new long[] {2, 3}, a.shape());
    long[] viewShape = {3, 2}, viewStrides = {1, 3};
    Tensor v = a.rawView(viewShape, viewStrides, 0);
    viewShape[1] = 9;
    viewStrides[0] = 7;
    assertArrayEquals(new long[] {3, 2}, v.shape());
    assertArrayEquals(new long[] {1, 3}, v.stride());
    // what a caller gets is a copy, too
    a.shape()[1] = 8;
    assertArrayEquals(new long[] {2, 3}, zeros(2, 3).shape());
    assertArrayEquals(new long[] {3, 2}, a.t().shape());
    assertArrayEquals(new long[] {1, 3}, a.t().stride());
    assertArrayEquals(new long[] {4, 2, 3}, a.expand(4, 2, 3).shape());
    assertArrayEquals(new long[] {0, 3, 1}, a.expand(4, 2, 3).stride());
  }

  @Test
  void aBroadcastScalarOperandGivesTheElementwiseResult() {
    // One element read for every output (an expanded scalar, or a one-element tensor): the
    // kernels' step 0. Each output is the one float or double operation, as the maths says.
    manualSeed(5);
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      Tensor x = randn(dt, 37, 29), s = randn(dt, 1);
      double sv = s.item();
      Tensor expanded = s.reshape().expand(37, 29);
      double[] xs = x.toDoubleArray();
      double[][] got = {
        expanded.mul(x).toDoubleArray(),
        x.sub(expanded).toDoubleArray(),
        x.div(s).toDoubleArray(),
        s.add(x).toDoubleArray()
      };
      for (int i = 0; i < xs.length; i++) {
        double[] want =
            dt == DType.FLOAT32
                ? new double[] {
                  (float) sv * (float) xs[i],
                  (float) xs[i] - (float) sv,
                  (float) xs[i] / (float) sv,
                  (float) sv + (float) xs[i]
                }
                : new double[] {sv * xs[i], xs[i] - sv, xs[i] / sv, sv + xs[i]};
        for (int k = 0; k < want.length; k++) assertEquals(want[k], got[k][i], k + " at " + i);
      }
    }
  }

  @Test
  void theWholeSumOfAContiguousTensorIsTheSumOverAllItsDims() {
    // sum() of one contiguous run takes a path of its own; it must give the reduction's bits.
    manualSeed(6);
    for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      for (long n : new long[] {1, 7, 4096, 4097, 10_001}) {
        Tensor x = randn(dt, n).mul(1e3).add(1e5);
        assertEquals(x.sum(new long[] {0}, false).item(), x.sum().item(), dt + " n=" + n);
        Tensor m = x.reshape(1, n);
        assertEquals(m.sum(new long[] {0, 1}, false).item(), m.sum().item(), dt + " n=" + n);
      }
    }
  }

  @Test
  void keepMovesATensorOutOfItsScope() {
    Tensor kept;
    try (var s = Scope.open()) {
      kept = s.keep(ones(2).mul(3));
    }
    assertArrayEquals(new float[] {3, 3}, kept.toFloatArray());
  }

  @Test
  void aScopedLoopStopsAllocatingNativeMemory() {
    long slabs = 0;
    for (int step = 0; step < 50; step++) {
      if (step == 10) slabs = MemoryStats.slabCount();
      try (var s = Scope.open()) {
        Tensor w = randn(32, 16).requiresGrad_(true);
        Tensor loss = randn(8, 32).mm(w).relu().sum();
        loss.backward();
      }
    }
    assertEquals(slabs, MemoryStats.slabCount(), "no slab allocation after warm-up");
  }

  @Test
  void viewsShareStorageAndVersion() {
    Tensor a = zeros(2, 3);
    Tensor row = a.select(0, 1);
    int v = a.storage().version();
    row.fill_(5);
    assertEquals(5, a.get(1, 2));
    assertEquals(0, a.get(0, 2));
    assertTrue(a.storage().version() > v);
    Tensor t = a.t();
    assertArrayEquals(new long[] {3, 2}, t.shape());
    assertArrayEquals(new long[] {1, 3}, t.stride());
    assertFalse(t.isContiguous());
  }

  @Test
  void stridedAndBroadcastInputsMatchTheirContiguousCopies() {
    manualSeed(3);
    Tensor a = randn(4, 5).t(); // [5, 4], transposed
    Tensor b = randn(4).unsqueeze(0); // broadcast over rows
    Tensor want = a.contiguous().add(b.expand(5, 4).contiguous());
    assertArrayEquals(want.toFloatArray(), a.add(b).toFloatArray());
    Tensor sliced = randn(6, 6).narrow(0, 1, 4).narrow(1, 2, 3);
    assertArrayEquals(sliced.contiguous().mul(2).toFloatArray(), sliced.mul(2).toFloatArray());
  }

  @Test
  void typePromotion() {
    assertEquals(DType.FLOAT32, arange(3).add(zeros(3)).dtype());
    assertEquals(DType.FLOAT64, zeros(3).add(zeros(DType.FLOAT64, 3)).dtype());
    // a 0-d tensor of the same category does not promote a dimensioned one
    assertEquals(DType.FLOAT32, zeros(3).add(zeros(DType.FLOAT64)).dtype());
    assertEquals(DType.FLOAT32, arange(3).mul(1.5).dtype());
    assertEquals(DType.INT64, arange(3).mul(2).dtype());
    // clamp's bounds promote too (PyTorch 2: tensor([1, 2]).clamp(0.5, 1.5) is [1.0, 1.5])
    Tensor c = tensor(1L, 2L).clamp(0.5, 1.5);
    assertEquals(DType.FLOAT32, c.dtype());
    assertArrayEquals(new float[] {1f, 1.5f}, c.toFloatArray());
    assertEquals(DType.INT64, tensor(1L, 2L).clamp(0, 1).dtype());
  }

  @Test
  void elementAccessAndItem() {
    Tensor t = tensor(new float[][] {{1, 2}, {3, 4}});
    assertEquals(4, t.get(1, 1));
    assertEquals(3, t.get(-1, 0));
    assertThrows(IndexOutOfBoundsException.class, () -> t.get(2, 0));
    assertEquals(10, t.sum().item());
    assertMessage(IllegalArgumentException.class, "cannot be converted to Scalar", () -> t.item());
  }

  @Test
  void fullKeepsTheSignOfZero() {
    // torch.full((3,), -0.0) is tensor([-0., -0., -0.]): the sign bit, not all-zero bytes
    for (DType d : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
      Tensor t = full(d, new long[] {3}, -0.0);
      for (int i = 0; i < 3; i++) {
        assertEquals(
            Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(t.get(i)), d + "");
      }
      assertEquals(0L, Double.doubleToRawLongBits(full(d, new long[] {3}, 0.0).get(1)));
    }
  }

  @Test
  void sumsAreAccurate() {
    // 2^25 float32 ones: a float accumulator would stop at 2^24 = 16777216
    assertEquals(33554432.0, ones(1L << 25).sum().item());
    // 0.1 ten million times: the exact float64 sum of the stored value, to the last digits
    double want =
        new java.math.BigDecimal(0.1)
            .multiply(java.math.BigDecimal.valueOf(10_000_000))
            .doubleValue();
    assertEquals(
        want, full(DType.FLOAT64, new long[] {10_000_000}, 0.1).sum().item(), Math.ulp(want));
    // var of values far from zero (two-pass): var([1e8+1, 1e8+2, 1e8+3]) = 1
    assertEquals(1.0, tensor(1e8 + 1, 1e8 + 2, 1e8 + 3).var().item());
  }

  @Test
  void gradientsComeBackInTheInputsDtype() {
    // float32 * float64 promotes to float64 (PyTorch's rule); each gradient is in its input's dtype
    Tensor x = tensor(new float[] {1, 2, 3}).requiresGrad_(true);
    Tensor y = tensor(new double[] {0.5, 0.25, 2}).requiresGrad_(true);
    Tensor z = x.mul(y);
    assertEquals(DType.FLOAT64, z.dtype());
    z.sum().backward();
    assertEquals(DType.FLOAT32, x.grad().dtype());
    assertEquals(DType.FLOAT64, y.grad().dtype());
    // d(sum x*y)/dx = y, d/dy = x
    assertArrayEquals(new float[] {0.5f, 0.25f, 2f}, x.grad().toFloatArray());
    assertArrayEquals(new double[] {1, 2, 3}, y.grad().toDoubleArray());
  }

  @Test
  void outOfBoundsGeometryIsRefused() {
    // every view is checked against its storage before any element is touched
    Tensor t = zeros(2, 3);
    assertMessage(
        IllegalArgumentException.class,
        "out of bounds for a storage of 6 elements",
        () -> t.rawView(new long[] {2, 3}, new long[] {3, 1}, 1));
    assertMessage(
        IllegalArgumentException.class,
        "out of bounds",
        () -> t.rawView(new long[] {2}, new long[] {-1}, 0));
    assertThrows(IndexOutOfBoundsException.class, () -> t.get(0, 3));
    assertThrows(IndexOutOfBoundsException.class, () -> t.select(1, 3));
    assertThrows(IndexOutOfBoundsException.class, () -> t.narrow(1, 2, 2));
  }

  @Test
  void inPlaceWriteIntoOverlappingMemory() {
    // RELIABILITY 19: an expanded view has several elements on one memory location
    assertMessage(
        IllegalArgumentException.class,
        "more than one element of the written-to tensor refers to a single memory location",
        () -> zeros(3, 1).expand(3, 4).add_(1));
  }

  @Test
  void inPlaceWriteFromAPartlyOverlappingInputIsRefusedAsPyTorchDoes() {
    // What PyTorch 2.13 does with each (RuntimeError there, its message word for word).
    String msg =
        "some elements of the input tensor and the written-to tensor refer to a single memory"
            + " location";
    Tensor x = arange(5).to(DType.FLOAT32);
    assertMessage(
        IllegalArgumentException.class, msg, () -> x.narrow(0, 1, 4).sub_(x.narrow(0, 0, 4)));
    assertMessage(
        IllegalArgumentException.class, msg, () -> x.narrow(0, 1, 4).copy_(x.narrow(0, 0, 4)));
    assertMessage(
        IllegalArgumentException.class, msg, () -> x.narrow(0, 1, 4).mul_(x.narrow(0, 0, 4)));
    assertMessage(
        IllegalArgumentException.class, msg, () -> x.narrow(0, 1, 4).div_(x.narrow(0, 0, 4)));
    Tensor y = arange(9).to(DType.FLOAT32).view(3, 3);
    assertMessage(IllegalArgumentException.class, msg, () -> y.add_(y.t())); // same bytes, order
    assertArrayEquals(new float[] {0, 1, 2, 3, 4}, x.toFloatArray(), "nothing written");
    // allowed: disjoint views of one storage, the same elements, and views too hard to check
    x.narrow(0, 0, 2).add_(x.narrow(0, 2, 2));
    assertArrayEquals(new float[] {2, 4, 2, 3, 4}, x.toFloatArray());
    x.add_(x);
    assertArrayEquals(new float[] {4, 8, 4, 6, 8}, x.toFloatArray());
    Tensor z = arange(12).to(DType.FLOAT32).view(3, 4);
    // Column slices are not dense: PyTorch runs it, with a result that depends on its loop order
    // ([0, 1, 3, 6] for the first row); here every value is computed before any is written.
    assertDoesNotThrow(() -> z.narrow(1, 1, 3).add_(z.narrow(1, 0, 3)));
  }

  @Test
  void nativeAllocationFailureNamesTheRequestAndLeavesThePoolUsable() {
    // RELIABILITY 28: 2^40 floats (4 TiB) cannot be had; the error says what was asked. Only
    // where the kernel refuses what it cannot back (overcommit mode 0 or 2): with mode 1 the
    // mapping would succeed and zeroing it would exhaust the machine.
    org.junit.jupiter.api.Assumptions.assumeTrue(overcommitRefusesHugeMaps());
    long live = MemoryStats.liveBytes();
    OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> zeros(1L << 40));
    assertTrue(e.getMessage().contains("[1099511627776]"), e.getMessage());
    assertTrue(e.getMessage().contains("4398046511104"), e.getMessage());
    assertTrue(e.getMessage().contains("live="), e.getMessage());
    assertEquals(live, MemoryStats.liveBytes());
    try (var s = Scope.open()) {
      assertEquals(6, ones(2, 3).sum().item()); // a smaller step still runs
    }
  }

  static boolean overcommitRefusesHugeMaps() {
    try {
      String mode =
          java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/vm/overcommit_memory"))
              .trim();
      return mode.equals("0") || mode.equals("2");
    } catch (java.io.IOException | RuntimeException e) {
      return false;
    }
  }
}
