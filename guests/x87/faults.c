/* #NM (CR0.TS, CR0.EM, WAIT with MP), #MF at the next waiting instruction (CR0.NE = 1),
 * FERR# as IRQ13 (CR0.NE = 0) cleared through port 0xF0, unmasked exceptions' results. */
#include "x87.h"

#define CR0_MP 0x02u
#define CR0_EM 0x04u
#define CR0_TS 0x08u
#define CR0_NE 0x20u

static uint32_t read_cr0(void) { uint32_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" ::"r"(v)); }

/* A fault of this vector on the TRY() instruction. Only what the x87 decides is checked (the
 * exceptions guest checks frames): the saved CS and EFLAGS would compare with MOV from CS and
 * PUSHF, which --mode trap runs deprivileged on purpose, and this guest passes in every mode. */
static void x87_fault(const char *name, uint32_t vector) {
    expect_eq(cat(name, "one trap"), trap_count, 1);
    expect_eq(cat(name, "vector"), trap_log[0].vector, vector);
    expect_eq(cat(name, "saved eip"), trap_log[0].eip, trap_insn);
}

static volatile uint32_t irq13_count;
static void irq13(struct trap_frame *f) {
    (void)f;
    irq13_count++;
    outb(0xF0, 0);    /* clear the coprocessor busy latch: lowers IRQ13 */
    outb(0xA0, 0x20); /* EOI slave, then master */
    outb(0x20, 0x20);
}

static void pic_remap(void) {
    outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01);
    outb(0xA0, 0x11); outb(0xA1, 0x28); outb(0xA1, 0x02); outb(0xA1, 0x01);
    outb(0x21, 0xFB); /* cascade only */
    outb(0xA1, 0xDF); /* IRQ13 only */
}

/* 1/0 with ZE unmasked: ES pending, no trap yet, the destination unchanged. */
static void pending_ze(const char *name) {
    uint16_t sw;
    fninit();
    fldcw(CW_DEFAULT & ~SW_ZE);
    __asm__ volatile("fldz; fld1; fdiv %%st(1), %%st; fnstsw %0" : "=m"(sw));
    check_sw(cat(name, "ES B ZE"), sw, 0x80FF, 0x8000 | SW_ES | SW_ZE);
}

