/* SETcc and CMOVcc for all 16 condition codes under chosen flags. Expected outcomes follow
 * the Intel SDM condition table (cc = 0..15: O NO B AE E NE BE A S NS P NP L GE LE G); an
 * odd code is the negation of the even code before it. */
#include "alu.h"

uint32_t setcc_all(uint32_t eflags);
uint32_t cmov_all(uint32_t eflags);

#define HAS(f, x) (((f) & (x)) ? 1u : 0u)
#define LESS(f) (HAS(f, SF) ^ HAS(f, OF))
#define CC_EVEN(f)                                                                               \
    (HAS(f, OF) << 0 | HAS(f, CF) << 2 | HAS(f, ZF) << 4 | (HAS(f, CF) | HAS(f, ZF)) << 6 |      \
     HAS(f, SF) << 8 | HAS(f, PF) << 10 | LESS(f) << 12 | (HAS(f, ZF) | LESS(f)) << 14)
#define CC_MASK(f) (CC_EVEN(f) | ((~CC_EVEN(f) & 0x5555u) << 1))

#define CC_CASE(name, flags)                                                                     \
    do {                                                                                         \
        check_eq("setcc " name, setcc_all((flags) | 2), CC_MASK(flags));                         \
        check_eq("cmovcc " name, cmov_all((flags) | 2), CC_MASK(flags));                         \
    } while (0)

void test_cc(void) {
    CC_CASE("none", 0);
    CC_CASE("CF", CF);
    CC_CASE("ZF", ZF);
    CC_CASE("SF", SF);
    CC_CASE("OF", OF);
    CC_CASE("PF", PF);
    CC_CASE("SF OF", SF | OF);
    CC_CASE("CF ZF", CF | ZF);
    CC_CASE("ZF SF", ZF | SF);
    CC_CASE("OF ZF PF", OF | ZF | PF);
    CC_CASE("all", ALL);

    /* After a real compare: -1 < 1 signed, but 0xffffffff > 1 unsigned. */
    T("cmp;setl", "cmpl %%ecx, %%eax; setl %%al; movzbl %%al, %%eax", 0xFFFFFFFF, 1, 0, 1, 0, 0);
    T("cmp;setb", "cmpl %%ecx, %%eax; setb %%al; movzbl %%al, %%eax", 0xFFFFFFFF, 1, 0, 0, 0, 0);
    T("cmp;seta [m]", "cmpl %%ecx, %%eax; seta tm; movzbl tm, %%eax", 0xFFFFFFFF, 1, 0, 1, 0, 0);
    /* A false CMOV leaves its destination alone; 16-bit CMOV writes only the low word. */
    T("cmovz false", "cmovzl %%ecx, %%eax", 0xDEADBEEF, 1, 0, 0xDEADBEEF, ALL, 0);
    T("cmovz16 true", "cmovzw %%cx, %%ax", 0xDEADBEEF, 0x12345678, ZF, 0xDEAD5678, ALL, ZF);
}
