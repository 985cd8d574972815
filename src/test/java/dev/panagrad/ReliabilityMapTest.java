package dev.panagrad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/RELIABILITY.md maps each of the 37 faults to the tests that try it. This keeps the map
 * honest: every item is listed, and every test it names exists in the suite.
 */
class ReliabilityMapTest {
  private static final Pattern ROW = Pattern.compile("^\\| (\\d+) \\|.*\\|(.*)\\|$");
  private static final Pattern TEST = Pattern.compile("`(\\w+)\\.(\\w+)`");
  private static final String[] PACKAGES = {
    "dev.panagrad",
    "dev.panagrad.autograd",
    "dev.panagrad.blas",
    "dev.panagrad.fuzz",
    "dev.panagrad.kernels",
    "dev.panagrad.ops",
    "dev.panagrad.optim",
  };

  @Test
  void everyItemNamesTestsThatExist() throws IOException {
    List<String> lines = Files.readAllLines(Path.of("docs", "RELIABILITY.md"));
    TreeSet<Integer> items = new TreeSet<>();
    List<String> missing = new ArrayList<>();
    int named = 0;
    for (String line : lines) {
      Matcher row = ROW.matcher(line);
      if (!row.matches()) continue;
      int item = Integer.parseInt(row.group(1));
      assertTrue(items.add(item), "item " + item + " is listed twice");
      Matcher test = TEST.matcher(row.group(2));
      boolean any = false;
      while (test.find()) {
        any = true;
        named++;
        if (!exists(test.group(1), test.group(2))) missing.add(item + ": " + test.group(0));
      }
      assertTrue(any, "item " + item + " names no test");
    }
    assertEquals(37, items.size(), "items listed: " + items);
    assertEquals(1, items.first());
    assertEquals(37, items.last());
    assertTrue(named >= 37);
    assertTrue(missing.isEmpty(), "tests named in docs/RELIABILITY.md but not found: " + missing);
  }

  private static boolean exists(String className, String method) {
    for (String p : PACKAGES) {
      try {
        Class<?> c = Class.forName(p + "." + className);
        return Arrays.stream(c.getDeclaredMethods()).map(Method::getName).anyMatch(method::equals);
      } catch (ClassNotFoundException e) {
        // try the next package
      }
    }
    return false;
  }
}
