package dev.panagrad;

import static dev.panagrad.Torch.*;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** RELIABILITY.md item 9: a non-leaf's .grad() is null and PyTorch's warning is logged once. */
class NonLeafGradWarningTest {
  @Test
  void warnsOnceAndNotAfterRetainGrad() {
    List<String> warnings = new ArrayList<>();
    Handler h =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            warnings.add(r.getMessage());
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    Logger log = Logger.getLogger("dev.panagrad");
    log.addHandler(h);
    try {
      Tensor.resetNonLeafGradWarning();
      Tensor x = ones(2).requiresGrad_(true);
      Tensor y = x.mul(2);
      y.sum().backward();
      assertNull(y.grad());
      assertNull(y.grad());
      assertEquals(1, warnings.size(), warnings.toString());
      assertTrue(warnings.get(0).contains("is not a leaf Tensor is being accessed"));
      Tensor.resetNonLeafGradWarning();
      Tensor z = x.mul(3).retainGrad();
      z.sum().backward();
      assertArrayEquals(new float[] {1, 1}, z.grad().toFloatArray());
      assertEquals(1, warnings.size(), "no warning after retainGrad()");
    } finally {
      log.removeHandler(h);
    }
  }
}
