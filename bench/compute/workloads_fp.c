/* The floating-point kernels: gcc's own x87 code in the guest (-m80387 -mfpmath=387), SSE2 in
   the native build, and x87 again in the native-x87 build (-mfpmath=387 for x86-64), which
   shows what the guest's x87 code costs on the host's own x87. Every value is a double whose +,
   -, * are rounded to 53 bits everywhere: x87 code sets the precision control to double first
   (FLDCW), and nothing here overflows or underflows, so the x87's wider exponent changes no
   result and the checksums agree. */
#include "workloads.h"

#if !defined(__SSE_MATH__) /* x87 arithmetic */
static void fpu_double_precision(void)
{
    uint16_t cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    cw = (uint16_t)((cw & ~0x0300u) | 0x0200u); /* PC = 10b: 53-bit mantissa */
    __asm__ volatile("fldcw %0" : : "m"(cw));
}
#else
static void fpu_double_precision(void) {}
#endif

/* Mandelbrot escape counts over a 96x64 grid of the plane, at most 256 iterations a point,
   with a slightly different window each repeat. */
uint32_t wl_mandel(uint32_t reps)
{
    fpu_double_precision();
    uint32_t h = 0x811c9dc5u;
    for (uint32_t r = 0; r < reps; r++) {
        double x0 = -2.0 + (double)(r & 7) * 0.001, y0 = -1.0;
        for (int py = 0; py < 64; py++) {
            double ci = y0 + py * (2.0 / 64);
            for (int px = 0; px < 96; px++) {
                double cr = x0 + px * (3.0 / 96);
                double zr = 0, zi = 0;
                uint32_t n = 0;
                while (n < 256 && zr * zr + zi * zi <= 4.0) {
                    double t = zr * zr - zi * zi + cr;
                    zi = 2.0 * zr * zi + ci;
                    zr = t;
                    n++;
                }
                h = (h ^ n) * 0x01000193u;
            }
        }
    }
    return h;
}

/* Float to integer, as audio and graphics code converts every sample: C's truncating
   conversion is FNSTCW, FLDCW (round toward zero), FISTP, FLDCW (restore) in the guest's x87
   code, one CVTTSD2SI natively. A ramp of 64 Ki samples in [-1, 1) scaled by a gain that
   changes each repeat, converted and clamped to 16 bits. Every product is exact (the sample
   has 16 significant bits, the gain 6, the scale 10), so both builds truncate the same values. */
uint32_t wl_fpconv(uint32_t reps)
{
    fpu_double_precision();
    uint32_t h = 0x811c9dc5u;
    for (uint32_t r = 0; r < reps; r++) {
        double gain = 0.75 + (double)(r & 15) * 0.03125, x = -1.0;
        for (int i = 0; i < 65536; i++) {
            int32_t s = (int32_t)(x * gain * 40000.0);
            if (s > 32767)
                s = 32767;
            if (s < -32768)
                s = -32768;
            h = (h ^ (uint32_t)s) * 0x01000193u;
            x += 1.0 / 32768;
        }
    }
    return h;
}
