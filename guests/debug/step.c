/* Single-step (SDM vol. 3 17.3.1.4): a trap-class #DB with DR6.BS after each instruction that
 * started with TF set (so not after the POPF that sets it, but after the one that clears it),
 * none after an instruction that faults or after INT n (the handler starts with TF clear),
 * each iteration of a REP; the MOV SS / POP SS shadow delays it by one instruction (6.8.3);
 * BS stays set in DR6 until software clears it; ICEBP and INT3. */
#include "debug.h"

#define TF_ON "pushfl\n\torl $0x100, (%%esp)\n\tpopfl\n"

uint32_t lab[6]; /* label addresses, stored by the asm below (a global: asm names it) */

static void expect_steps(const char *name, uint32_t n, const uint32_t *eips) {
    expect_eq(cat(name, "#DB count"), trap_count, n);
    for (uint32_t k = 0; k < n && k < TRAP_LOG; k++)
        expect_db(name, k, eips[k], DR6_FIXED | DR6_BS);
    expect(cat(name, "TF off after"), !(read_eflags() & FL_TF));
}

static void t_plain(void) {
    static volatile uint32_t m;
    uint32_t a, f;
    db_arm();
    __asm__ volatile("movl $2f, lab+0\n\tmovl $3f, lab+4\n\tmovl $4f, lab+8\n\tmovl $5f, lab+12\n\tmovl $6f, lab+16\n\t"
                     "movl $6f, db_stop_eip\n\t" TF_ON
                     "1:\tmovl $5, %%eax\n"
                     "2:\tpushfl\n"      /* a VMM helper */
                     "3:\tpopl %%ecx\n"
                     "4:\tmovl %%eax, %[m]\n"
                     "5:\tincl %%eax\n"
                     "6:\n"
                     : "=a"(a), "=c"(f), [m] "=m"(m)::"memory", "cc");
    expect_steps("step", 5, lab);
    expect_eq("step: the code ran", a, 6);
    expect("step: PUSHF saw TF", f & FL_TF);
    expect("step: frame RF = 0", !(trap_log[0].eflags & FL_RF));
    expect("step: frame TF = 1", trap_log[0].eflags & FL_TF);
    expect("step: handler runs with TF = 0", !(trap_log[0].handler_eflags & FL_TF));
}

static void t_popf_clears(void) {
    db_arm();
    __asm__ volatile("movl $2f, lab+0\n\tmovl $3f, lab+4\n\tmovl $4f, lab+8\n\t" TF_ON
                     "1:\tpushfl\n"
                     "2:\tandl $~0x100, (%%esp)\n"
                     "3:\tpopfl\n"
                     "4:\tnop\n"
                     "5:\n" ::: "memory", "cc");
    expect_steps("popf clearing TF", 3, lab);
}

static void t_mov_ss(void) {
    uint32_t ss_sel;
    __asm__ volatile("movl %%ss, %0" : "=r"(ss_sel));
    ss_sel &= 0xfffc;
    db_arm();
    __asm__ volatile("movw %%ss, %%dx\n\tandw $0xfffc, %%dx\n\t" /* RPL 0 also as a deprivileged kernel reads it */
                     "movl $2f, lab+0\n\tmovl $4f, lab+4\n\tmovl $5f, lab+8\n\tmovl $5f, db_stop_eip\n\t" TF_ON
                     "1:\tnop\n"
                     "2:\tmovw %%dx, %%ss\n"
                     "3:\tnop\n"
                     "4:\tnop\n"
                     "5:\n" ::: "edx", "memory", "cc");
    expect_steps("mov ss shadow", 3, lab);

    db_arm();
    __asm__ volatile("movl $2f, lab+0\n\tmovl $4f, lab+4\n\tmovl $5f, lab+8\n\tmovl $5f, db_stop_eip\n\t" TF_ON
                     "1:\tpushl %%edx\n"
                     "2:\tpopl %%ss\n"
                     "3:\tnop\n"
                     "4:\tnop\n"
                     "5:\n" ::"d"(ss_sel) : "memory", "cc");
    expect_steps("pop ss shadow", 3, lab);
}

static void t_int_and_fault(void) {
    /* INT n: the handler runs with TF = 0 and no #DB follows the INT itself; IRET brings TF
     * back and the next instruction traps. */
    db_arm();
    __asm__ volatile("movl $2f, lab+0\n\tmovl $3f, lab+4\n\tmovl $4f, lab+8\n\tmovl $4f, db_stop_eip\n\t" TF_ON
                     "1:\tnop\n"
                     "2:\tint $0x41\n"
                     "3:\tnop\n"
                     "4:\n" ::: "memory", "cc");
    expect_eq("step over int: traps", trap_count, 3);
    expect_db("step over int", 0, lab[0], DR6_FIXED | DR6_BS);
    expect_eq("step over int: then vector 0x41", trap_log[1].vector, 0x41);
    expect_eq("step over int: INT's saved eip", trap_log[1].eip, lab[1]);
    expect("step over int: INT frame has TF", trap_log[1].eflags & FL_TF);
    expect("step over int: INT handler runs with TF = 0", !(trap_log[1].handler_eflags & FL_TF));
    expect_db("step over int", 2, lab[2], DR6_FIXED | DR6_BS);

    /* A faulting instruction: the fault, and no #DB for it. */
    db_arm();
    __asm__ volatile("movl $2f, lab+0\n\tmovl $3f, ud_resume\n\tmovl $4f, lab+4\n\tmovl $4f, db_stop_eip\n\t" TF_ON
                     "1:\tnop\n"
                     "2:\tud2\n"
                     "3:\tnop\n"
                     "4:\n" ::: "memory", "cc");
    expect_eq("step over a fault: traps", trap_count, 3);
    expect_db("step over a fault", 0, lab[0], DR6_FIXED | DR6_BS);
    expect_eq("step over a fault: then #UD", trap_log[1].vector, 6);
    expect_eq("step over a fault: #UD at ud2", trap_log[1].eip, lab[0]);
    expect_db("step over a fault", 2, lab[1], DR6_FIXED | DR6_BS);
}

