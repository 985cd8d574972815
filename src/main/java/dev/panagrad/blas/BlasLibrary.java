package dev.panagrad.blas;

import dev.panagrad.blas.bindings.cblas_h;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.net.URI;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Finds and loads a native CBLAS through the FFM API, once per JVM, or settles on the Java GEMM.
 *
 * <p>In order, the first that loads wins:
 *
 * <ol>
 *   <li>{@code path}: the library named by system property {@value #LIBRARY_PROPERTY} or
 *       environment variable {@value #LIBRARY_ENV} (any CBLAS: OpenBLAS, BLIS, MKL's {@code
 *       libmkl_rt.so});
 *   <li>{@code system}: the system OpenBLAS ({@code libopenblas.so.0} or {@code libopenblas.so}, by
 *       name through the dynamic loader, then in the usual library folders);
 *   <li>{@code maven}: the OpenBLAS that Maven Central's {@code org.bytedeco:openblas} jar for
 *       {@code linux-x86_64} ships, extracted once (with the Fortran and GCC runtimes it needs)
 *       into {@code ~/.cache/panagrad/openblas-VERSION/};
 *   <li>{@code java}: no native library; every product runs in Java.
 * </ol>
 *
 * <p>System property {@value #FORCE_PROPERTY} ({@code path}, {@code system}, {@code maven} or
 * {@code java}) forces one of them; when the forced one cannot load, the first use throws {@link
 * IllegalStateException} saying why. Nothing is ever downloaded. The choice is logged once (one
 * {@code java.util.logging} line, which {@code -Dpanagrad.quiet=true} silences).
 */
public final class BlasLibrary {
  /** System property: the path of a CBLAS shared library to load first. */
  public static final String LIBRARY_PROPERTY = "panagrad.blas.library";

  /** Environment variable, used when {@value #LIBRARY_PROPERTY} is unset. */
  public static final String LIBRARY_ENV = "PANAGRAD_BLAS_LIBRARY";

  /** System property that forces one source: {@code path|system|maven|java}. */
  public static final String FORCE_PROPERTY = "panagrad.blas";

  /** System property: the folder that holds the extracted OpenBLAS (default ~/.cache/panagrad). */
  public static final String CACHE_PROPERTY = "panagrad.cache.dir";

  /** Where the BLAS came from. */
  public enum Source {
    PATH,
    SYSTEM,
    MAVEN,
    JAVA;

    String key() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Inside the bytedeco jar for linux-x86_64. */
  private static final String JAR_FOLDER = "org/bytedeco/openblas/linux-x86_64/";

  private static final String JAR_POM_PROPERTIES =
      "META-INF/maven/org.bytedeco/openblas/pom.properties";

  /** The libraries the jar ships, in the order they must load (each needs the ones before). */
  static final List<String> JAR_LIBRARIES =
      List.of("libgcc_s.so.1", "libquadmath.so.0", "libgfortran.so.5", "libopenblas.so.0");

  private static final List<String> SYSTEM_NAMES = List.of("libopenblas.so.0", "libopenblas.so");

  private static final List<String> SYSTEM_FOLDERS =
      List.of(
          "/usr/lib/x86_64-linux-gnu",
          "/usr/lib/x86_64-linux-gnu/openblas-pthread",
          "/usr/lib/aarch64-linux-gnu",
          "/usr/lib/aarch64-linux-gnu/openblas-pthread",
          "/usr/lib64",
          "/usr/lib64/openblas",
          "/usr/lib",
          "/usr/local/lib",
          "/opt/OpenBLAS/lib",
          "/opt/homebrew/opt/openblas/lib",
          "/usr/local/opt/openblas/lib");

  private static final Logger LOG = Logger.getLogger("dev.panagrad.blas");

  private final Source source;
  private final Path path;
  private final SymbolLookup lookup;
  private final String config;
  private final String detail;
  private final boolean openblas, concurrentCalls;

  private BlasLibrary(Source source, Path path, SymbolLookup lookup, String config, String detail) {
    this.source = source;
    this.path = path;
    this.lookup = lookup;
    this.config = config;
    this.detail = detail;
    this.openblas = lookup != null && lookup.find("openblas_set_num_threads").isPresent();
    this.concurrentCalls = openblas && safeForConcurrentCalls(config);
  }

  private static volatile BlasLibrary loaded;
  private static RuntimeException failure;

