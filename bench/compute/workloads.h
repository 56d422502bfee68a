/* Compute kernels shared by the btvm guest (guest_main.c, gcc -m32 freestanding) and the native
   x86-64 build (native_main.c). workloads.c is integer-only: compiled with -mno-80387 -mno-sse for
   the guest and -mgeneral-regs-only for the native build, which keeps both builds in the same
   instruction subset (general registers only). workloads_fp.c holds the floating-point kernel:
   gcc's x87 code in the guest, SSE2 natively (the two agree bit for bit there, see that file).

   Every kernel takes a repeat count, does a fixed amount of work per repeat, and returns a 32-bit
   checksum of everything it computed, so the compiler cannot drop work and a wrong emulation
   shows up as a wrong checksum. No kernel uses 64-bit division (that would need libgcc helpers
   that differ between the two builds). */
#ifndef BENCH_COMPUTE_WORKLOADS_H
#define BENCH_COMPUTE_WORKLOADS_H

#include <stdint.h>

typedef uint32_t (*workload_fn)(uint32_t reps);

struct workload {
    const char *name;
    workload_fn fn;
    uint32_t default_reps; /* chosen so that the kernel runs ~0.3-1 s natively */
    uint32_t expected;     /* checksum at default_reps, verified natively and under QEMU */
};

/* The kernels. Sizes per repeat are fixed (see workloads.c). */
uint32_t wl_sieve(uint32_t reps);     /* sieve of Eratosthenes below 2^21, byte array     */
uint32_t wl_crc32(uint32_t reps);     /* table-driven CRC-32 (IEEE, reflected) of 256 KiB */
uint32_t wl_matmul(uint32_t reps);    /* 128x128 int32 matrix multiply                    */
uint32_t wl_quicksort(uint32_t reps); /* quicksort of 256 Ki LCG-generated uint32         */
uint32_t wl_sha256(uint32_t reps);    /* SHA-256 of 64 KiB                                */
uint32_t wl_calls(uint32_t reps);     /* small functions, direct and through pointers     */
uint32_t wl_recursion(uint32_t reps); /* recursive Fibonacci and Ackermann                */
uint32_t wl_interp(uint32_t reps);    /* bytecode interpreter with switch dispatch         */
uint32_t wl_divide(uint32_t reps);    /* GCDs and signed quotients: DIV and IDIV            */
uint32_t wl_mandel(uint32_t reps);    /* Mandelbrot in doubles: x87 in the guest (workloads_fp.c) */
uint32_t wl_fpconv(uint32_t reps);    /* double to int16 samples: FLDCW/FISTP in the guest  */
uint32_t wl_empty(uint32_t reps);     /* no work: boot-and-exit baseline for the emulators */

/* The table, ending with a zero row. "empty" is in it with expected 0. */
extern const struct workload workloads[];

/* Known-answer tests of CRC-32 and SHA-256 (standard test vectors), and a sortedness check of
   quicksort on a small array. Returns 0 when all pass, else the number of the first failing test. */
int workloads_selftest(void);

/* Helpers shared by both mains (no libc in the guest). */
int wl_streq(const char *a, const char *b);
const struct workload *wl_find(const char *name);

#endif