static void t_rep(void) {
    static uint8_t s[4] = {1, 2, 3, 4}, d[4];
    uint32_t insn, next, ecx = 3;
    uint8_t *si = s, *di = d;
    db_arm();
    __asm__ volatile("movl $1f, %[i]\n\tmovl $2f, %[n]\n\tmovl $2f, db_stop_eip\n\tcld\n\t" TF_ON
                     "1:\trep movsb\n"
                     "2:\n"
                     : [i] "=m"(insn), [n] "=m"(next), "+c"(ecx), "+S"(si), "+D"(di)
                     :
                     : "memory", "cc");
    uint32_t eips[3] = {insn, insn, next};
    expect_steps("step rep movsb", 3, eips);
    expect_eq("step rep movsb: ECX at 1st", trap_log[0].ecx, 2);
    expect_eq("step rep movsb: ECX at 2nd", trap_log[1].ecx, 1);
    const char *old = qemu_gap("QEMU 7.2 pushes RF = 0 for a trap inside a REP");
    expect("step rep movsb: 1st frame RF = 1", trap_log[0].eflags & FL_RF);
    qemu_gap(old);
    expect("step rep movsb: last frame RF = 0", !(trap_log[2].eflags & FL_RF));
    expect("step rep movsb: copied", d[0] == 1 && d[1] == 2 && d[2] == 3 && d[3] == 0);
    (void)ecx;
}

static void t_with_breakpoints(void) {
    static volatile uint32_t w;
    /* A step and a data breakpoint on one instruction: one #DB with BS and B0. */
    db_arm();
    WR_DR(0, &w);
    WR_DR(7, DR7_BP(0, 1, 3));
    __asm__ volatile("movl $2f, lab+0\n\tmovl $2f, db_stop_eip\n\t" TF_ON
                     "1:\tmovl $7, %[w]\n"
                     "2:\n"
                     : [w] "=m"(w)::"memory", "cc");
    db_reset();
    const char *old = qemu_gap("QEMU 7.2 raises a data breakpoint and a single step as two #DB");
    expect_eq("step + data bp: one #DB", trap_count, 1);
    expect_db("step + data bp", 0, lab[0], DR6_FIXED | DR6_BS | 1);
    qemu_gap(old);

    /* DR6.BS is sticky: a later data breakpoint #DB keeps it. */
    db_arm();
    db_keep_dr6 = 1;
    WR_DR(0, &w);
    __asm__ volatile("movl $2f, lab+0\n\tmovl $2f, db_stop_eip\n\t" TF_ON
                     "1:\tnop\n"
                     "2:\tmovl %[d7], %%eax\n\tmovl %%eax, %%dr7\n"
                     "\tmovl $3f, lab+4\n\tmovl $8, %[w]\n"
                     "3:\n"
                     : [w] "=m"(w)
                     : [d7] "i"(DR7_BP(0, 1, 3))
                     : "eax", "memory", "cc");
    db_reset();
    expect_eq("sticky BS: two #DB", trap_count, 2);
    expect_db("sticky BS", 0, lab[0], DR6_FIXED | DR6_BS);
    expect_db("sticky BS", 1, lab[1], DR6_FIXED | DR6_BS | 1);
}

static void t_icebp_int3(void) {
    /* ICEBP: #DB as a trap, DR6 unchanged. */
    const char *old = qemu_gap("QEMU is built without WANT_ICEBP: F1 raises #UD");
    db_arm();
    __asm__ volatile("movl $2f, lab+0\n\tmovl $2f, ud_resume\n\t.byte 0xf1\n2:\n" ::: "memory");
    expect_eq("icebp: one trap", trap_count, 1);
    expect_db("icebp", 0, lab[0], DR6_FIXED);
    expect("icebp: frame RF = 0", !(trap_log[0].eflags & FL_RF));
    qemu_gap(old);

    db_arm();
    __asm__ volatile("movl $2f, lab+0\n\tint3\n2:\n" ::: "memory");
    expect_eq("int3: one trap", trap_count, 1);
    expect_eq("int3: vector 3", trap_log[0].vector, 3);
    expect_eq("int3: saved eip", trap_log[0].eip, lab[0]);
    expect_eq("int3: DR6 unchanged", RD_DR(6), DR6_FIXED);
}

void t_single_step(void) {
    t_plain();
    t_popf_clears();
    t_mov_ss();
    t_int_and_fault();
    t_rep();
    t_with_breakpoints();
    t_icebp_int3();
}
