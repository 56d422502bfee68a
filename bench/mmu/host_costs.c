/* host_costs: what one host mapping change and one SIGSEGV round trip cost on this machine, the
 * unit costs behind --mmu host's page-table events (bench/results/mmu.md). Build and run:
 *   cc -O2 -o /tmp/host_costs bench/mmu/host_costs.c && /tmp/host_costs
 * Every figure is the median of 5 batches of N operations on one page of a memfd mapped inside a
 * PROT_NONE reservation, as mmu/host_mmu.cpp does it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define N 20000
#define PAGE 4096

static uint8_t *res, *page;
static int fd;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void map_rw(void) { mmap(page, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0); }
static void map_none(void) { mmap(page, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0); }

/* The SIGSEGV handler skips the faulting 3-byte load (mov eax,[rdi]: 8b 07 plus a nop). */
static void on_segv(int sig, siginfo_t *si, void *ucv) {
    (void)sig, (void)si;
    ucontext_t *uc = ucv;
    uc->uc_mcontext.gregs[REG_RIP] += 3;
}
static void faulting_load(volatile uint8_t *p) {
    __asm__ volatile("mov (%0), %%eax\n\tnop" ::"r"(p) : "eax", "memory");
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*op_fn)(int i);
static double measure(op_fn f) {
    double t[5];
    for (int r = 0; r < 5; r++) {
        double s = now_ns();
        for (int i = 0; i < N; i++) f(i);
        t[r] = (now_ns() - s) / N;
    }
    qsort(t, 5, sizeof t[0], cmp);
    return t[2];
}

static void op_getppid(int i) { (void)i; getppid(); }
static void op_mmap_alternate(int i) { if (i & 1) map_none(); else map_rw(); }
static void op_mmap_replace(int i) {
    mmap(page, PAGE, PROT_READ | ((i & 1) ? PROT_WRITE : 0), MAP_SHARED | MAP_FIXED, fd, (off_t)(i & 1) * PAGE);
}
static void op_mprotect(int i) { mprotect(page, PAGE, PROT_READ | ((i & 1) ? PROT_WRITE : 0)); }
static void op_segv(int i) { (void)i; faulting_load(page); }
static void op_touch(int i) { (void)i; faulting_load(page); }
static void op_map_touch(int i) {
    (void)i; /* what a lazy fill costs besides the signal: mmap, then the host's own page fault */
    map_rw();
    *(volatile uint8_t *)page;
    map_none();
}
static void op_mmap_run16(int i) {
    (void)i; /* 16 pages dropped by one call (a batched run) */
    mmap(page, 16 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

int main(void) {
    fd = memfd_create("host_costs", 0);
    if (fd < 0 || ftruncate(fd, 64 * PAGE) != 0) return perror("memfd"), 1;
    res = mmap(0, 1ul << 32, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED) return perror("reserve"), 1;
    page = res + (1ul << 31);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);

    printf("getppid (a plain syscall)                   %8.0f ns\n", measure(op_getppid));
    printf("mmap page: memfd rw <-> PROT_NONE (each)    %8.0f ns\n", measure(op_mmap_alternate));
    printf("mmap MAP_FIXED memfd over memfd (each)      %8.0f ns\n", measure(op_mmap_replace));
    map_rw();
    page[0] = 1;
    printf("mprotect ro <-> rw (each)                   %8.0f ns\n", measure(op_mprotect));
    mprotect(page, PAGE, PROT_READ);
    printf("load through a mapped page                  %8.1f ns\n", measure(op_touch));
    map_none();
    printf("SIGSEGV round trip (fault, handler, resume) %8.0f ns\n", measure(op_segv));
    printf("mmap rw + first load + mmap PROT_NONE       %8.0f ns\n", measure(op_map_touch));
    printf("mmap PROT_NONE over 16 pages (one call)     %8.0f ns\n", measure(op_mmap_run16));
    return 0;
}