  /** The library in use, loading it on the first call. */
  public static BlasLibrary get() {
    BlasLibrary l = loaded;
    return l != null ? l : load();
  }

  private static synchronized BlasLibrary load() {
    if (loaded != null) return loaded;
    if (failure != null) throw new IllegalStateException(failure.getMessage(), failure);
    try {
      OpenBlasEnvironment.apply(); // before any library loads: OpenBLAS reads it once
      BlasLibrary l = choose();
      loaded = l; // published first: the bindings resolve their symbols through it
      l.afterLoad();
      if (!Boolean.getBoolean("panagrad.quiet")) LOG.info(l.logLine());
      return l;
    } catch (RuntimeException e) {
      failure = e;
      throw e;
    }
  }

  /** True when a native CBLAS is loaded (loading it if this is the first call). */
  public static boolean isNative() {
    return get().source != Source.JAVA;
  }

  /**
   * The symbols of the loaded library: what the generated bindings resolve their functions in.
   *
   * @throws IllegalStateException when no native library is loaded
   */
  public static SymbolLookup symbols() {
    BlasLibrary l = get();
    if (l.lookup == null)
      throw new IllegalStateException("no native BLAS is loaded (panagrad uses its Java GEMM)");
    return l.lookup;
  }

  public Source source() {
    return source;
  }

  /** The file loaded, or null for the Java GEMM or a library found by name only. */
  public Path path() {
    return path;
  }

  /** True when the library is OpenBLAS (it exports {@code openblas_set_num_threads}). */
  public boolean isOpenBlas() {
    return openblas;
  }

  /** {@code openblas_get_config()}, or a short description for other libraries. */
  public String config() {
    return config;
  }

  /**
   * True when several threads may each run a product in this library at once: OpenBLAS from 0.3.7
   * on, built with threading (its configuration names MAX_THREADS above 1), which then locks its
   * shared buffers itself. Single-threaded OpenBLAS builds from 0.3.0 to 0.3.6, and later ones
   * without USE_LOCKING, corrupt results under concurrent calls, and no configuration string says
   * how a library was built otherwise, so any other library is called one product at a time.
   */
  public boolean concurrentCalls() {
    return concurrentCalls;
  }

  /** {@link #concurrentCalls} from an {@code openblas_get_config()} string. */
  static boolean safeForConcurrentCalls(String config) {
    var m =
        java.util.regex.Pattern.compile(
                "^OpenBLAS (\\d+)\\.(\\d+)\\.(\\d+)\\b.*\\bMAX_THREADS=(\\d+)")
            .matcher(config == null ? "" : config);
    if (!m.find()) return false;
    int major = Integer.parseInt(m.group(1)), minor = Integer.parseInt(m.group(2));
    int patch = Integer.parseInt(m.group(3)), maxThreads = Integer.parseInt(m.group(4));
    boolean recent = major > 0 || minor > 3 || (minor == 3 && patch >= 7);
    return recent && maxThreads > 1;
  }

  // ------------------------------------------------------------------ threads

  private static int javaThreads = 1;

  /** Sets the BLAS thread count (OpenBLAS's {@code openblas_set_num_threads}). */
  public static void setNumThreads(int n) {
    if (n < 1) throw new IllegalArgumentException("Number of threads must be positive, got " + n);
    BlasLibrary l = get();
    if (l.openblas) {
      Gemm.lockedRun(
          () -> {
            cblas_h.openblas_set_num_threads(n);
            openBlasThreads = n;
          });
    } else {
      synchronized (BlasLibrary.class) {
        javaThreads = n;
      }
    }
  }

  /** The BLAS thread count ({@code openblas_get_num_threads()}); the Java GEMM uses one. */
  public static int getNumThreads() {
    BlasLibrary l = get();
    if (l.openblas) return cblas_h.openblas_get_num_threads();
    synchronized (BlasLibrary.class) {
      return javaThreads;
    }
  }

  private void afterLoad() {
    if (openblas) {
      openBlasThreads = Runtime.getRuntime().availableProcessors();
      cblas_h.openblas_set_num_threads(openBlasThreads);
    }
  }

  /** OpenBLAS's thread count as last set here (0 when the library is not OpenBLAS). */
  private static volatile int openBlasThreads;

  /** OpenBLAS's thread count, for a product that runs on fewer (read under Gemm's lock). */
  static int openBlasThreads() {
    return openBlasThreads;
  }

