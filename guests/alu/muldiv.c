/* MUL IMUL (1, 2, 3 operands) DIV IDIV, 8/16/32-bit. After MUL/IMUL, CF = OF = "the upper
 * half is significant"; SF ZF AF PF are undefined. After DIV all flags are undefined.
 * Division truncates toward zero; the remainder has the sign of the dividend. */
#include "alu.h"

#define MUL(name, insn, a, c, d, want_a, want_d, want_f)                                         \
    do {                                                                                         \
        RUN(insn, a, c, d, 0);                                                                   \
        check_eq(name, A, want_a);                                                               \
        check_eq(name " edx", D, want_d);                                                        \
        check_eq(name " flags", F & MULF, want_f);                                               \
    } while (0)

#define DIV(name, insn, a, c, d, want_a, want_d)                                                 \
    do {                                                                                         \
        RUN(insn, a, c, d, 0);                                                                   \
        check_eq(name, A, want_a);                                                               \
        check_eq(name " edx", D, want_d);                                                        \
    } while (0)

void test_muldiv(void) {
    MUL("mul32 max*max", "mull %%ecx", 0xFFFFFFFF, 0xFFFFFFFF, 0, 1, 0xFFFFFFFE, CF | OF);
    MUL("mul32 fits", "mull %%ecx", 0x10000, 0x100, 0x5555, 0x01000000, 0, 0);
    MUL("mul8 80*2", "mulb %%cl", 0x12345680, 2, 0x77777777, 0x12340100, 0x77777777, CF | OF);
    MUL("mul16 ffff*ffff", "mulw %%cx", 0xABCDFFFF, 0xFFFF, 0x12340000, 0xABCD0001, 0x1234FFFE, CF | OF);
    MUL("imul32 -2*3", "imull %%ecx", 0xFFFFFFFE, 3, 0, 0xFFFFFFFA, 0xFFFFFFFF, 0);
    MUL("imul32 2^30*4", "imull %%ecx", 0x40000000, 4, 0, 0, 1, CF | OF);
    MUL("imul8 -128*-1", "imulb %%cl", 0x80, 0xFF, 0, 0x0080, 0, CF | OF);
    MUL("imul16 -1*2", "imulw %%cx", 0x0000FFFF, 2, 0x12345678, 0x0000FFFE, 0x1234FFFF, 0);
    /* two- and three-operand forms keep only the low half; EDX is untouched */
    MUL("imul r,r overflow", "imull %%ecx, %%eax", 0x7FFFFFFF, 2, 9, 0xFFFFFFFE, 9, CF | OF);
    MUL("imul r,r -3*7", "imull %%ecx, %%eax", 0xFFFFFFFD, 7, 9, 0xFFFFFFEB, 9, 0);
    MUL("imul r,r,imm32", "imull $100, %%ecx, %%eax", 0, 0xFFFFFFFB, 0, 0xFFFFFE0C, 0, 0);
    MUL("imul r,r,imm 2^32", "imull $0x10000, %%ecx, %%eax", 0, 0x10000, 0, 0, 0, CF | OF);
    MUL("imul r,r,-1 min", "imull $-1, %%ecx, %%eax", 0, 0x80000000, 0, 0x80000000, 0, CF | OF);
    MUL("imul16 r,r", "imulw %%cx, %%ax", 0x55550100, 0x0100, 0, 0x55550000, 0, CF | OF);
    tm[0] = 6;
    MUL("imul r,[m]", "imull tm, %%eax", 7, 0, 0, 42, 0, 0);

    DIV("div32 2^32/16", "divl %%ecx", 0, 0x10, 1, 0x10000000, 0);
    DIV("div32 100/7", "divl %%ecx", 100, 7, 0, 14, 2);
    DIV("div8 256/3", "divb %%cl", 0xABCD0100, 3, 0, 0xABCD0155, 0);
    DIV("div16 65536/3", "divw %%cx", 0x12340000, 3, 0xFFFF0001, 0x12345555, 0xFFFF0001);
    DIV("idiv32 -7/2", "idivl %%ecx", 0xFFFFFFF9, 2, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF);
    DIV("idiv32 7/-2", "idivl %%ecx", 7, 0xFFFFFFFE, 0, 0xFFFFFFFD, 1);
    DIV("idiv8 -100/7", "idivb %%cl", 0x0000FF9C, 7, 0, 0x0000FEF2, 0);
    DIV("idiv16 -256/16", "idivw %%cx", 0x0000FF00, 16, 0x0000FFFF, 0x0000FFF0, 0);
    tm[0] = 10;
    DIV("div [m] 99/10", "divl tm", 99, 0, 0, 9, 9);
}
