/* PUSHA/POPA and ENTER/LEAVE (run in alu_asm.asm), PUSH/POP of memory and immediates. */
#include "alu.h"

extern uint32_t pusha_image[8], pusha_esp, popa_regs[9], enter_out[16];
void pusha_popa_test(void);
void enter_leave_test(void);

static void test_pusha(void) {
    pusha_popa_test();
    /* PUSHAD stores EAX ECX EDX EBX ESP(before) EBP ESI EDI, so EDI ends lowest. */
    static const uint32_t want[8] = {0x88888888, 0x77777777, 0x66666666, 0, 0x44444444,
                                     0x33333333, 0x22222222, 0x11111111};
    for (int i = 0; i < 8; i++)
        if (i != 3)
            check_eq("pushad image", pusha_image[i], want[i]);
    check_eq("pushad stores ESP before", pusha_image[3], pusha_esp);
    /* POPAD reloads all but ESP, whose slot it skips (we had corrupted it). */
    check_eq("popad eax", popa_regs[0], 0xAAAAAAAA);
    check_eq("popad ecx", popa_regs[1], 0x22222222);
    check_eq("popad edx", popa_regs[2], 0x33333333);
    check_eq("popad ebx", popa_regs[3], 0x44444444);
    check_eq("popad esp", popa_regs[4], pusha_esp);
    check_eq("popad ebp", popa_regs[5], 0x66666666);
    check_eq("popad esi", popa_regs[6], 0x77777777);
    check_eq("popad edi", popa_regs[7], 0x88888888);

    /* 16-bit PUSHAW stores eight words: AX highest. POPAW reloads the low words of every
     * register, so the results go to memory. */
    __asm__ volatile("movl %%esp, tm; movw $0x4321, %%ax; pushaw; movl %%esp, tm+4;"
                     "movl 12(%%esp), %%ecx; movl %%ecx, tm+8; popaw"
                     : : : "eax", "ecx", "memory");
    check_eq("pushaw size", tm[0] - tm[1], 16);
    check_eq("pushaw ax slot", tm[2] >> 16, 0x4321);
}

static void test_enter(void) {
    enter_leave_test();
    uint32_t *o = enter_out;
    check_eq("enter 16,0 ebp", o[1], o[0] - 4);
    check_eq("enter 16,0 esp", o[2], o[0] - 4 - 16);
    check_eq("enter 16,0 saved ebp", o[3], 0x5A5A5A5A);
    check_eq("leave esp", o[4], o[0]);
    check_eq("leave ebp", o[5], 0x5A5A5A5A);
    /* Level 2: push EBP, copy one display entry from the outer frame, push the new frame. */
    check_eq("enter 8,2 ebp", o[7], o[6] - 4);
    check_eq("enter 8,2 esp", o[8], o[6] - 12 - 8);
    check_eq("enter 8,2 saved ebp", o[9], o[12]);
    check_eq("enter 8,2 display copy", o[10], 0xCAFEBABE);
    check_eq("enter 8,2 frame pointer", o[11], o[7]);
    check_eq("leave after level 2 ebp", o[13], o[12]);
    check_eq("leave after level 2 esp", o[14], o[6]);
}

static void test_push_pop(void) {
    tm[0] = 0x600DF00D;
    RUN("pushl tm; popl %%eax", 0, 0, 0, 0);
    check_eq("push [m]; pop r", A, 0x600DF00D);
    RUN("pushl $-2; popl tm", 0, 0, 0, 0);
    check_eq("push imm8; pop [m]", tm[0], 0xFFFFFFFE);
    RUN("movl %%esp, %%ecx; pushw $0x1234; movl %%esp, %%edx; popw %%ax", 0, 0, 0, 0);
    check_eq("pushw imm size", C - D, 2);
    check_eq("popw", A & 0xFFFF, 0x1234);
    /* POP into a memory operand that uses ESP: the address uses ESP after the pop. */
    RUN("pushl $0x77; pushl $0x99; popl (%%esp); popl %%eax", 0, 0, 0, 0);
    check_eq("pop (esp)", A, 0x99);
}

void test_stack(void) {
    test_pusha();
    test_enter();
    test_push_pop();
}
