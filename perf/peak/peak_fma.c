/*
 * peak_fma.c: measured fp32 FMA peak of this CPU (issue 7's "fraction of this CPU's peak" denominator).
 *
 * Each thread runs a loop of ACC independent vector FMAs (acc_i = acc_i * x + y) on registers only:
 * no memory traffic, no dependency stall as long as ACC >= FMA latency x FMA pipes (Zen 3: 4 cycles x
 * 2 pipes = 8; Skylake-X/Zen 4/5: 4 x 2 = 8), so the loop is bound by FMA throughput alone.
 * Flops = threads x iterations x ACC x lanes x 2 (a multiply and an add per lane).
 *
 * Build and run (perf/compare.sh does this):
 *   gcc -O2 -mavx2 -mfma -pthread perf/peak/peak_fma.c -o perf/peak/peak_fma           # AVX2 + FMA
 *   gcc -O2 -mavx512f -mfma -pthread perf/peak/peak_fma.c -o perf/peak/peak_fma         # AVX-512 CPUs
 *   perf/peak/peak_fma [threads=1] [seconds per trial=0.3] [trials=5]
 *   (compare.sh uses 50 trials of 20 ms: on a shared machine short trials find uncontended slices)
 * Output: one JSON line {"engine":"peak","mode":"fma","threads":..,"gflops":best,...} on stdout.
 * The best trial is reported (a peak is a maximum; on a shared machine the median would measure the
 * neighbours). "implied_ghz" assumes two FMA pipes of the compiled vector width.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACC 10

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define ISA "avx512f"
#define SET1(v) _mm512_set1_ps(v)
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define ADD(a, b) _mm512_add_ps(a, b)
static float hsum(vec v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define ISA "avx2+fma"
#define SET1(v) _mm256_set1_ps(v)
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define ADD(a, b) _mm256_add_ps(a, b)
static float hsum(vec v)
{
    float t[8];
    _mm256_storeu_ps(t, v);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#else
#error "compile with -mavx2 -mfma (or -mavx512f -mfma)"
#endif

typedef struct {
    long iterations;
    float result;
    double start, end;   /* taken by the worker itself: the main thread may be preempted */
    pthread_barrier_t *barrier;
} job;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* x < 1 and y small: every accumulator converges to y / (1 - x) = 1, never denormal or infinite. */
static float run(long iterations, float seed)
{
    const vec x = SET1(0.9999999f), y = SET1(1e-7f);
    vec a0 = SET1(seed), a1 = SET1(seed + 1), a2 = SET1(seed + 2), a3 = SET1(seed + 3), a4 = SET1(seed + 4);
    vec a5 = SET1(seed + 5), a6 = SET1(seed + 6), a7 = SET1(seed + 7), a8 = SET1(seed + 8), a9 = SET1(seed + 9);
    for (long i = 0; i < iterations; i++) {
        a0 = FMA(a0, x, y); a1 = FMA(a1, x, y); a2 = FMA(a2, x, y); a3 = FMA(a3, x, y); a4 = FMA(a4, x, y);
        a5 = FMA(a5, x, y); a6 = FMA(a6, x, y); a7 = FMA(a7, x, y); a8 = FMA(a8, x, y); a9 = FMA(a9, x, y);
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4)); /* keep all 10 live */
        __asm__ volatile("" : "+x"(a5), "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9));
    }
    vec s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
    return hsum(ADD(s, ADD(a8, a9)));
}

static void *worker(void *p)
{
    job *j = (job *)p;
    pthread_barrier_wait(j->barrier);
    j->start = now();
    j->result = run(j->iterations, 1.0f);
    j->end = now();
    return NULL;
}

/* Wall time for `threads` threads each running `iterations` iterations, started together. */
static double trial(int threads, long iterations, float *sink)
{
    pthread_t tid[64];
    job jobs[64];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++) {
        jobs[t].iterations = iterations;
        jobs[t].barrier = &barrier;
        pthread_create(&tid[t], NULL, worker, &jobs[t]);
    }
    pthread_barrier_wait(&barrier);
    double t0 = 0, t1 = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        *sink += jobs[t].result;
        if (t == 0 || jobs[t].start < t0) t0 = jobs[t].start;
        if (t == 0 || jobs[t].end > t1) t1 = jobs[t].end;
    }
    double dt = t1 - t0;   /* first start to last finish, as seen by the workers */
    pthread_barrier_destroy(&barrier);
    return dt;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double seconds = argc > 2 ? atof(argv[2]) : 0.3;
    int trials = argc > 3 ? atoi(argv[3]) : 5;
    if (threads < 1 || threads > 64 || seconds <= 0 || trials < 1 || trials > 1000) {
        fprintf(stderr, "usage: %s [threads 1..64] [seconds per trial] [trials]\n", argv[0]);
        return 2;
    }
    const double flops_per_iteration = (double)ACC * LANES * 2;
    float sink = 0;

    /* Calibrate the iteration count so that one trial takes about `seconds`. */
    long iterations = 1000000;
    sink += run(iterations, 1.0f); /* warm the core up (clock ramp, page-in) */
    for (;;) {
        double t0 = now();
        sink += run(iterations, 2.0f);
        double dt = now() - t0;
        if (dt > seconds / 4 || iterations > (1L << 40)) {
            iterations = (long)(iterations * (seconds / dt));
            break;
        }
        iterations *= 4;
    }
    if (iterations < 1) iterations = 1;

    double best = 0, samples[1000];
    for (int k = 0; k < trials; k++) {
        double dt = trial(threads, iterations, &sink);
        samples[k] = threads * iterations * flops_per_iteration / dt / 1e9;
        if (samples[k] > best) best = samples[k];
    }
    printf("{\"engine\":\"peak\",\"mode\":\"fma\",\"threads\":%d,\"gflops\":%.2f,\"gflops_per_thread\":%.2f,"
           "\"implied_ghz\":%.3f,\"isa\":\"%s\",\"lanes\":%d,\"accumulators\":%d,\"samples\":[",
           threads, best, best / threads, best / threads / (2.0 * LANES * 2), ISA, LANES, ACC);
    for (int k = 0; k < trials; k++) printf("%s%.2f", k ? "," : "", samples[k]);
    printf("],\"unit\":\"GFLOP/s\",\"checksum\":%g}\n", (double)sink);
    return 0;
}
