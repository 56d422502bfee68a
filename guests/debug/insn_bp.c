/* Instruction breakpoints (SDM vol. 3 17.3.1.1): a fault-class #DB before the instruction at
 * DRn runs, DR6.Bn, RF pushed as it was (0) and, set by the handler, restored by IRET so that
 * the instruction then runs once; RF is cleared after it, so the next visit traps again. The
 * code is run before the breakpoint is set, so a translated block holds the address inside. */
#include "debug.h"

extern char ibp_fn[], ibp_at[], ibp_ss_fn[], ibp_ss_at[], both_fn[], both_at[], both_after[];
volatile uint32_t both_var __attribute__((aligned(4)));
__asm__(".text\n"
        "ibp_fn:\n\txorl %eax, %eax\n\tnop\n\tincl %eax\n"
        ".globl ibp_at\nibp_at:\n\taddl $2, %eax\n\tnop\n\tret\n"
        ".globl ibp_fn\n"
        ".globl ibp_ss_fn\nibp_ss_fn:\n\txorl %eax, %eax\n\tmovw %ss, %dx\n\tandw $0xfffc, %dx\n\tmovw %dx, %ss\n"
        ".globl ibp_ss_at\nibp_ss_at:\n\tincl %eax\n\tret\n"
        ".globl both_fn\nboth_fn:\n\tnop\n.globl both_at\nboth_at:\n\tmovl $9, both_var\n"
        ".globl both_after\nboth_after:\n\tret\n");

static uint32_t call_fn(const char *fn) {
    uint32_t r;
    __asm__ volatile("call *%1" : "=a"(r) : "r"(fn) : "ecx", "edx", "memory", "cc");
    return r;
}

void t_instruction_breakpoints(void) {
    uint32_t at = (uint32_t)ibp_at;
    check_eq("ibp: code runs", call_fn(ibp_fn), 3);
    check_eq("ibp: code runs again (translated)", call_fn(ibp_fn), 3);

    db_arm();
    db_set_rf = 1;
    WR_DR(0, at);
    WR_DR(7, DR7_BP(0, 0, 0));
    uint32_t r1 = call_fn(ibp_fn);
    uint32_t r2 = call_fn(ibp_fn);
    db_reset();
    expect_eq("ibp L0: one #DB per run", trap_count, 2);
    expect_db("ibp L0", 0, at, DR6_FIXED | 1);
    expect_db("ibp L0", 1, at, DR6_FIXED | 1);
    expect("ibp L0: frame RF = 0 (pushed as it was)", !(trap_log[0].eflags & FL_RF));
    expect_eq("ibp L0: the instruction ran once (RF)", r1, 3);
    expect_eq("ibp L0: and once on the second run", r2, 3);

    db_arm();
    db_set_rf = 1;
    WR_DR(2, at);
    WR_DR(7, 0x20); /* G2, execute */
    call_fn(ibp_fn);
    db_reset();
    expect_eq("ibp G2: one #DB", trap_count, 1);
    expect_db("ibp G2", 0, at, DR6_FIXED | 4);

    db_arm();
    db_set_rf = 1;
    WR_DR(0, at);
    WR_DR(3, at);
    WR_DR(7, DR7_BP(0, 0, 0) | DR7_BP(3, 0, 0));
    call_fn(ibp_fn);
    db_reset();
    expect_eq("ibp DR0+DR3: one #DB", trap_count, 1);
    expect_db("ibp DR0+DR3", 0, at, DR6_FIXED | 9);

    db_arm();
    WR_DR(1, at);
    WR_DR(7, DR7_BP(1, 0, 0) & ~0xcu); /* R/W and LEN set, L1/G1 clear: disabled */
    check_eq("ibp disabled: code runs", call_fn(ibp_fn), 3);
    db_reset();
    expect_eq("ibp disabled: no #DB", trap_count, 0);

    /* An instruction breakpoint on a store that hits a data breakpoint: the fault before it,
     * then (RF set by the handler) the store runs and the data trap follows it. */
    call_fn(both_fn);
    db_arm();
    db_set_rf = 1;
    WR_DR(0, (uint32_t)both_at);
    WR_DR(1, &both_var);
    WR_DR(7, DR7_BP(0, 0, 0) | DR7_BP(1, 1, 3));
    call_fn(both_fn);
    db_reset();
    expect_eq("ibp on a watched store: two #DB", trap_count, 2);
    expect_db("ibp on a watched store", 0, (uint32_t)both_at, DR6_FIXED | 1);
    expect_db("ibp on a watched store", 1, (uint32_t)both_after, DR6_FIXED | 2);

    /* After MOV SS the next instruction's breakpoint is not triggered (SDM 17.3.1.1). */
    db_arm();
    db_set_rf = 1;
    WR_DR(0, (uint32_t)ibp_ss_at);
    WR_DR(7, DR7_BP(0, 0, 0));
    uint32_t r = call_fn(ibp_ss_fn);
    db_reset();
    const char *old = qemu_gap("QEMU 7.2 takes an instruction breakpoint right after MOV SS");
    expect_eq("ibp after mov ss: not triggered", trap_count, 0);
    qemu_gap(old);
    check_eq("ibp after mov ss: code ran", r, 1);
}
