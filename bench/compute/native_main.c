/* Native x86-64 driver of the compute kernels: the baseline of bench/run_compute.py.

   usage: compute-native [KERNEL [REPS]]
     KERNEL  sieve, crc32, matmul, quicksort, sha256, empty, selftest, or all (the default)
     REPS    repeat count; default: the kernel's default_reps. With another count the checksum
             has no recorded value and is reported as UNCHECKED (used to size the kernels).

   Output is the guest's: one line "KERNEL checksum=0xXXXXXXXX PASS|FAIL|UNCHECKED" per kernel,
   then "PASS" or "FAIL". Exit status 0 when everything matched, 1 on a wrong checksum, 2 on a
   usage error. */
#include <stdio.h>
#include <stdlib.h>

#include "workloads.h"

static int run_one(const struct workload *w, int reps_given, uint32_t reps)
{
    uint32_t sum = w->fn(reps_given ? reps : w->default_reps);
    const char *verdict = "PASS";
    int ok = 1;
    if (reps_given && reps != w->default_reps)
        verdict = "UNCHECKED";
    else if (sum != w->expected) {
        verdict = "FAIL";
        ok = 0;
    }
    printf("%s checksum=0x%08x %s\n", w->name, (unsigned)sum, verdict);
    return ok;
}

static int run_selftest(void)
{
    int r = workloads_selftest();
    printf("selftest %s (%d)\n", r == 0 ? "PASS" : "FAIL", r);
    return r == 0;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "all";
    int reps_given = argc > 2;
    uint32_t reps = reps_given ? (uint32_t)strtoul(argv[2], 0, 0) : 0;
    int ok = 1;

    if (wl_streq(name, "all")) {
        ok = run_selftest();
        for (const struct workload *w = workloads; w->name; w++)
            ok &= run_one(w, 0, 0);
    } else if (wl_streq(name, "selftest")) {
        ok = run_selftest();
    } else {
        const struct workload *w = wl_find(name);
        if (!w) {
            fprintf(stderr, "compute-native: unknown kernel '%s'\n", name);
            return 2;
        }
        ok = run_one(w, reps_given, reps);
    }
    puts(ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
