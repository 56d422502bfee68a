/* rtc: the MC146818 behind ports 0x70/0x71: status registers, the time registers' format, and
 * the periodic interrupt on IRQ8, which reaches the CPU through the slave PIC and the master's
 * IR2 and stops until register C is read. */
#include "timer.h"

uint8_t cmos_read(uint8_t idx) {
    uint32_t f = irq_save(); /* the IRQ8 handler selects register C in between otherwise */
    outb(0x70, idx);
    uint8_t v = inb(0x71);
    irq_restore(f);
    return v;
}

void cmos_write(uint8_t idx, uint8_t v) {
    uint32_t f = irq_save();
    outb(0x70, idx);
    outb(0x71, v);
    irq_restore(f);
}

static volatile uint32_t c_bad, slave_isr_bad, master_isr_bad;
static volatile uint8_t c_last;

void rtc_hook(int irq) {
    (void)irq;
    /* While IRQ8 is in service the slave has it in ISR bit 0 and the master its cascade input
     * in ISR bit 2 (each PIC acknowledged its part of the INTA cycle). */
    if (!(pic_reg(PIC_S, OCW3_ISR) & 0x01))
        slave_isr_bad++;
    if (!(pic_reg(PIC_M, OCW3_ISR) & 0x04))
        master_isr_bad++;
    /* MC146818: register C holds IRQF (7) and PF (6) for a periodic interrupt; reading it
     * clears them and lets IRQ# go inactive, so the next period makes a new edge. */
    uint8_t c = cmos_read(RTC_C);
    if ((c & 0xC0) != 0xC0)
        c_bad++;
    c_last = c;
    outb(PIC_S, EOI); /* the slave first: the master's IR2 stays in service until the last */
    outb(PIC_M, EOI);
}

static void rtc_noack_hook(int irq) {
    (void)irq;
    outb(PIC_S, EOI);
    outb(PIC_M, EOI);
}

static int bcd_ok(uint8_t v, uint8_t max) { return (v & 0x0F) <= 9 && (v >> 4) <= 9 && v <= max; }

static void rtc_registers(void) {
    check("rtc: register D bit 7 (valid RAM and time) set", cmos_read(RTC_D) & 0x80);

    /* A: UIP (7) is read-only; keep the 32.768 kHz time base (DV = 010) and vary the rate. */
    cmos_write(RTC_A, 0x2A);
    uint8_t a1 = cmos_read(RTC_A) & 0x7F;
    cmos_write(RTC_A, 0x26);
    uint8_t a2 = cmos_read(RTC_A) & 0x7F;
    /* B: PIE (6); IRQ8 is masked at the PICs, IF=0. C is read first: a PF already set would
     * assert IRQ# the moment PIE is. */
    uint8_t b = cmos_read(RTC_B);
    cmos_read(RTC_C);
    cmos_write(RTC_B, b | 0x40);
    uint8_t b1 = cmos_read(RTC_B);
    cmos_write(RTC_B, b & ~0x40);
    uint8_t b2 = cmos_read(RTC_B);
    check("rtc: registers A (rate) and B (PIE) read back what was written",
          a1 == 0x2A && a2 == 0x26 && (b1 & 0x40) && !(b2 & 0x40));

    /* Time registers are stable for 244 us once UIP reads 0. B bit 2: binary, else BCD; B bit
     * 1: 24-hour, else 12-hour with PM in hours bit 7. */
    uint32_t i;
    for (i = 0; i < IO_SPIN_MAX && (cmos_read(RTC_A) & 0x80); i++) {
    }
    uint32_t f = irq_save();
    uint8_t s = cmos_read(0x00), m = cmos_read(0x02), h = cmos_read(0x04);
    irq_restore(f);
    b = cmos_read(RTC_B);
    uint8_t hv = (b & 0x02) ? h : (h & 0x7F);
    int ok;
    if (b & 0x04)
        ok = s < 60 && m < 60 && ((b & 0x02) ? hv < 24 : hv >= 1 && hv <= 12);
    else
        ok = bcd_ok(s, 0x59) && bcd_ok(m, 0x59) &&
             ((b & 0x02) ? bcd_ok(hv, 0x23) : bcd_ok(hv, 0x12) && hv >= 1);
    printf_s("     RTC time %02x:%02x:%02x, B %02x\n", h, m, s, b);
    check("rtc: seconds, minutes, hours valid in the format register B selects",
          ok && i < IO_SPIN_MAX);
}

