/* debug: the IA-32 debug facilities of a P6 against the Intel SDM (vol. 3 ch. 17, vol. 2 MOV DR
 * and INT1/INT3): debug registers, general detect, instruction breakpoints and RF, data and I/O
 * breakpoints (from plain moves, REP MOVS and the processor's own pushes), single-step, the
 * MOV SS / POP SS shadow, ICEBP and INT3. Where QEMU 7.2's TCG departs from the SDM the check
 * prints as GAP there (expect.h). */
#include "debug.h"

volatile uint32_t db_dr6[TRAP_LOG], db_dr7[TRAP_LOG];
volatile int db_set_rf, db_keep_dr6;
volatile uint32_t db_stop_eip, ud_resume;

static void db_hook(struct trap_frame *f) {
    uint32_t n = trap_count - 1;
    if (f->vector == 1) {
        if (n < TRAP_LOG) {
            db_dr6[n] = RD_DR(6);
            db_dr7[n] = RD_DR(7);
        }
        if (!db_keep_dr6)
            WR_DR(6, 0); /* the SDM asks handlers to clear it: checks see one exception's bits */
        if (db_set_rf)
            f->eflags |= FL_RF;
        if (f->eip == db_stop_eip)
            f->eflags &= ~FL_TF;
    }
    if (f->vector == 6 && ud_resume) {
        f->eip = ud_resume;
        ud_resume = 0;
    }
    if (trap_count >= 12) { /* runaway (a breakpoint that keeps firing): stop it, fail the counts */
        WR_DR(7, 0);
        f->eflags &= ~FL_TF;
    }
}

void db_reset(void) {
    WR_DR(7, 0);
    WR_DR(6, 0);
    WR_DR(0, 0);
    WR_DR(1, 0);
    WR_DR(2, 0);
    WR_DR(3, 0);
}

void db_arm(void) {
    db_reset();
    trap_arm();
    trap_hook = db_hook;
    db_set_rf = db_keep_dr6 = 0;
    db_stop_eip = ud_resume = 0;
    memset((void *)db_dr6, 0, sizeof db_dr6);
    memset((void *)db_dr7, 0, sizeof db_dr7);
}

void expect_db(const char *name, uint32_t k, uint32_t eip, uint32_t dr6) {
    char buf[64];
    uint32_t n = 0;
    for (const char *p = name; *p && n < sizeof buf - 8; p++)
        buf[n++] = *p;
    buf[n++] = ' ';
    buf[n++] = '#';
    buf[n++] = (char)('0' + k);
    buf[n] = 0;
    expect_eq(cat(buf, "vector"), trap_log[k].vector, 1);
    expect_eq(cat(buf, "saved eip"), trap_log[k].eip, eip);
    expect_eq(cat(buf, "DR6"), db_dr6[k], dr6);
}

void expect_db_fault(const char *name, uint32_t vector) {
    expect_eq(cat(name, "one trap"), trap_count, 1);
    expect_eq(cat(name, "vector"), trap_log[0].vector, vector);
    expect_eq(cat(name, "saved eip"), trap_log[0].eip, trap_insn);
    const char *old = qemu_gap("QEMU TCG pushes RF = 0 for faults");
    expect(cat(name, "saved RF = 1"), trap_log[0].eflags & FL_RF);
    qemu_gap(old);
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)mbi;
    expect_eq("multiboot magic", magic, MULTIBOOT_LOADER_MAGIC);
    detect_reference();
    gdt_install_flat();
    idt_install();
    outb(0x21, 0xFF); /* no device interrupts */
    outb(0xA1, 0xFF);
    trap_catch(1, 1);
    trap_catch(3, 3);
    trap_catch(6, 6);
    trap_catch(0x40, 0x41);
    trap_catch(13, 13);
    ring3_setup();

    t_registers();
    t_instruction_breakpoints();
    t_data_breakpoints();
    t_single_step();
    t_user();
    db_reset();
    expect_finish("debug");
}
