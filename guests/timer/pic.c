/* pic: initialization of the cascaded 8259A pair, the IMR and OCW3 register reads, and what a
 * request does while it is masked (IMR) or while the CPU has IF=0. */
#include "timer.h"

uint8_t pic_reg(uint16_t cmd, uint8_t ocw3) {
    uint32_t f = irq_save(); /* a handler's own OCW3 between ours and the read would win */
    outb(cmd, ocw3);
    uint8_t v = inb(cmd);
    outb(cmd, OCW3_IRR);
    irq_restore(f);
    return v;
}

/* ICW1 0x11: edge triggered, cascade mode, ICW4 follows. ICW3 on the master is a bit mask of
 * the IR lines with a slave (IR2); on the slave it is its cascade identity (2). ICW4 bit 0 is
 * 8086 mode, bit 1 automatic EOI. */
void pic_init_master(uint8_t icw4) {
    outb(PIC_M, 0x11);
    outb(PIC_M + 1, VEC_M);
    outb(PIC_M + 1, 0x04);
    outb(PIC_M + 1, icw4);
}

void pic_init_slave(void) {
    outb(PIC_S, 0x11);
    outb(PIC_S + 1, VEC_S);
    outb(PIC_S + 1, 0x02);
    outb(PIC_S + 1, 0x01);
}

void pic_set_mask(uint16_t mask) {
    outb(PIC_M + 1, (uint8_t)mask);
    outb(PIC_S + 1, (uint8_t)(mask >> 8));
}

void test_pic_init(void) {
    cli();
    pic_init_master(0x01);
    pic_init_slave();
    /* 8259A, ICW1: "the Interrupt Mask Register is cleared"; nothing is in service yet. IF=0,
     * so the moment with everything unmasked cannot deliver anything. */
    uint32_t imr = inb(PIC_M + 1) | (uint32_t)inb(PIC_S + 1) << 8;
    pic_set_mask(0xFFFF);
    uint32_t isr = pic_reg(PIC_M, OCW3_ISR) | (uint32_t)pic_reg(PIC_S, OCW3_ISR) << 8;
    check_eq("pic: after ICW1-4 both IMRs (bits 15-0) and ISRs (31-16) are clear",
             imr | isr << 16, 0);

    /* OCW1 is the IMR itself: a read of the data port returns it. */
    static const uint8_t pats[] = {0xA5, 0x5A, 0x00, 0xFE, 0xFF};
    uint32_t bad = 0;
    for (unsigned i = 0; i < sizeof pats; i++) {
        outb(PIC_M + 1, pats[i]);
        outb(PIC_S + 1, (uint8_t)~pats[i]);
        uint8_t m = inb(PIC_M + 1), s = inb(PIC_S + 1);
        if (m != pats[i] || s != (uint8_t)~pats[i]) {
            printf_s("     IMR wrote %02x/%02x, read %02x/%02x\n", pats[i], (uint8_t)~pats[i], m,
                     s);
            bad++;
        }
    }
    check_eq("pic: IMRs read back what OCW1 wrote", bad, 0);
    pic_set_mask(0xFFFF);
}

/* Counter 0 runs at 1 kHz (test_pit_ticks). */
void test_pic_pending(void) {
    uint32_t i, c0;
    uint8_t irr = 0, isr;

    for (i = 0; i < 16; i++)
        irq_hook[i] = 0;
    cli();
    pic_set_mask(0xFFFF);
    c0 = irq_count[0];
    /* 8259A: the IRR latches a rising edge whatever the IMR says; the mask only keeps it from
     * reaching INT. So with IF=1 a masked tick shows up in IRR and stays there. */
    sti();
    for (i = 0; i < IO_SPIN_MAX && !((irr = pic_reg(PIC_M, OCW3_IRR)) & 1); i++) {
    }
    isr = pic_reg(PIC_M, OCW3_ISR);
    check("pic: masked IRQ0 pends in IRR (OCW3 0x0A), undelivered with IF=1",
          (irr & 1) && irq_count[0] == c0);
    check_eq("pic: OCW3 0x0B reads ISR: the pending IRQ0 is not in service", isr & 1, 0);
    /* Unmasking raises INT at once: the pending request needs no new edge. */
    pic_set_mask(0xFFFE);
    for (i = 0; i < 10000 && irq_count[0] == c0; i++) {
    }
    cli();
    check("pic: unmasking delivers the pending IRQ0 at once", irq_count[0] != c0);

    /* IF=0: the PIC raises INT but the CPU never acknowledges, so the request stays in IRR and
     * is not moved to ISR (that happens at INTA). */
    c0 = irq_count[0];
    for (i = 0; i < IO_SPIN_MAX && !((irr = pic_reg(PIC_M, OCW3_IRR)) & 1); i++) {
    }
    isr = pic_reg(PIC_M, OCW3_ISR);
    check("pic: IF=0: IRQ0 pends in IRR, not in ISR, undelivered",
          (irr & 1) && !(isr & 1) && irq_count[0] == c0);
    /* Intel SDM, STI: interrupts are recognized after the instruction following STI, so the
     * pending IRQ0 is taken between the NOP and the CLI. */
    __asm__ volatile("sti; nop; cli" ::: "memory");
    check("pic: STI delivers the pending IRQ0 after one instruction", irq_count[0] != c0);
    pic_set_mask(0xFFFF);
}
