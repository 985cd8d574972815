package dev.panagrad.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panagrad.Tensor;
import dev.panagrad.Torch;
import dev.panagrad.autograd.GradMode;
import java.lang.ref.WeakReference;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Test;

/**
 * A thread's scope, grad mode and tape stay its own although the last thread to change them is also
 * remembered in a static field (Note [Last thread's state] in Scope).
 */
class ThreadStateTest {
  @Test
  void anotherThreadDoesNotSeeThisThreadsScope() throws Exception {
    try (Scope mine = Scope.open("mine")) {
      Scope[] seen = new Scope[3];
      Thread t =
          new Thread(
              () -> {
                seen[0] = Scope.current(); // the static field holds "mine", not this thread's
                try (Scope theirs = Scope.open("theirs")) {
                  seen[1] = Scope.current();
                }
                seen[2] = Scope.current();
              });
      t.start();
      t.join();
      assertNull(seen[0]);
      assertEquals("theirs", seen[1].name());
      assertNull(seen[2]);
      assertSame(mine, Scope.current()); // the other thread's open and close changed nothing here
      try (Scope inner = Scope.open("inner")) {
        assertSame(inner, Scope.current());
      }
      assertSame(mine, Scope.current());
    }
    assertNull(Scope.current());
  }

  @Test
  void gradModeIsPerThreadWhileAnotherThreadChangesIt() throws Exception {
    CyclicBarrier both = new CyclicBarrier(2);
    try (var ng = GradMode.noGrad()) {
      CompletableFuture<Boolean> other =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  boolean before = GradMode.isEnabled(); // main's cell is the last set
                  both.await();
                  both.await(); // main set its mode again meanwhile
                  return before && GradMode.isEnabled();
                } catch (Exception e) {
                  throw new RuntimeException(e);
                }
              });
      both.await();
      try (var off = GradMode.noGrad()) {
        both.await();
        assertFalse(GradMode.isEnabled());
      }
      assertTrue(other.get());
      assertFalse(GradMode.isEnabled());
    }
    assertTrue(GradMode.isEnabled());
  }

  @Test
  void opsRecordOnTheirOwnThreadsTape() throws Exception {
    Tensor w = Torch.ones(1).requiresGrad_(true);
    try (Scope mine = Scope.open()) {
      Tensor y = w.mul(w);
      runWorkerThatRecordsInAScope(); // checks the worker's own gradient
      y.backward(); // this thread's graph survived the other thread's scope
      assertEquals(2.0, w.grad().item());
    }
  }

  @Test
  void anEndedThreadIsNotKeptReachable() throws Exception {
    // The live counts keep a share per thread that allocated in a scope. Held strongly there, an
    // ended thread's object stayed reachable until the counts were next read, and with it its task
    // and whatever the task captured (tensors, whose native memory stayed live meanwhile).
    WeakReference<Thread> ended = runWorkerThatRecordsInAScope();
    for (int i = 0; i < 50 && ended.get() != null; i++) {
      System.gc();
      Thread.sleep(10);
    }
    assertNull(ended.get(), "an ended thread that made tensors in a scope is still reachable");
  }

  /** Runs a thread that records and runs a backward in its own scope; its object, weakly. */
  private static WeakReference<Thread> runWorkerThatRecordsInAScope() throws InterruptedException {
    Tensor[] captured = new Tensor[1];
    Thread t =
        new Thread(
            () -> {
              Tensor v = Torch.full(new long[] {1}, 3.0).requiresGrad_(true);
              try (Scope theirs = Scope.open()) {
                v.mul(v).backward();
              }
              captured[0] = v.grad();
            });
    t.start();
    t.join();
    assertEquals(6.0, captured[0].item());
    return new WeakReference<>(t);
  }
}