  private String logLine() {
    return switch (source) {
      case JAVA -> "Panagrad BLAS: none loaded, matrix products run in Java (" + detail + ")";
      default ->
          "Panagrad BLAS: "
              + firstLine(config)
              + " ("
              + source.key()
              + ": "
              + (path != null ? path : detail)
              + "), "
              + (openblas ? getNumThreads() + " threads" : "library's own threading");
    };
  }

  /** The multi-line report that {@code Torch.config()} returns. */
  public static String describe() {
    BlasLibrary l = get();
    StringBuilder sb = new StringBuilder();
    sb.append("Panagrad:\n");
    sb.append("  - Java ")
        .append(System.getProperty("java.version"))
        .append(" (")
        .append(System.getProperty("java.vm.name"))
        .append(", ")
        .append(System.getProperty("java.vendor"))
        .append(")\n");
    sb.append("  - OS: ")
        .append(System.getProperty("os.name"))
        .append(' ')
        .append(System.getProperty("os.arch"))
        .append(", ")
        .append(Runtime.getRuntime().availableProcessors())
        .append(" processors\n");
    if (l.source == Source.JAVA) {
      sb.append("  - BLAS: none (Java GEMM; ").append(l.detail).append(")\n");
    } else {
      sb.append("  - BLAS: ").append(l.openblas ? shortName(l.config) : l.config).append('\n');
      sb.append("  - BLAS source: ").append(l.source.key()).append(" (").append(l.detail);
      sb.append(")\n");
      sb.append("  - BLAS library: ").append(l.path != null ? l.path : "(by name)").append('\n');
      sb.append("  - BLAS config: ").append(l.config.replace("\n", " ")).append('\n');
    }
    sb.append("  - Threads: ").append(getNumThreads()).append('\n');
    sb.append("  - Native GEMM from ")
        .append(Gemm.NATIVE_MIN_MACS)
        .append(" multiply-adds (smaller products run in Java)\n");
    return sb.toString();
  }

  /** "OpenBLAS 0.3.30" from "OpenBLAS 0.3.30 DYNAMIC_ARCH ...". */
  private static String shortName(String config) {
    String[] words = firstLine(config).split("\\s+");
    return words.length >= 2 ? words[0] + " " + words[1] : firstLine(config);
  }

  private static String firstLine(String s) {
    int i = s.indexOf('\n');
    return (i < 0 ? s : s.substring(0, i)).strip();
  }

  // ------------------------------------------------------------------ choosing

