/* The x87 guest: self-checks of the FPU against the Intel SDM and exact IEEE results.
 * The guest library is built with -mno-80387, so every x87 instruction is inline assembly on
 * memory operands: values go in and out as raw 80-bit, 64-bit, 32-bit or integer images. */
#pragma once
#include "../exceptions/expect.h"

typedef struct __attribute__((packed)) {
    uint64_t m;  /* significand, explicit integer bit 63 */
    uint16_t se; /* sign and biased exponent */
} f80;

/* FSW bits */
#define SW_IE 0x0001
#define SW_DE 0x0002
#define SW_ZE 0x0004
#define SW_OE 0x0008
#define SW_UE 0x0010
#define SW_PE 0x0020
#define SW_SF 0x0040
#define SW_ES 0x0080
#define SW_C0 0x0100
#define SW_C1 0x0200
#define SW_C2 0x0400
#define SW_C3 0x4000
#define SW_CC (SW_C0 | SW_C1 | SW_C2 | SW_C3)
#define SW_TOP(s) (((s) >> 11) & 7)

/* FCW: all masked, 64-bit precision, and the rounding control field */
#define CW_DEFAULT 0x037F
#define CW_RC_NEAR 0x0000
#define CW_RC_DOWN 0x0400
#define CW_RC_UP 0x0800
#define CW_RC_ZERO 0x0C00
#define CW_PC24 0x0000
#define CW_PC53 0x0200
#define CW_PC64 0x0300

static inline f80 F80(uint16_t se, uint64_t m) { f80 v = {m, se}; return v; }
static inline void fninit(void) { __asm__ volatile("fninit"); }
static inline void fldcw(uint16_t cw) { __asm__ volatile("fldcw %0" ::"m"(cw)); }
static inline uint16_t fnstsw(void) { uint16_t s; __asm__ volatile("fnstsw %0" : "=m"(s)); return s; }
static inline uint16_t fnstcw(void) { uint16_t c; __asm__ volatile("fnstcw %0" : "=m"(c)); return c; }
static inline void fld80(const f80 *v) { __asm__ volatile("fldt %0" ::"m"(*v)); }
static inline f80 fstp80(void) { f80 v; __asm__ volatile("fstpt %0" : "=m"(v)); return v; }
static inline void fld64(uint64_t bits) { __asm__ volatile("fldl %0" ::"m"(bits)); }
static inline void fild32(int32_t v) { __asm__ volatile("fildl %0" ::"m"(v)); }

/* Checks an 80-bit value exactly, or within `ulps` of the significand (transcendentals). */
void check_f80(const char *name, f80 got, f80 want);
void check_f80_near(const char *name, f80 got, f80 want, uint32_t ulps);
/* The FSW bits in `mask` are `want`. */
void check_sw(const char *name, uint16_t sw, uint16_t mask, uint16_t want);

void t_constants(void);
void t_arith(void);
void t_functions(void);
void t_integers(void);
void t_compare(void);
void t_classes(void);
void t_stack(void);
void t_env(void);
void t_faults(void);
void t_pointers(void);
void t_compiled(void);
