/* ADD ADC SUB SBB CMP NEG INC DEC and the logic group, 8/16/32-bit.
 * CF = unsigned carry/borrow, OF = signed overflow, AF = carry/borrow out of bit 3,
 * PF = even number of 1 bits in the low byte of the result. */
#include "alu.h"

static void test_add(void) {
    T("add32 ffffffff+1", "addl %%ecx, %%eax", 0xFFFFFFFF, 1, 0, 0, ALL, CF | PF | AF | ZF);
    T("add32 7fffffff+1", "addl %%ecx, %%eax", 0x7FFFFFFF, 1, 0, 0x80000000, ALL, PF | AF | SF | OF);
    T("add32 no carry", "addl %%ecx, %%eax", 0x12345678, 0x11111111, CF, 0x23456789, ALL, 0);
    T("add32 imm8 -1", "addl $-1, %%eax", 1, 0, 0, 0, ALL, CF | PF | AF | ZF);
    T("add8 80+80", "addb %%cl, %%al", 0x12345680, 0x80, 0, 0x12345600, ALL, CF | PF | ZF | OF);
    T("add8 0f+01", "addb %%cl, %%al", 0xAABBCC0F, 1, 0, 0xAABBCC10, ALL, AF);
    T("add16 ffff+1", "addw %%cx, %%ax", 0x1234FFFF, 1, 0, 0x12340000, ALL, CF | PF | AF | ZF);
    T("add16 7fff+1", "addw %%cx, %%ax", 0xABCD7FFF, 1, 0, 0xABCD8000, ALL, PF | AF | SF | OF);
    tm[0] = 0xFFFFFFF0;
    T("add [m],ecx", "addl %%ecx, tm", 0, 0x20, 0, 0, ALL, CF);
    check_eq("add [m],ecx value", tm[0], 0x10);
    /* 64-bit add as ADD then ADC: the carry of the low half reaches the high half. */
    RUN("addl %%ecx, %%eax; adcl $0, %%edx", 0xFFFFFFFF, 1, 1, 0);
    check_eq("add/adc 64 low", A, 0);
    check_eq("add/adc 64 high", D, 2);

    T("adc32 ffffffff+0+1", "adcl %%ecx, %%eax", 0xFFFFFFFF, 0, CF, 0, ALL, CF | PF | AF | ZF);
    T("adc32 1+1+0", "adcl %%ecx, %%eax", 1, 1, 0, 2, ALL, 0);
    T("adc8 7f+0+1", "adcb %%cl, %%al", 0x1111117F, 0, CF, 0x11111180, ALL, AF | SF | OF);
    T("adc16 8000+8000+1", "adcw %%cx, %%ax", 0x00008000, 0x8000, CF, 0x00000001, ALL, CF | OF);
}

static void test_sub(void) {
    T("sub32 0-1", "subl %%ecx, %%eax", 0, 1, 0, 0xFFFFFFFF, ALL, CF | PF | AF | SF);
    T("sub32 80000000-1", "subl %%ecx, %%eax", 0x80000000, 1, 0, 0x7FFFFFFF, ALL, PF | AF | OF);
    T("sub32 5-5", "subl %%ecx, %%eax", 5, 5, CF, 0, ALL, PF | ZF);
    T("sub8 10-1", "subb %%cl, %%al", 0x99999910, 1, 0, 0x9999990F, ALL, AF | PF);
    T("sub16 8000-1", "subw %%cx, %%ax", 0xFFFF8000, 1, 0, 0xFFFF7FFF, ALL, PF | AF | OF);
    tm[0] = 3;
    T("sub eax,[m]", "subl tm, %%eax", 10, 0, 0, 7, ALL, 0);

    T("sbb32 0-0-1", "sbbl %%ecx, %%eax", 0, 0, CF, 0xFFFFFFFF, ALL, CF | PF | AF | SF);
    T("sbb32 10-3-0", "sbbl %%ecx, %%eax", 10, 3, 0, 7, ALL, 0);
    T("sbb8 0-ff-1", "sbbb %%cl, %%al", 0x12345600, 0xFF, CF, 0x12345600, ALL, CF | PF | AF | ZF);
    T("sbb16 0-0-1", "sbbw %%cx, %%ax", 0x55550000, 0, CF, 0x5555FFFF, ALL, CF | PF | AF | SF);

    /* CMP sets flags like SUB and leaves the operand alone. */
    T("cmp32 3,5", "cmpl %%ecx, %%eax", 3, 5, 0, 3, ALL, CF | AF | SF);
    T("cmp8 80,01", "cmpb %%cl, %%al", 0x80, 0x01, 0, 0x80, ALL, AF | OF);
    T("cmp32 imm equal", "cmpl $0x1234, %%eax", 0x1234, 0, 0, 0x1234, ALL, PF | ZF);

    /* NEG: CF = (operand != 0), OF only for the most negative value. */
    T("neg32 0", "negl %%eax", 0, 0, CF, 0, ALL, PF | ZF);
    T("neg32 1", "negl %%eax", 1, 0, 0, 0xFFFFFFFF, ALL, CF | PF | AF | SF);
    T("neg32 80000000", "negl %%eax", 0x80000000, 0, 0, 0x80000000, ALL, CF | PF | SF | OF);
    T("neg8 80", "negb %%al", 0x11111180, 0, 0, 0x11111180, ALL, CF | SF | OF);
    T("neg16 1", "negw %%ax", 0x00010001, 0, 0, 0x0001FFFF, ALL, CF | PF | AF | SF);
}

