/* prio: the 8259A's fully nested priority (IR0 highest) across the cascade, and automatic EOI.
 * Counter 0 ticks at 1 kHz on IRQ0, the RTC at 1024 Hz on IRQ8 (via the master's IR2). */
#include "timer.h"

static volatile uint32_t held, nested, aeoi_isr_set, isr_missing;

/* Leaves IRQ0 in service: no EOI. */
static void hold_hook(int irq) {
    (void)irq;
    held++;
}

/* Inside IRQ8, IF=1 again: IRQ0 outranks the IR2 in service, so it nests. */
static void nest_hook(int irq) {
    uint32_t c0 = irq_count[0];
    if (spin_until(&irq_count[0], c0 + 1, SPIN_MAX))
        nested++;
    rtc_hook(irq);
}

static void aeoi_hook(int irq) {
    (void)irq;
    /* ICW4 AEOI: the ISR bit is cleared at the end of the second INTA pulse, so the handler
     * never sees it and sends no EOI. */
    if (pic_reg(PIC_M, OCW3_ISR) & 1)
        aeoi_isr_set++;
}

static void isr_hook(int irq) {
    if (!(pic_reg(PIC_M, OCW3_ISR) & 1))
        isr_missing++;
    irq_eoi(irq);
}

void test_pic_priority(void) {
    uint32_t i;
    cli();
    pit_periodic(DIV_1KHZ);
    cmos_write(RTC_A, 0x26);
    cmos_read(RTC_C);
    cmos_write(RTC_B, cmos_read(RTC_B) | 0x40);
    irq_hook[8] = rtc_hook;
    irq_hook[0] = hold_hook;
    pic_set_mask((uint16_t)~0x0105);

    /* IRQ0 in service blocks every request of equal or lower priority on the master: a new
     * IRQ0 and the slave's IR2 both wait in IRR, even with IF=1. */
    uint32_t h0 = held;
    int ok = halt_until(&held, h0 + 1);
    irq_hook[0] = 0;
    uint32_t c0 = irq_count[0], c8 = irq_count[8];
    uint8_t irr = 0;
    sti();
    for (i = 0; i < IO_SPIN_MAX && ((irr = pic_reg(PIC_M, OCW3_IRR)) & 0x05) != 0x05; i++) {
    }
    uint8_t isr = pic_reg(PIC_M, OCW3_ISR);
    cli();
    check("prio: IRQ0 left in service holds IRQ0 and IRQ2 in IRR, undelivered",
          ok && (irr & 0x05) == 0x05 && (isr & 1) && irq_count[0] == c0 && irq_count[8] == c8);

    /* The EOI ends IRQ0's service; of the two pending, IR0 outranks IR2. (A further tick may
     * slip in before IRQ8 when the host is slow, so only the first place is checked.) */
    irq_log_reset();
    outb(PIC_M, EOI);
    ok = spin_until(&irq_count[0], c0 + 1, SPIN_MAX) && spin_until(&irq_count[8], c8 + 1, SPIN_MAX);
    check("prio: after the EOI the pending IRQ0 comes before IRQ8",
          ok && irq_log_len >= 2 && irq_log[0] == 0);

    /* The other way: IRQ0 interrupts an IRQ8 handler that re-enabled interrupts. */
    irq_hook[8] = nest_hook;
    nested = 0;
    c8 = irq_count[8];
    ok = halt_until(&irq_count[8], c8 + 1);
    irq_hook[8] = rtc_hook;
    check("prio: IRQ0 nests inside the IRQ8 handler (IR0 outranks IR2)", ok && nested == 1);

    pic_set_mask(0xFFFF);
    cmos_write(RTC_B, cmos_read(RTC_B) & ~0x40);
    cmos_read(RTC_C);
    irq_hook[8] = 0;
}

void test_pic_aeoi(void) {
    cli();
    pic_init_master(0x03); /* ICW1 clears the IMR: mask again before IF=1 */
    pic_set_mask(0xFFFE);
    irq_hook[0] = aeoi_hook;
    aeoi_isr_set = 0;
    uint32_t c0 = irq_count[0];
    /* Polling, not HLT: if the ISR bit stuck, no further tick would ever wake a HLT. */
    int ok = spin_until(&irq_count[0], c0 + 20, SPIN_MAX);
    check("pic: AEOI: 20 ticks arrive without any EOI", ok);
    check_eq("pic: AEOI: ISR bit 0 already clear in the handler", aeoi_isr_set, 0);

    /* Back to normal EOI: the ISR bit is set in the handler again. */
    pic_init_master(0x01);
    pic_set_mask(0xFFFE);
    irq_hook[0] = isr_hook;
    isr_missing = 0;
    c0 = irq_count[0];
    ok = halt_until(&irq_count[0], c0 + 5);
    check("pic: ICW4 without AEOI: ISR bit 0 set in the handler again", ok && isr_missing == 0);
    pic_set_mask(0xFFFF);
    irq_hook[0] = 0;
}
