/* Compares, FCMOVcc, FXAM classes, stack faults, FNSAVE/FRSTOR/FNSTENV/FLDENV layouts. */
#include "x87.h"

static const f80 ONE = {0x8000000000000000ull, 0x3FFF};
static const f80 TWO = {0x8000000000000000ull, 0x4000};
static const f80 QNAN = {0xC000000000000001ull, 0x7FFF};
static const f80 SNAN = {0x8000000000000001ull, 0x7FFF};
static const f80 INDEFINITE = {0xC000000000000000ull, 0xFFFF};

#define ALL_ARITH 0x8D7u /* CF PF AF ZF SF OF and bit 1 */

/* FCOM/FUCOM ST(1) with ST(0) = a, ST(1) = b: the FSW. */
static uint16_t com(f80 a, f80 b, int unordered) {
    uint16_t sw;
    fninit();
    if (unordered)
        __asm__ volatile("fldt %2; fldt %1; fucom %%st(1); fnstsw %0" : "=m"(sw) : "m"(a), "m"(b));
    else
        __asm__ volatile("fldt %2; fldt %1; fcom %%st(1); fnstsw %0" : "=m"(sw) : "m"(a), "m"(b));
    return sw;
}

/* FCOMI/FUCOMIP: EFLAGS after, with every arithmetic flag set before. */
static uint32_t comi(f80 a, f80 b, int unordered_pop, uint16_t *sw) {
    uint32_t fl;
    fninit();
    if (unordered_pop)
        __asm__ volatile("fldt %2; fldt %1; pushl $0x8D7; popfl; fucomip %%st(1), %%st; pushfl; popl %0"
                         : "=r"(fl) : "m"(a), "m"(b) : "cc");
    else
        __asm__ volatile("fldt %2; fldt %1; pushl $0x8D7; popfl; fcomi %%st(1), %%st; pushfl; popl %0"
                         : "=r"(fl) : "m"(a), "m"(b) : "cc");
    *sw = fnstsw();
    return fl & FL_ARITH;
}

