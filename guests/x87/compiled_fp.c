/* x87 code as gcc writes it (-m80387 -O2 -march=i686): FUCOMIP/FCOMIP and FCMOV for compares,
 * FNSTCW/FLDCW/FISTP around (int) casts, FILD, FSQRT, long double. A few small computations whose
 * results are exact, or checked bit for bit against the values QEMU and the host x87 agree on. */
#include "x87.h"

static volatile double vd[8] = {1.5, -2.25, 3.0, 0.1, 1e300, -0.0, 7.0, 2.0};

static double dot(const volatile double *a, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * a[(i + 1) % n];
    return s;
}

static int clamp_round(double x, double lo, double hi) {
    double y = x < lo ? lo : x > hi ? hi : x; /* FCOMIP / FCMOV */
    return (int)y;                            /* FNSTCW; FLDCW chop; FISTP; FLDCW */
}

static long double harmonic(int n) {
    long double s = 0;
    for (int i = n; i >= 1; i--)
        s += 1.0L / i;
    return s;
}

void t_compiled(void) {
    fninit();
    union { double d; uint64_t u; } r;
    r.d = dot(vd, 3); /* 1.5*-2.25 + -2.25*3 + 3*1.5 = -5.625 */
    expect_eq("gcc: dot hi", (uint32_t)(r.u >> 32), 0xC0168000u);
    expect_eq("gcc: dot lo", (uint32_t)r.u, 0);
    expect_eq("gcc: clamp 2.9 -> 2", (uint32_t)clamp_round(2.9, 0, 10), 2);
    expect_eq("gcc: clamp -3.5 -> 0", (uint32_t)clamp_round(-3.5, 0, 10), 0);
    expect_eq("gcc: clamp 1e300 -> 10", (uint32_t)clamp_round(vd[4], 0, 10), 10);
    expect_eq("gcc: (int)-2.25 chops", (uint32_t)(int)vd[1], (uint32_t)-2);
    r.d = __builtin_sqrt(vd[7] * vd[7] * vd[6] * vd[6]); /* sqrt(196) = 14 */
    expect_eq("gcc: sqrt 196", (uint32_t)(r.u >> 32), 0x402C0000u);
    int less = vd[5] < 0.0, eq = vd[5] == 0.0; /* -0 == 0 */
    expect_eq("gcc: -0 < 0 false", (uint32_t)less, 0);
    expect_eq("gcc: -0 == 0 true", (uint32_t)eq, 1);
    /* H(10) in extended precision, rounded to double: 7381/2520 = 2.9289682539682538 */
    r.d = (double)harmonic(10);
    expect_eq("gcc: harmonic(10) hi", (uint32_t)(r.u >> 32), 0x40076E86u);
    expect_eq("gcc: harmonic(10) lo", (uint32_t)r.u, 0xE86E86E8u);
}