  private static BlasLibrary choose() {
    String forced = System.getProperty(FORCE_PROPERTY);
    if (forced != null && !forced.isBlank()) {
      Source s;
      try {
        s = Source.valueOf(forced.strip().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalStateException(
            "-D" + FORCE_PROPERTY + "=" + forced + " is not one of path, system, maven, java");
      }
      try {
        return tryLoad(s);
      } catch (NotLoaded e) {
        throw new IllegalStateException(
            "-D" + FORCE_PROPERTY + "=" + s.key() + " was asked for, but " + e.getMessage(), e);
      }
    }
    List<String> reasons = new ArrayList<>();
    for (Source s : Source.values()) {
      try {
        return tryLoad(s);
      } catch (NotLoaded e) {
        if (s == Source.PATH && e.configured) {
          LOG.warning("Panagrad BLAS: " + e.getMessage() + "; trying the next source");
        }
        reasons.add(s.key() + ": " + e.getMessage());
      }
    }
    throw new AssertionError("the java source always loads: " + reasons);
  }

  /** Why one source did not load; {@code configured} when the user asked for it explicitly. */
  static final class NotLoaded extends Exception {
    final boolean configured;

    NotLoaded(String message, boolean configured, Throwable cause) {
      super(message, cause);
      this.configured = configured;
    }

    NotLoaded(String message) {
      this(message, false, null);
    }
  }

  private static BlasLibrary tryLoad(Source s) throws NotLoaded {
    return switch (s) {
      case PATH -> loadPath();
      case SYSTEM -> loadSystem();
      case MAVEN -> loadMaven();
      case JAVA -> new BlasLibrary(Source.JAVA, null, null, "Java GEMM", javaReason());
    };
  }

  private static String javaReason() {
    String forced = System.getProperty(FORCE_PROPERTY);
    return forced != null && !forced.isBlank()
        ? "-D" + FORCE_PROPERTY + "=java"
        : "no native CBLAS could be loaded";
  }

  private static BlasLibrary loadPath() throws NotLoaded {
    String prop = System.getProperty(LIBRARY_PROPERTY);
    String where = "-D" + LIBRARY_PROPERTY;
    if (prop == null || prop.isBlank()) {
      prop = System.getenv(LIBRARY_ENV);
      where = LIBRARY_ENV;
    }
    if (prop == null || prop.isBlank())
      throw new NotLoaded(
          "neither -D" + LIBRARY_PROPERTY + " nor " + LIBRARY_ENV + " names a library");
    Path p = Path.of(prop.strip()).toAbsolutePath();
    if (!Files.isRegularFile(p))
      throw new NotLoaded(where + "=" + prop + ": no such file", true, null);
    SymbolLookup lookup;
    try {
      lookup = SymbolLookup.libraryLookup(p, Arena.global());
    } catch (IllegalArgumentException e) {
      throw new NotLoaded(where + "=" + prop + " could not be loaded: " + e.getMessage(), true, e);
    }
    return opened(Source.PATH, p, lookup, where + "=" + prop);
  }

  private static BlasLibrary loadSystem() throws NotLoaded {
    List<String> tried = new ArrayList<>();
    for (String name : SYSTEM_NAMES) {
      try {
        SymbolLookup lookup = SymbolLookup.libraryLookup(name, Arena.global());
        return opened(
            Source.SYSTEM, mappedPath("libopenblas"), lookup, name + " through the dynamic loader");
      } catch (IllegalArgumentException e) {
        tried.add(name);
      }
    }
    for (String folder : SYSTEM_FOLDERS) {
      for (String name : SYSTEM_NAMES) {
        Path p = Path.of(folder, name);
        if (!Files.isRegularFile(p)) continue;
        try {
          return opened(
              Source.SYSTEM, p, SymbolLookup.libraryLookup(p, Arena.global()), "system OpenBLAS");
        } catch (IllegalArgumentException e) {
          tried.add(p + " (" + e.getMessage() + ")");
        }
      }
    }
    throw new NotLoaded(
        "no system OpenBLAS (tried "
            + String.join(", ", SYSTEM_NAMES)
            + " by name and in "
            + String.join(", ", SYSTEM_FOLDERS)
            + ")");
  }

  /** The file of a library the dynamic loader mapped, from /proc/self/maps (Linux), or null. */
  private static Path mappedPath(String namePart) {
    try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
      return lines
          .map(l -> l.indexOf('/') < 0 ? "" : l.substring(l.indexOf('/')))
          .filter(f -> Path.of(f).getFileName() != null)
          .filter(f -> Path.of(f).getFileName().toString().startsWith(namePart))
          .map(Path::of)
          .findFirst()
          .orElse(null);
    } catch (IOException | UncheckedIOException | SecurityException e) {
      return null;
    }
  }

  private static BlasLibrary loadMaven() throws NotLoaded {
    Path dir;
    try {
      dir = extractBundledOpenBlas();
    } catch (UncheckedIOException e) {
      throw new NotLoaded("extracting OpenBLAS from its jar failed: " + e.getMessage(), false, e);
    }
    SymbolLookup lookup = null;
    for (String lib : JAR_LIBRARIES) {
      Path p = dir.resolve(lib);
      try {
        lookup = SymbolLookup.libraryLookup(p, Arena.global());
      } catch (IllegalArgumentException e) {
        throw new NotLoaded(p + " could not be loaded: " + e.getMessage(), false, e);
      }
    }
    return opened(
        Source.MAVEN,
        dir.resolve("libopenblas.so.0"),
        lookup,
        "org.bytedeco:openblas:" + jarVersion() + ":linux-x86_64");
  }

  private static BlasLibrary opened(Source source, Path path, SymbolLookup lookup, String detail)
      throws NotLoaded {
    for (String f : List.of("cblas_sgemm", "cblas_dgemm")) {
      if (lookup.find(f).isEmpty())
        throw new NotLoaded(
            (path != null ? path.toString() : detail) + " has no " + f + " (not a CBLAS)",
            source == Source.PATH,
            null);
    }
    String config;
    var getConfig = lookup.find("openblas_get_config");
    if (getConfig.isPresent()) {
      // Called directly here: the bindings resolve symbols only once the choice is published.
      try {
        var h =
            java.lang.foreign.Linker.nativeLinker()
                .downcallHandle(getConfig.get(), FunctionDescriptor.of(cblas_h.C_POINTER));
        MemorySegment s = (MemorySegment) h.invokeExact();
        config = s.reinterpret(4096).getString(0);
      } catch (Throwable t) {
        config = "OpenBLAS (openblas_get_config failed: " + t + ")";
      }
    } else {
      config = "CBLAS " + (path != null ? path.getFileName() : detail);
    }
    return new BlasLibrary(source, path, lookup, config, detail);
  }