void t_compare(void) {
    check_sw("fcom 1<2", com(ONE, TWO, 0), SW_C0 | SW_C2 | SW_C3 | 0x3F, SW_C0);
    check_sw("fcom 2>1", com(TWO, ONE, 0), SW_C0 | SW_C2 | SW_C3 | 0x3F, 0);
    check_sw("fcom 1=1", com(ONE, ONE, 0), SW_C0 | SW_C2 | SW_C3 | 0x3F, SW_C3);
    check_sw("fcom qnan: unordered, IE", com(QNAN, ONE, 0), SW_C0 | SW_C2 | SW_C3 | 0x3F, SW_C0 | SW_C2 | SW_C3 | SW_IE);
    check_sw("fucom qnan: unordered, no IE", com(ONE, QNAN, 1), SW_C0 | SW_C2 | SW_C3 | 0x3F, SW_C0 | SW_C2 | SW_C3);
    check_sw("fucom snan: IE", com(SNAN, ONE, 1), SW_C0 | SW_C2 | SW_C3 | 0x3F, SW_C0 | SW_C2 | SW_C3 | SW_IE);
    uint16_t sw;
    const uint32_t zpc = FL_ZF | FL_PF | FL_CF, osa = FL_OF | FL_SF | FL_AF;
    uint32_t fl = comi(ONE, TWO, 0, &sw);
    expect_eq("fcomi 1<2: CF", fl & zpc, FL_CF);
    const char *old = qemu_gap("QEMU's FCOMI keeps OF, SF and AF");
    expect_eq("fcomi clears OF SF AF", fl & osa, 0);
    qemu_gap(old);
    expect_eq("fcomi 1=1: ZF", comi(ONE, ONE, 0, &sw) & zpc, FL_ZF);
    expect_eq("fcomi 2>1: none", comi(TWO, ONE, 0, &sw) & zpc, 0);
    expect_eq("fcomi qnan: ZF PF CF", comi(QNAN, ONE, 0, &sw) & zpc, FL_ZF | FL_PF | FL_CF);
    check_sw("fcomi qnan IE", sw, 0x3F, SW_IE);
    expect_eq("fucomip qnan: ZF PF CF", comi(ONE, QNAN, 1, &sw) & zpc, FL_ZF | FL_PF | FL_CF);
    check_sw("fucomip qnan no IE, popped", sw, 0x3F | 0x3800, 7 << 11);
    expect_eq("fucomip 2>1", comi(TWO, ONE, 1, &sw) & zpc, 0);
    /* With IE unmasked, an unordered FCOMI raises it and leaves EFLAGS alone (SDM FCOMI). */
    uint32_t fl2;
    uint16_t cw_ie = CW_DEFAULT & ~SW_IE;
    fninit();
    __asm__ volatile("fldcw %3; fldt %2; fldt %1; pushl $0x8D7; popfl; fcomi %%st(1), %%st; pushfl; popl %0; fnclex"
                     : "=r"(fl2) : "m"(QNAN), "m"(ONE), "m"(cw_ie) : "cc");
    old = qemu_gap("QEMU's FCOMI sets EFLAGS even when IE is unmasked");
    expect_eq("fcomi qnan, IE unmasked: EFLAGS unchanged", fl2 & FL_ARITH, 0x8D5);
    qemu_gap(old);
    /* FTST and FICOM */
    fninit();
    __asm__ volatile("fldt %1; fchs; ftst; fnstsw %0" : "=m"(sw) : "m"(ONE));
    check_sw("ftst -1", sw, SW_C0 | SW_C2 | SW_C3, SW_C0);
    int32_t two = 2;
    fninit();
    __asm__ volatile("fldt %1; ficoml %2; fnstsw %0" : "=m"(sw) : "m"(TWO), "m"(two));
    check_sw("ficom 2=2", sw, SW_C0 | SW_C2 | SW_C3, SW_C3);
    /* FCMOVcc reads EFLAGS. */
    f80 r;
    fninit();
    __asm__ volatile("fldt %1; fldt %2; stc; fcmovb %%st(1), %%st; fstpt %0; fstp %%st(0)" : "=m"(r) : "m"(TWO), "m"(ONE) : "cc");
    check_f80("fcmovb taken", r, TWO);
    fninit();
    __asm__ volatile("fldt %1; fldt %2; clc; fcmovb %%st(1), %%st; fstpt %0; fstp %%st(0)" : "=m"(r) : "m"(TWO), "m"(ONE) : "cc");
    check_f80("fcmovb not taken", r, ONE);
    fninit();
    __asm__ volatile("fldt %1; fldt %2; xorl %%eax, %%eax; fcmove %%st(1), %%st; fcmovnbe %%st(1), %%st; fstpt %0; fstp %%st(0)"
                     : "=m"(r) : "m"(TWO), "m"(ONE) : "eax", "cc");
    check_f80("fcmove taken (ZF)", r, TWO);
    fninit();
    __asm__ volatile("fldt %1; fldt %2; xorl %%eax, %%eax; incl %%eax; fcmovu %%st(1), %%st; fstpt %0; fstp %%st(0)"
                     : "=m"(r) : "m"(TWO), "m"(ONE) : "eax", "cc"); /* 1 has odd parity: PF = 0 */
    check_f80("fcmovu not taken (PF=0)", r, ONE);
}

static uint16_t xam(f80 v) {
    uint16_t sw;
    fninit();
    __asm__ volatile("fldt %1; fxam; fnstsw %0" : "=m"(sw) : "m"(v));
    return sw & SW_CC;
}

