package dev.panagrad;

import static org.junit.jupiter.api.Assertions.*;

import dev.panagrad.memory.Scope;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * RELIABILITY 24, in the manner of the JDK's TestScopedOperations: every public method of {@link
 * Tensor} that reads or writes elements, called on a tensor whose scope has closed, throws {@link
 * IllegalStateException}, never a crash or a value. The methods that only read metadata (shape,
 * dtype, autograd links) are listed here, and nothing else is exempt.
 */
class ReleasedTensorTest {
  static final Set<String> METADATA =
      Set.of(
          "shape",
          "size",
          "stride",
          "storageOffset",
          "dim",
          "numel",
          "dtype",
          "base",
          "isView",
          "isContiguous",
          "storage",
          "requiresGrad",
          "isLeaf",
          "grad",
          "gradFn",
          "retainsGrad",
          "setGrad",
          "historyTape",
          "historyEntry",
          "historyGen",
          "setHistory",
          "historyHandle",
          "setHistoryHandle",
          "gradUnchecked",
          "setGradUnchecked",
          "leafHooks",
          "weakSelf",
          "shapeArray",
          "strideArray",
          "equals",
          "hashCode",
          "getClass",
          "notify",
          "notifyAll",
          "wait",
          "requiresGrad_",
          "retainGrad",
          "registerHook",
          "backward");

  static Object argFor(Class<?> type) {
    if (type == Tensor.class) return Torch.ones(2, 2);
    if (type == Tensor[].class) return new Tensor[] {Torch.ones(2, 2)};
    if (type == long.class) return 0L;
    if (type == long[].class) return new long[] {0};
    if (type == int.class) return 0;
    if (type == double.class) return 0.5;
    if (type == boolean.class) return false;
    if (type == DType.class) return DType.FLOAT32;
    if (type == String.class) return "x";
    if (type == dev.panagrad.random.Generator.class) return new dev.panagrad.random.Generator(1);
    if (type == java.util.function.UnaryOperator.class)
      return (java.util.function.UnaryOperator<Tensor>) t -> t;
    return null;
  }

  @TestFactory
  Stream<DynamicTest> everyElementMethodRefusesAReleasedTensor() {
    List<DynamicTest> tests = new ArrayList<>();
    for (Method m : Tensor.class.getMethods()) {
      if (Modifier.isStatic(m.getModifiers()) || METADATA.contains(m.getName())) continue;
      String name =
          m.getName() + Stream.of(m.getParameterTypes()).map(Class::getSimpleName).toList();
      tests.add(
          DynamicTest.dynamicTest(
              name,
              () -> {
                Tensor stale;
                try (var s = Scope.open("closed")) {
                  stale = Torch.ones(2, 2);
                }
                Object[] args =
                    Stream.of(m.getParameterTypes()).map(ReleasedTensorTest::argFor).toArray();
                try {
                  m.invoke(stale, args);
                  fail(name + " returned on a released tensor");
                } catch (InvocationTargetException e) {
                  Throwable c = e.getCause();
                  assertInstanceOf(IllegalStateException.class, c, name + " threw " + c);
                  assertTrue(
                      c.getMessage().contains("released") || c.getMessage().contains("closed"),
                      name + ": " + c.getMessage());
                }
              }));
    }
    return tests.stream();
  }
}