void test_rtc(void) {
    uint32_t i;
    cli();
    pic_set_mask(0xFFFF);
    rtc_registers();
    /* A period that ended while PIE was briefly set above (a real MC146818 sets PF at the rate
     * whether PIE is on or not) leaves an edge latched in the slave's IRR, masked: let it in
     * and drop it, so that it passes neither for the cascade check nor for a fresh period. */
    irq_hook[8] = rtc_noack_hook;
    pic_set_mask((uint16_t)~0x0104);
    __asm__ volatile("sti; nop; nop; cli" ::: "memory");
    pic_set_mask(0xFFFF);

    /* Periodic interrupt at 1024 Hz (rate 6). Register C is read first so that no stale flag
     * raises IRQ8 the moment PIE is set. */
    irq_hook[8] = rtc_hook;
    c_bad = slave_isr_bad = master_isr_bad = 0;
    cmos_write(RTC_A, 0x26);
    cmos_read(RTC_C);
    cmos_write(RTC_B, cmos_read(RTC_B) | 0x40);

    /* The cascade: with the master's IR2 masked, the slave's request waits in the master's
     * IRR bit 2 (and its own IRR bit 0). */
    uint32_t c8 = irq_count[8], others = irq_total_except(8, 8);
    pic_set_mask((uint16_t)~0x0100); /* slave IR0 open, master IR2 masked */
    uint8_t irr = 0;
    sti();
    for (i = 0; i < IO_SPIN_MAX && !((irr = pic_reg(PIC_M, OCW3_IRR)) & 0x04); i++) {
    }
    uint8_t sirr = pic_reg(PIC_S, OCW3_IRR);
    cli();
    check("rtc: IRQ8 with IR2 masked pends in master IRR bit 2 and slave IRR bit 0",
          (irr & 0x04) && (sirr & 0x01) && irq_count[8] == c8);

    pic_set_mask((uint16_t)~0x0104);
    int ok = halt_until(&irq_count[8], c8 + 10);
    check("rtc: 10 periodic interrupts on vector 0x28 (sti; hlt)", ok);
    check_eq_show("rtc: handlers that saw C without IRQF|PF", c_bad, 0);
    printf_s("     register C in the last handler: %02x\n", c_last);
    check("rtc: slave ISR bit 0 and master ISR bit 2 set while IRQ8 is served",
          slave_isr_bad == 0 && master_isr_bad == 0);
    check_eq("rtc: no other PIC vector arrived", irq_total_except(8, 8) - others, 0);

    /* The two clocks agree: 100 PIT ticks (100 ms) hold about 102 RTC periods. Loose bounds:
     * QEMU drops ticks of either when its host is busy. */
    pit_periodic(DIV_1KHZ);
    pic_set_mask((uint16_t)~0x0105);
    uint32_t c0 = irq_count[0];
    c8 = irq_count[8];
    ok = halt_until(&irq_count[0], c0 + 100);
    uint32_t rtc_n = irq_count[8] - c8;
    printf_s("     RTC interrupts during 100 PIT ticks: %u\n", rtc_n);
    check("rtc: 1024 Hz periodic rate agrees with the 1 kHz PIT",
          ok && rtc_n >= 51 && rtc_n <= 205);

    /* Without a read of C, IRQ# stays asserted: no new edge, no further IRQ8 (at 64 Hz,
     * 50 PIT ticks hold three periods). The read returns the flags and clears them. */
    cmos_write(RTC_A, 0x2A);
    irq_hook[8] = rtc_noack_hook;
    c8 = irq_count[8];
    ok = halt_until(&irq_count[8], c8 + 1);
    c0 = irq_count[0];
    ok = ok && halt_until(&irq_count[0], c0 + 50);
    check("rtc: no second IRQ8 until register C is read", ok && irq_count[8] == c8 + 1);
    /* The two reads at 2 Hz: at 64 Hz a host-clocked run that is descheduled between them
     * (15.6 ms) sees PF set again by the next period. */
    cmos_write(RTC_A, 0x2F);
    uint8_t ca = cmos_read(RTC_C), cb = cmos_read(RTC_C);
    printf_s("     register C: %02x, then %02x\n", ca, cb);
    check("rtc: reading C returns IRQF|PF and clears them", (ca & 0xC0) == 0xC0 && !(cb & 0xC0));
    cmos_write(RTC_A, 0x2A);
    irq_hook[8] = rtc_hook;
    ok = halt_until(&irq_count[8], c8 + 4);
    check("rtc: IRQ8 resumes once C was read", ok);

    /* The time base: the seconds register moves within about two seconds of 1024 Hz periods.
     * The update cycle and the periodic interrupt share the 32.768 kHz divider chain. */
    cmos_write(RTC_A, 0x26);
    pic_set_mask((uint16_t)~0x0104);
    uint8_t s0 = cmos_read(0x00), s1 = s0;
    c8 = irq_count[8];
    while (irq_count[8] - c8 < 2100 && (s1 = cmos_read(0x00)) == s0)
        if (!halt_until(&irq_count[8], irq_count[8] + 1))
            break;
    printf_s("     seconds %02x -> %02x after %u periodic interrupts\n", s0, s1, irq_count[8] - c8);
    check("rtc: seconds advance within 2100 periodic interrupts", s1 != s0);
    pic_set_mask(0xFFFF);
}