void t_classes(void) {
    expect_eq("fxam +0", xam(F80(0, 0)), SW_C3);
    expect_eq("fxam -0", xam(F80(0x8000, 0)), SW_C3 | SW_C1);
    expect_eq("fxam normal", xam(ONE), SW_C2);
    expect_eq("fxam -inf", xam(F80(0xFFFF, 0x8000000000000000ull)), SW_C2 | SW_C0 | SW_C1);
    expect_eq("fxam nan", xam(QNAN), SW_C0);
    expect_eq("fxam denormal", xam(F80(0, 1)), SW_C3 | SW_C2);
    expect_eq("fxam unnormal: unsupported", xam(F80(0x4000, 0x4000000000000000ull)), 0);
    uint16_t sw;
    fninit();
    __asm__ volatile("fxam; fnstsw %0" : "=m"(sw));
    expect_eq("fxam empty", sw & (SW_C3 | SW_C2 | SW_C0), SW_C3 | SW_C0);
}

void t_stack(void) {
    f80 r;
    uint16_t sw;
    const char *old = qemu_gap("QEMU does not model x87 stack overflow and underflow");
    fninit();
    __asm__ volatile("fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1; fldz; fnstsw %0" : "=m"(sw));
    check_sw("push on full stack: IE SF C1", sw, 0x7F | SW_C1, SW_IE | SW_SF | SW_C1);
    r = fstp80();
    check_f80("push on full stack: indefinite", r, INDEFINITE);
    fninit();
    __asm__ volatile("fld1; fadd %%st(1), %%st; fnstsw %0; fstpt %1" : "=m"(sw), "=m"(r));
    check_sw("empty source: IE SF, C1 = 0", sw, 0x7F | SW_C1, SW_IE | SW_SF);
    check_f80("empty source: indefinite", r, INDEFINITE);
    uint32_t f32 = 0;
    fninit();
    __asm__ volatile("fstps %0" : "=m"(f32));
    expect_eq("fstp m32 of empty: indefinite", f32, 0xFFC00000);
    qemu_gap(old);
    fninit();
    __asm__ volatile("fdecstp; fnstsw %0" : "=m"(sw));
    expect_eq("fdecstp top", SW_TOP(sw), 7);
    /* Undocumented aliases a P6 executes: FFREEP (DF C0+i) and FSTP1 (D9 D8+i). */
    fninit();
    __asm__ volatile("fld1; fldz; .byte 0xdf, 0xc0; fnstsw %0; fstpt %1" : "=m"(sw), "=m"(r));
    expect_eq("ffreep pops", SW_TOP(sw), 7);
    check_f80("ffreep leaves st1", r, ONE);
    fninit();
    __asm__ volatile("fld1; fldz; .byte 0xd9, 0xd9; fstpt %0" : "=m"(r));
    check_f80("fstp1 st(1)", r, F80(0, 0));
    fninit();
    __asm__ volatile("fld1; fldz; fxch; fstpt %0; fstp %%st(0)" : "=m"(r));
    check_f80("fxch", r, ONE);
}

static uint64_t g_x = 0x4009000000000000ull; /* 3.125 */
static uint8_t g_img[108];

