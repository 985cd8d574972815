package dev.panagrad.memory;

import static dev.panagrad.Torch.full;
import static dev.panagrad.Torch.tensor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.optim.SGD;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * One-element tensors made in a scope live in slots of the scope's slot block (Note [Scalar slots]
 * in {@link Storage}): each slot must behave as a storage of its own, and live and die with its
 * scope.
 */
class ScalarSlotsTest {
  private static Tensor one(double v) {
    return full(DType.FLOAT32, new long[] {1}, v);
  }

  @Test
  void eachSlotIsAStorageOfItsOwnToItsTensor() {
    try (var s = Scope.open()) {
      long taken = s.slotsTaken();
      Tensor a = one(2), b = one(3);
      assertEquals(taken + 2, s.slotsTaken(), "both took a slot");
      assertNotSame(a.storage(), b.storage());
      assertEquals(0, a.storageOffset());
      assertEquals(4, a.storage().byteSize(), "a float's bytes, not the block's");
      a.add_(1);
      assertEquals(3.0, a.item());
      assertEquals(3.0, b.item(), "a write to one slot leaves its neighbour alone");
      assertEquals(1, a.storage().version());
      assertEquals(0, b.storage().version(), "each slot counts its own in-place writes");
    }
  }

  @Test
  void aNeighboursInPlaceWriteDoesNotTripASavedSlot() {
    try (var s = Scope.open()) {
      Tensor w = one(2).requiresGrad_(true);
      Tensor x = one(5);
      Tensor y = w.mul(x); // saves x
      Tensor other = one(7);
      other.mul_(2); // another slot of the same block
      y.backward();
      assertEquals(5.0, w.grad().item(), "d(w x)/dw = x");
    }
  }

  @Test
  void anInPlaceWriteToASavedSlotIsCaught() {
    try (var s = Scope.open()) {
      Tensor w = one(2).requiresGrad_(true);
      Tensor x = one(5);
      Tensor y = w.mul(x);
      x.add_(1);
      var e = assertThrows(IllegalStateException.class, y::backward);
      assertTrue(e.getMessage().contains("modified by an inplace operation"), e.getMessage());
    }
  }

  @Test
  void aSlotsTensorRefusesUseAfterItsScopeCloses() {
    Tensor t;
    try (var s = Scope.open("step")) {
      t = one(4);
    }
    var e = assertThrows(IllegalStateException.class, t::item);
    assertTrue(e.getMessage().contains("'step' closed"), e.getMessage());
    // The block now serves the next scope's tensors: the stale handle still refuses.
    try (var s = Scope.open()) {
      Tensor fresh = one(9);
      assertEquals(9.0, fresh.item());
      assertThrows(IllegalStateException.class, t::item);
    }
  }

  @Test
  void keepMovesTheWholeBlockAndTheScopeStartsAnother() {
    Tensor kept, before, after;
    try (var outer = Scope.open()) {
      try (var s = Scope.open()) {
        before = one(1);
        kept = s.keep(one(2));
        after = one(3);
        assertNotSame(
            kept.storage().lifetime(), after.storage().lifetime(), "a new block after keep");
      }
      assertEquals(2.0, kept.item(), "kept survives its scope");
      assertEquals(1.0, before.item(), "its block's other tensors survive with it");
      assertThrows(IllegalStateException.class, after::item, "the next block closed with s");
    }
    assertThrows(IllegalStateException.class, kept::item, "released with the outer scope");
  }

  @Test
  void aLeafsGradientOutlivesTheScopeOfItsBackward() {
    Tensor w = tensor(new float[] {2f}).requiresGrad_(true);
    try (var s = Scope.open()) {
      w.mul(3).backward();
      assertFalse(w.grad().storage().isSlot(), "copied out of its slot");
    }
    assertEquals(3.0, w.grad().item(), "d(3w)/dw");
    try (var s = Scope.open()) {
      w.mul(4).backward();
    }
    assertEquals(7.0, w.grad().item(), "accumulated: 3 + 4");
  }

  @Test
  void aViewOfASlotLeavesItWhole() {
    Tensor owner = tensor(new float[] {0f, 0f, 0f});
    Tensor out;
    try (var s = Scope.open()) {
      Tensor spread = one(2).expand(3); // one slot, read three times (stride 0)
      out = spread.withLifetimeOf(owner);
      assertFalse(out.storage().isSlot());
    }
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        new float[] {2f, 2f, 2f}, out.toFloatArray());
  }

  @Test
  void anOptimizersStateForAOneElementParameterOutlivesTheStepScope() {
    Tensor w = tensor(new float[] {1f}).requiresGrad_(true);
    SGD opt = new SGD(List.of(w), 0.1, 0.9);
    for (int step = 0; step < 3; step++) {
      try (var s = Scope.open()) {
        w.mul(w).backward(); // d(w^2)/dw = 2w
        opt.step();
        opt.zeroGrad();
      }
    }
    // By hand, momentum 0.9, lr 0.1: buf = g, then buf = 0.9 buf + g; w -= 0.1 buf.
    double wv = 1, buf = 0;
    for (int step = 0; step < 3; step++) {
      float g = (float) (2 * wv);
      buf = step == 0 ? g : (float) ((float) (0.9f * (float) buf) + g);
      wv = (float) (wv - (float) (0.1f * (float) buf));
    }
    assertEquals(wv, w.item(), 1e-6);
  }

  @Test
  void aScopeSpreadsOverBlocksWhenOneIsFull() {
    try (var s = Scope.open()) {
      Tensor first = one(-1);
      Tensor t = first;
      for (int i = 0; i < Storage.BLOCK_SLOTS + 5; i++) t = one(i);
      assertNotSame(first.storage().lifetime(), t.storage().lifetime());
      assertEquals(-1.0, first.item());
      assertEquals(Storage.BLOCK_SLOTS + 4.0, t.item());
    }
  }

  @Test
  void outsideScopesAOneElementTensorHasAStorageOfItsOwn() {
    Tensor t = one(1);
    assertFalse(t.storage().isSlot());
    try (var s = Scope.open()) {
      Tensor u = one(1);
      assertTrue(u.storage().isSlot());
      assertSame(u.storage(), u.view(1, 1).storage(), "a view shares its slot");
    }
  }
}