void t_faults(void) {
    uint32_t cr0 = read_cr0();
    f80 r;
    /* #NM */
    write_cr0(cr0 | CR0_TS);
    trap_arm();
    __asm__ volatile(TRY("fld1") ::: "memory");
    x87_fault("fld1 with TS", 7);
    trap_arm();
    __asm__ volatile(TRY("fwait") ::: "memory");
    expect_none("fwait with TS, MP = 0");
    write_cr0(cr0 | CR0_TS | CR0_MP);
    trap_arm();
    __asm__ volatile(TRY("fwait") ::: "memory");
    x87_fault("fwait with TS and MP", 7);
    trap_arm();
    __asm__ volatile(TRY("fnstsw %%ax") ::: "eax", "memory");
    x87_fault("fnstsw with TS", 7);
    __asm__ volatile("clts");
    write_cr0((cr0 | CR0_EM) & ~CR0_MP);
    trap_arm();
    __asm__ volatile(TRY("fninit") ::: "memory");
    x87_fault("fninit with EM", 7);
    trap_arm();
    __asm__ volatile(TRY("fwait") ::: "memory");
    expect_none("fwait with EM");
    write_cr0(cr0);

    /* #MF: CR0.NE = 1, raised by the next waiting instruction, not by the FN* forms. */
    write_cr0(cr0 | CR0_NE);
    pending_ze("unmasked ZE");
    trap_arm();
    __asm__ volatile(TRY("fnstsw %%ax") ::: "eax", "memory");
    expect_none("fnstsw with ES: no #MF");
    trap_arm();
    __asm__ volatile(TRY("fwait") ::: "memory");
    x87_fault("fwait with ES: #MF", 16);
    trap_arm();
    const char *old = qemu_gap("QEMU raises #MF only at WAIT, not at the next waiting x87 instruction");
    __asm__ volatile(TRY("fld1") ::: "memory");
    if (on_qemu && trap_count == 0)
        expect("fld1 with ES: #MF", 0);
    else
        x87_fault("fld1 with ES: #MF", 16);
    qemu_gap(old);
    __asm__ volatile("fnclex");
    r = fstp80();
    check_f80("unmasked ZE: destination unchanged", r, F80(0x3FFF, 0x8000000000000000ull));
    /* An unmasked invalid store leaves memory alone. */
    int16_t s16 = 0x1234;
    f80 big = F80(0x400E, 0x9C40000000000000ull);
    fninit();
    fldcw(CW_DEFAULT & ~SW_IE);
    __asm__ volatile("fldt %1; fistps %0" : "+m"(s16) : "m"(big));
    old = qemu_gap("QEMU stores the integer indefinite even when IE is unmasked");
    expect_eq("unmasked IE: fistp leaves memory", (uint16_t)s16, 0x1234);
    qemu_gap(old);
    check_sw("unmasked IE: ES", fnstsw(), SW_ES | SW_IE, SW_ES | SW_IE);
    fninit();
    /* FNSAVE while pending: no #MF, and the saved FSW shows ES. */
    pending_ze("before fnsave");
    uint8_t img[108];
    trap_arm();
    __asm__ volatile(TRY("fnsave %0") : "=m"(img) :: "memory");
    expect_none("fnsave with ES: no #MF");
    expect_eq("fnsave keeps ES", *(uint16_t *)(img + 4) & SW_ES, SW_ES);
    /* FLDCW unmasking an exception already flagged (SDM, FLDCW): ES is set, the FN* forms go
     * on, the next waiting instruction raises #MF. In translated code the masked division and
     * the FLDCW run natively as one run, whose end stores the state for the helper. */
    fninit();
    uint16_t unmask_ze = CW_DEFAULT & ~SW_ZE;
    __asm__ volatile("fldz; fld1; fdiv %%st(1), %%st; fldcw %0" : : "m"(unmask_ze) : "memory");
    old = qemu_gap("QEMU's FLDCW does not set ES for an exception it unmasks");
    check_sw("fldcw unmasks a flagged ZE: ES", fnstsw(), SW_ES | SW_ZE, SW_ES | SW_ZE);
    expect_eq("fldcw unmasks a flagged ZE: fcw", fnstcw(), unmask_ze);
    trap_arm();
    __asm__ volatile(TRY("fld1") ::: "memory");
    x87_fault("fld1 after fldcw unmasked a flagged ZE: #MF", 16);
    qemu_gap(old);
    __asm__ volatile("fnclex");
    /* The same with the waiting instruction right after the FLDCW, in one translator run: the
     * run leaves its native path at the FLDCW and raises #MF at the FLD1. */
    fninit();
    trap_arm();
    old = qemu_gap("QEMU raises #MF only at WAIT, not at the next waiting x87 instruction");
    __asm__ volatile("fldz; fld1; fdiv %%st(1), %%st; fldcw %0\n\t" TRY_NO_FLAGS("fld1")
                     : : "m"(unmask_ze) : "memory");
    x87_fault("fldcw unmasks a flagged ZE, fld1 in the same run: #MF", 16);
    qemu_gap(old);
    __asm__ volatile("fnclex");
    /* FLDCW unmasks ZE with nothing flagged, then a division by zero in the same run: ES is set
     * without a trap (the destination stays), FNSTSW shows it, the next FLD1 raises #MF. Run
     * natively after the FLDCW, the division would leave the host's own x87 with an unmasked
     * exception pending. */
    fninit();
    uint16_t sw_after = 0;
    trap_arm();
    old = qemu_gap("QEMU raises #MF only at WAIT, not at the next waiting x87 instruction");
    __asm__ volatile("fldcw %1; fldz; fld1; fdiv %%st(1), %%st; fnstsw %0\n\t" TRY_NO_FLAGS("fld1")
                     : "=m"(sw_after) : "m"(unmask_ze) : "memory");
    x87_fault("fldcw unmasks ZE, 1/0 and fld1 in the same run: #MF", 16);
    qemu_gap(old);
    check_sw("fldcw unmasks ZE, 1/0 in the same run: ES", sw_after, SW_ES | SW_ZE, SW_ES | SW_ZE);
    __asm__ volatile("fnclex");
    fninit();
    write_cr0(cr0 & ~CR0_NE);

    /* CR0.NE = 0: FERR# raises IRQ13 once; the instruction goes on (IGNNE#). QEMU 7.2 aborts
     * here (an assertion in tcg_handle_interrupt: the FERR# line is raised from a TCG helper
     * without the I/O thread lock), so under QEMU this part is skipped. */
    if (on_qemu) {
        printf_s("GAP  ferr/IRQ13 not run: QEMU 7.2 aborts on it\n");
        write_cr0(cr0);
        return;
    }
    pic_remap();
    idt_set_handler(0x2D, irq13);
    pending_ze("ferr");
    irq13_count = 0;
    /* FERR# is asynchronous on hardware: leave the interrupt a window of a few instructions. */
    __asm__ volatile("sti; fwait; movl $16, %%ecx; 1: loop 1b; cli" ::: "ecx", "memory");
    expect_eq("fwait with ES, NE = 0: IRQ13", irq13_count, 1);
    /* The handler wrote port 0xF0, so the next waiting instruction raises IRQ13 again, and runs:
     * the error stays pending, the load happens. */
    __asm__ volatile("sti; fld1; movl $16, %%ecx; 1: loop 1b; cli" ::: "ecx", "memory");
    expect_eq("fld1 with ES, NE = 0: IRQ13 again", irq13_count, 2);
    check_sw("fld1 with ES, NE = 0: still pending", fnstsw(), SW_ES | SW_ZE, SW_ES | SW_ZE);
    r = fstp80();
    check_f80("fld1 with ES, NE = 0: loaded", r, F80(0x3FFF, 0x8000000000000000ull));
    fninit();
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
    write_cr0(cr0);
}