static void test_incdec(void) {
    /* INC and DEC leave CF alone. */
    T("inc32 7fffffff keeps CF", "incl %%eax", 0x7FFFFFFF, 0, CF, 0x80000000, ALL, CF | PF | AF | SF | OF);
    T("dec32 0", "decl %%eax", 0, 0, 0, 0xFFFFFFFF, ALL, PF | AF | SF);
    T("inc8 ff", "incb %%al", 0x123456FF, 0, 0, 0x12345600, ALL, PF | AF | ZF);
    T("dec16 8000 keeps CF", "decw %%ax", 0x00018000, 0, CF, 0x00017FFF, ALL, CF | PF | AF | OF);
    T("inc ecx", "incl %%ecx; movl %%ecx, %%eax", 0, 41, 0, 42, ALL, 0);
    tm[0] = 0xFFFFFFFF;
    T("inc [m] keeps CF", "incl tm", 0, 0, CF, 0, ALL, CF | PF | AF | ZF);
    check_eq("inc [m] value", tm[0], 0);
}

static void test_logic(void) {
    /* AND OR XOR TEST clear CF and OF. */
    T("and32", "andl %%ecx, %%eax", 0xF0F0F0F0, 0x0FF00FF0, CF | OF, 0x00F000F0, LOGIC, PF);
    T("or32", "orl %%ecx, %%eax", 0x80000000, 1, 0, 0x80000001, LOGIC, SF);
    T("xor32 equal", "xorl %%ecx, %%eax", 0x12345678, 0x12345678, 0, 0, LOGIC, PF | ZF);
    T("test8", "testb %%cl, %%al", 0x80, 0x80, CF, 0x80, LOGIC, SF);
    T("and16", "andw %%cx, %%ax", 0x1234FFFF, 0x00FF, 0, 0x123400FF, LOGIC, PF);
    T("or8 zero", "orb %%cl, %%al", 0xABCDEF00, 0, 0, 0xABCDEF00, LOGIC, PF | ZF);
    T("xor8", "xorb %%cl, %%al", 0x0F, 0xF0, 0, 0xFF, LOGIC, PF | SF);
    T("and imm8 sign-extended", "andl $-16, %%eax", 0x1234567F, 0, 0, 0x12345670, LOGIC, 0);
    T("xor ah,al", "xorb %%al, %%ah", 0x00001234, 0, 0, 0x00002634, LOGIC, 0);
    tm[1] = 0x8000;
    T("test [m],imm", "testl $0x8000, tm+4", 0, 0, CF | OF, 0, LOGIC, PF);
    T("not32 keeps flags", "notl %%eax", 0x0F0F0F0F, 0, CF | ZF, 0xF0F0F0F0, ALL, CF | ZF);
    T("not8", "notb %%al", 0x12345600, 0, 0, 0x123456FF, ALL, 0);
}

void test_arith(void) {
    test_add();
    test_sub();
    test_incdec();
    test_logic();
}
