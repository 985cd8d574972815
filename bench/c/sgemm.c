/*
 * W5's baseline: cblas_sgemm on 1024 x 1024 float32 matrices, called from C on the same OpenBLAS
 * library the Java side loads, with the same thread count. scripts/bench builds and runs it.
 *
 *   sgemm LIBRARY THREADS [SECONDS]
 *
 * Loads LIBRARY with dlopen (so no OpenBLAS headers or link step are needed), warms up, then
 * times SAMPLES samples of about SECONDS / SAMPLES each and prints one JSON object with the
 * median GFLOP/s: {"unit": "GFLOP/s", "median": ..., "threads": ..., "samples": [...]}.
 */
#define _POSIX_C_SOURCE 199309L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The prototypes of native-bindings/include/cblas_subset.h, as function pointer types. */
enum { CblasRowMajor = 101, CblasNoTrans = 111 };
typedef void (*sgemm_fn)(int order, int transa, int transb, int m, int n, int k, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c,
                         int ldc);
typedef void (*set_threads_fn)(int n);

#define N 1024
#define SAMPLES 9

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int by_value(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s LIBRARY THREADS [SECONDS]\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[2]);
  double seconds = argc > 3 ? atof(argv[3]) : 10;
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 1;
  }
  sgemm_fn sgemm = (sgemm_fn)dlsym(lib, "cblas_sgemm");
  set_threads_fn set_threads = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
  if (!sgemm) {
    fprintf(stderr, "%s has no cblas_sgemm\n", argv[1]);
    return 1;
  }
  if (set_threads) set_threads(threads);

  float *a = aligned_alloc(64, sizeof(float) * N * N), *b = aligned_alloc(64, sizeof(float) * N * N);
  float *c = aligned_alloc(64, sizeof(float) * N * N);
  srand(0);
  for (long i = 0; i < (long)N * N; i++) {
    a[i] = rand() / (float)RAND_MAX;
    b[i] = rand() / (float)RAND_MAX;
  }
  double flops = 2.0 * N * N * N;
  /* Warm-up: a fifth of the time, as the JMH run warms up before it measures. */
  double until = now() + seconds / 5;
  while (now() < until) sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
  double samples[SAMPLES];
  for (int s = 0; s < SAMPLES; s++) {
    long calls = 0;
    double start = now(), end = start + seconds / SAMPLES, t;
    do {
      sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
      calls++;
    } while ((t = now()) < end);
    samples[s] = flops * calls / (t - start) / 1e9;
  }
  double sorted[SAMPLES];
  for (int s = 0; s < SAMPLES; s++) sorted[s] = samples[s];
  qsort(sorted, SAMPLES, sizeof(double), by_value);
  printf("{\"unit\": \"GFLOP/s\", \"median\": %.3f, \"threads\": %d, \"check\": %.1f, \"samples\": [",
         sorted[SAMPLES / 2], threads, c[0]);
  for (int s = 0; s < SAMPLES; s++) printf("%s%.3f", s ? ", " : "", samples[s]);
  printf("]}\n");
  free(a);
  free(b);
  free(c);
  return 0;
}
