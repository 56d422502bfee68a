/* ICEBP at CPL 3 (SDM vol. 2 INT1): its #DB does not check the gate's DPL, where INT 1 does
 * (#GP with the IDT error code). The #DB gate here is DPL 0. */
#include "debug.h"

extern char user_icebp[], user_icebp_next[], user_int1[], user_int1_next[];
__asm__(".text\n"
        ".globl user_icebp\nuser_icebp:\n\t.byte 0xf1\n"
        ".globl user_icebp_next\nuser_icebp_next:\n\tmovl $0x77, %eax\n\tret\n"
        ".globl user_int1\nuser_int1:\n\tint $1\n"
        ".globl user_int1_next\nuser_int1_next:\n\tmovl $0x78, %eax\n\tret\n");

static uint8_t user_stack[1024] __attribute__((aligned(16)));
static volatile uint32_t gp_resume;

static void gp_hook(struct trap_frame *f) {
    if (f->vector == 13 && gp_resume) {
        f->eip = gp_resume;
        gp_resume = 0;
    }
}

void t_user(void) {
    /* A kernel run deprivileged by a pure trap-and-emulate VMM (btvm --mode trap) sees its CS
     * with RPL 3, and its IRET to ring 3 does what such a VMM makes of it: not checked here. */
    if (read_cs() & 3) {
        printf_s("note: ring-3 checks skipped: this kernel runs deprivileged (CS reads RPL 3)\n");
        return;
    }
    uint32_t top = (uint32_t)user_stack + sizeof user_stack;
    const char *old = qemu_gap("QEMU is built without WANT_ICEBP: F1 raises #UD");
    db_arm();
    ud_resume = (uint32_t)user_icebp_next;
    uint32_t r = ring3_run(user_icebp, top, USER_EFLAGS);
    expect_eq("icebp at CPL 3: one trap", trap_count, 1);
    expect_db("icebp at CPL 3", 0, (uint32_t)user_icebp_next, DR6_FIXED);
    expect_eq("icebp at CPL 3: saved cs", trap_log[0].cs, USER_CS);
    qemu_gap(old);
    expect_eq("icebp at CPL 3: user code went on", r, 0x77);

    trap_arm();
    trap_hook = gp_hook;
    gp_resume = (uint32_t)user_int1_next;
    r = ring3_run(user_int1, top, USER_EFLAGS);
    expect_eq("int 1 at CPL 3: one trap", trap_count, 1);
    expect_eq("int 1 at CPL 3: #GP", trap_log[0].vector, 13);
    expect_eq("int 1 at CPL 3: error code (IDT, vector 1)", trap_log[0].error_code, 0x0a);
    expect_eq("int 1 at CPL 3: saved eip", trap_log[0].eip, (uint32_t)user_int1);
    expect_eq("int 1 at CPL 3: user code went on", r, 0x78);
}