void t_env(void) {
    uint32_t ip, ip2;
    fninit();
    __asm__ volatile("movl $1f, %0; movl $2f, %1\n1: fldl g_x\n2: fld1; fnsave g_img" : "=r"(ip), "=r"(ip2) :: "memory");
    uint32_t *d = (uint32_t *)g_img;
    expect_eq("fnsave fcw", d[0] & 0xFFFF, 0x037F);
    expect_eq("fnsave fsw (top 6)", d[1] & 0xFFFF, 6 << 11);
    expect_eq("fnsave ftw", d[2] & 0xFFFF, 0x0FFF);
    expect_eq("fnsave fip (fld1)", d[3], ip2);
    expect_eq("fnsave fcs", d[4] & 0xFFFF, KERNEL_CS);
    const char *old = qemu_gap("QEMU stores no FOP and FRSTOR/FLDENV do not load FIP");
    expect_eq("fnsave fop (fld1 = d9 e8)", d[4] >> 16, 0x1E8);
    qemu_gap(old);
    expect_eq("fnsave fdp (kept from fldl)", d[5], (uint32_t)&g_x);
    expect_eq("fnsave fds", d[6] & 0xFFFF, KERNEL_DS);
    f80 st1;
    memcpy(&st1, g_img + 28 + 10, 10);
    check_f80("fnsave st(1)", st1, F80(0x4000, 0xC800000000000000ull));
    expect_eq("fnsave reinitializes fcw", fnstcw(), 0x037F);
    uint8_t env[28];
    __asm__ volatile("fnstenv %0" : "=m"(env));
    expect_eq("after fnsave: all empty", *(uint16_t *)(env + 8), 0xFFFF);
    expect_eq("after fnsave: fip 0", *(uint32_t *)(env + 12), 0);
    /* FRSTOR brings it all back; the next FNSTENV sees FIP of the fldl too after a reload. */
    __asm__ volatile("frstor g_img; fnstenv %0" : "=m"(env) :: "memory");
    expect_eq("frstor fsw", *(uint16_t *)(env + 4), 6 << 11);
    old = qemu_gap("QEMU stores no FOP and FRSTOR/FLDENV do not load FIP");
    expect_eq("frstor fip", *(uint32_t *)(env + 12), ip2);
    qemu_gap(old);
    f80 r = fstp80();
    check_f80("frstor st0", r, ONE);
    r = fstp80();
    check_f80("frstor st1", r, F80(0x4000, 0xC800000000000000ull));
    fninit();
    __asm__ volatile("movl $1f, %0\n1: fldl g_x; fnstenv %1" : "=r"(ip), "=m"(env) :: "memory");
    old = qemu_gap("QEMU stores no FOP and FRSTOR/FLDENV do not load FIP");
    expect_eq("fldl fop (dd 05)", *(uint32_t *)(env + 16) >> 16, 0x505);
    qemu_gap(old);
    expect_eq("fldl fip", *(uint32_t *)(env + 12), ip);
    /* FNSTENV masks all exceptions; FLDENV loads a control word. */
    fninit();
    fldcw(0x0360);
    __asm__ volatile("fnstenv %0" : "=m"(env));
    expect_eq("fnstenv stored fcw", *(uint16_t *)env, 0x0360);
    old = qemu_gap("QEMU's FNSTENV does not mask the exceptions after storing");
    expect_eq("fnstenv then masks", fnstcw(), 0x037F);
    qemu_gap(old);
    *(uint16_t *)env = 0x0A7F;
    __asm__ volatile("fldenv %0" ::"m"(env));
    expect_eq("fldenv fcw", fnstcw(), 0x0A7F);
    /* 16-bit format (0x66): 14-byte environment, registers at 14. */
    uint8_t img16[94];
    memset(img16, 0xAA, sizeof img16);
    fninit();
    __asm__ volatile("movl $1f, %0\n1: fldl g_x; .byte 0x66; fnsave %1" : "=r"(ip), "=m"(img16) :: "memory");
    uint16_t *w = (uint16_t *)img16;
    expect_eq("fnsave16 fcw", w[0], 0x037F);
    expect_eq("fnsave16 fsw", w[1], 7 << 11);
    expect_eq("fnsave16 ftw", w[2], 0x3FFF);
    expect_eq("fnsave16 fip", w[3], ip & 0xFFFF);
    expect_eq("fnsave16 fcs", w[4], KERNEL_CS);
    expect_eq("fnsave16 fdp", w[5], (uint32_t)&g_x & 0xFFFF);
    expect_eq("fnsave16 fds", w[6], KERNEL_DS);
    memcpy(&r, img16 + 14, 10);
    check_f80("fnsave16 st0", r, F80(0x4000, 0xC800000000000000ull));
    __asm__ volatile(".byte 0x66; frstor %0" ::"m"(img16));
    r = fstp80();
    check_f80("frstor16 st0", r, F80(0x4000, 0xC800000000000000ull));
}