  // ------------------------------------------------------------------ the Maven Central jar

  private static String jarVersion;

  /** The version of the org.bytedeco:openblas jar on the class path, or null if there is none. */
  static synchronized String jarVersion() {
    if (jarVersion != null) return jarVersion;
    URL lib = BlasLibrary.class.getClassLoader().getResource(JAR_FOLDER + "libopenblas.so.0");
    if (lib == null) return null;
    String version = "unknown";
    String s = lib.toString();
    int bang = s.indexOf("!/");
    if (s.startsWith("jar:") && bang > 0) {
      try (InputStream in =
          URI.create(s.substring(0, bang + 2) + JAR_POM_PROPERTIES).toURL().openStream()) {
        Properties p = new Properties();
        p.load(in);
        version = p.getProperty("version", version);
      } catch (IOException | IllegalArgumentException e) {
        // keep "unknown"
      }
    }
    return jarVersion = version;
  }

  private static Path cacheRoot() {
    String prop = System.getProperty(CACHE_PROPERTY);
    if (prop != null && !prop.isBlank()) return Path.of(prop);
    String xdg = System.getenv("XDG_CACHE_HOME");
    Path base =
        xdg != null && !xdg.isBlank()
            ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("panagrad");
  }

  /**
   * Extracts OpenBLAS and its runtime libraries from the {@code org.bytedeco:openblas} jar for
   * {@code linux-x86_64} on the class path into {@code <cache>/openblas-VERSION/}, once: the files
   * are written to a private temporary folder that is then renamed into place atomically, so JVMs
   * extracting at the same time never see a half-written folder. Loads nothing.
   *
   * @return the folder holding {@link #JAR_LIBRARIES}
   * @throws UncheckedIOException when the folder cannot be written
   * @throws IllegalStateException when the jar is not on the class path or this is not Linux x86-64
   */
  public static Path extractBundledOpenBlas() {
    return extractBundledOpenBlas(cacheRoot());
  }

  /** {@link #extractBundledOpenBlas()} into {@code root} instead of the cache folder. */
  static Path extractBundledOpenBlas(Path root) {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "");
    if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64")))
      throw new IllegalStateException(
          "the bundled OpenBLAS is for linux-x86_64, this is " + os + " " + arch);
    String version = jarVersion();
    if (version == null)
      throw new IllegalStateException(
          "org.bytedeco:openblas with classifier linux-x86_64 is not on the class path");
    Path dir = root.resolve("openblas-" + version);
    Path done = dir.resolve(".complete");
    if (Files.isRegularFile(done)) return dir;
    try {
      Files.createDirectories(root);
      Path tmp = Files.createTempDirectory(root, ".openblas-" + version + "-");
      try {
        for (String lib : JAR_LIBRARIES) {
          try (InputStream in =
              BlasLibrary.class.getClassLoader().getResourceAsStream(JAR_FOLDER + lib)) {
            if (in == null)
              throw new IOException(JAR_FOLDER + lib + " is missing from the openblas jar");
            Files.copy(in, tmp.resolve(lib));
          }
        }
        Files.writeString(tmp.resolve(".complete"), version + "\n");
        try {
          Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
          // Another JVM (or thread) moved its complete copy into place first: use that one. Linux
          // reports the lost race as "Directory not empty", not always as a specific exception.
          if (!Files.isRegularFile(done)) {
            if (e instanceof AtomicMoveNotSupportedException)
              throw new IOException("cannot rename " + tmp + " to " + dir + " atomically", e);
            throw e;
          }
        }
      } finally {
        deleteTree(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract OpenBLAS into " + dir + ": " + e, e);
    }
    if (!Files.isRegularFile(done))
      throw new UncheckedIOException(
          new IOException(
              dir + " exists but is incomplete (no .complete file); delete it to re-extract"));
    return dir;
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) return;
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
    }
  }
}
