package dev.panagrad.autograd;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.DType;
import dev.panagrad.Tensor;
import dev.panagrad.memory.Scope;
import org.junit.jupiter.api.Test;

/**
 * What the tape decides about a row when it is recorded and what a scope's close must undo: the
 * scalar-row flag the backward's lane trusts, references a scope's rows hold on rows below its
 * mark, and the hooks and retained gradients its rows were given.
 */
class TapeRowsTest {
  private static boolean scalarRow(Tensor t) {
    return Tape.current().scalarRow[t.historyEntry()];
  }

  @Test
  void onlyRowsWhoseOperandsShareOneOneElementShapeAndFloatDtypeAreScalarRows() {
    try (var s = Scope.open()) {
      Tensor a = tensor(new float[] {0.5f}).requiresGrad_(true);
      Tensor b = tensor(new float[] {2f}).requiresGrad_(true);
      Tensor h = a.add(b).mul(b).tanh();
      assertTrue(scalarRow(h));
      assertTrue(scalarRow(a.mul(b)));
      assertTrue(scalarRow(a.sub(b, 0.5)));
      assertFalse(scalarRow(a.mul(ones(1, 1))), "[1] times [1, 1]: two shapes");
      assertFalse(scalarRow(a.mul(b.to(DType.FLOAT64))), "float32 times float64");
      assertFalse(scalarRow(randn(3).requiresGrad_(true).mul(randn(3))), "three elements");
      // a row that is not a scalar row runs through the tensor rules with the same bits
      Tensor c = a.mul(ones(1, 1)).reshape(1).tanh().add(b);
      c.backward();
      assertEquals(
          (float) (1 - Math.pow(Math.tanh(0.5f), 2)), (float) a.grad().item(), 1e-7, "dtanh/da");
      assertEquals(1.0, b.grad().item());
    }
  }

  @Test
  void aRowConsumedFromInsideAScopeDiesOnceItsTensorIsCollected() throws InterruptedException {
    Tensor a = randn(3).requiresGrad_(true), b = randn(3).requiresGrad_(true);
    Tape tape = Tape.current();
    int before = tape.releaseCollected();
    consumeFromAScope(a.mul(b)); // a row outside scopes, consumed by a row inside one
    int now = before + 1;
    for (int i = 0; i < 100 && now != before; i++) {
      System.gc();
      Thread.sleep(10);
      now = tape.releaseCollected();
    }
    // the scope's close gave back its row's reference: the product's row died with its handle
    assertEquals(before, now, tape.describe());
  }

  private static void consumeFromAScope(Tensor x) {
    try (var s = Scope.open()) {
      x.tanh().sum().backward();
    }
  }

  /** beginRow does not clear these: every row past the tape's size must have none. */
  private static void freeRowsHoldNoGradientHookOrRetainedGradient() {
    Tape tape = Tape.current();
    for (int e = tape.releaseCollected(); e < tape.gradOf.length; e++) {
      assertNull(tape.gradOf[e], "free row " + e + " has a gradient");
      assertNull(tape.hooks[e], "free row " + e + " has a hook");
      assertNull(tape.retained[e], "free row " + e + " has a retained gradient");
    }
  }

  @Test
  void rowsFreedByAScopeABackwardOrTheCollectorAreClean() throws InterruptedException {
    Tensor a = randn(3).requiresGrad_(true), b = randn(3).requiresGrad_(true);
    try (var s = Scope.open()) { // hooks, a retained gradient, a backward that fails midway
      Tensor y = a.mul(b);
      y.registerHook(g -> g.mul(2));
      Tensor z = y.tanh();
      z.retainGrad();
      z.sum().backward(null, true);
      try (var ng = noGrad()) {
        y.add_(1); // tanh saved its output, not y: mul saved a and b
        b.add_(1); // mul saved b: the next backward fails at the mul
      }
      assertThrows(IllegalStateException.class, () -> z.sum().backward());
    }
    freeRowsHoldNoGradientHookOrRetainedGradient();
    Tensor w = a.mul(b).tanh(); // outside scopes: the rows die when w is collected
    w.registerHook(g -> g);
    w.sum().backward();
    w = null;
    for (int i = 0; i < 50 && Tape.current().releaseCollected() > 0; i++) {
      System.gc();
      Thread.sleep(10);
    }
    freeRowsHoldNoGradientHookOrRetainedGradient();
  }

  @Test
  void aScopesCloseDropsTheHooksAndRetainedGradientsOfItsRows() {
    // one scope each: a scope's close clears what any of its rows was given
    Tape tape = Tape.current();
    int hooked, retained;
    try (var s = Scope.open()) {
      Tensor a = tensor(new float[] {0.5f}).requiresGrad_(true);
      Tensor y = a.mul(a);
      y.registerHook(g -> g);
      hooked = y.historyEntry();
      assertNotNull(tape.hooks[hooked]);
    }
    assertNull(tape.hooks[hooked], "a closed scope's row keeps its hook");
    try (var s = Scope.open()) {
      Tensor a = tensor(new float[] {0.5f}).requiresGrad_(true);
      Tensor z = a.mul(a).tanh();
      z.retainGrad();
      retained = z.historyEntry();
      assertNotNull(tape.retained[retained]);
    }
    assertNull(tape.retained[retained], "a closed scope's row keeps its retained gradient");
  }
}
