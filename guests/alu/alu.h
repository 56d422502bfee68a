/* Shared fixture of the alu guest: run one instruction (or a short sequence) with known
 * registers and status flags, capture the registers and EFLAGS afterwards.
 * Expected values come from the Intel SDM's definitions, worked out by hand in the tests. */
#pragma once
#include "guest.h"

#define CF FL_CF
#define PF FL_PF
#define AF FL_AF
#define ZF FL_ZF
#define SF FL_SF
#define OF FL_OF
#define ALL FL_ARITH

/* Which flags an instruction defines (the rest are undefined and masked out). */
#define LOGIC (CF | PF | ZF | SF | OF) /* AND OR XOR TEST: AF undefined */
#define SH1 (CF | PF | ZF | SF | OF)   /* shift by 1: AF undefined */
#define SHN (CF | PF | ZF | SF)        /* shift by more than 1: OF and AF undefined too */
#define ROT1 ALL                       /* rotate by 1: CF, OF written; SF ZF AF PF untouched */
#define ROTN (ALL & ~OF)               /* rotate by more than 1: OF undefined */
#define MULF (CF | OF)                 /* MUL/IMUL: SF ZF AF PF undefined */
#define BITF (CF | ZF)                 /* BT*: CF = bit, ZF untouched, others undefined */
#define BCDF (CF | AF | PF | ZF | SF)  /* DAA/DAS: OF undefined */

extern uint32_t A, C, D, F; /* EAX, ECX, EDX, EFLAGS after the last RUN */
extern uint32_t tm[8];      /* test memory, named "tm" inside asm strings */

/* Runs `insn` (AT&T syntax) with EAX=a, ECX=c, EDX=d and EFLAGS = fin (status flags only). */
#define RUN(insn, a, c, d, fin)                                                                   \
    do {                                                                                         \
        uint32_t a_ = (uint32_t)(a), c_ = (uint32_t)(c), d_ = (uint32_t)(d), f_ = (fin) | 2u;    \
        __asm__ volatile("pushl %3; popfl; " insn "; pushfl; popl %3"                            \
                         : "+a"(a_), "+c"(c_), "+d"(d_), "+r"(f_)                                \
                         :                                                                       \
                         : "cc", "memory");                                                      \
        A = a_, C = c_, D = d_, F = f_;                                                          \
    } while (0)

/* Two checks: EAX after `insn` is `want`, and the flags in `mask` are `wantf`. */
#define T(name, insn, a, c, fin, want, mask, wantf)                                              \
    do {                                                                                         \
        RUN(insn, a, c, 0, fin);                                                                 \
        check_eq(name, A, want);                                                                 \
        check_eq(name " flags", F & (mask), (wantf));                                            \
    } while (0)

void test_arith(void);
void test_shift(void);
void test_muldiv(void);
void test_bits(void);
void test_cc(void);
void test_bcd(void);
void test_string(void);
void test_stack(void);
