/* pit: 8254 counter 0 on IRQ0: mode 2 (rate generator) ticks with the ISR seen from the
 * handler, counter latch and read-back commands, and mode 0 (interrupt on terminal count). */
#include "timer.h"

/* Control word: counter (7-6), access 3 = low byte then high byte (5-4), mode (3-1), BCD (0). */
void pit_periodic(uint16_t divisor) {
    outb(PIT_CTRL, 0x34);
    outb(0x40, (uint8_t)divisor);
    outb(0x40, (uint8_t)(divisor >> 8));
}

/* Counter latch command (access bits 00): the count is frozen until both bytes are read. */
uint16_t pit_latch(int ch) {
    uint32_t f = irq_save();
    outb(PIT_CTRL, (uint8_t)(ch << 6));
    uint16_t lo = inb(0x40 + ch);
    uint16_t v = lo | (uint16_t)inb(0x40 + ch) << 8;
    irq_restore(f);
    return v;
}

/* Read-back command: 11, COUNT# = 1 (no count latch), STATUS# = 0, counter select bit. Status
 * byte: OUT (7), NULL COUNT (6), access (5-4), mode (3-1), BCD (0). */
uint8_t pit_status(int ch) {
    uint32_t f = irq_save();
    outb(PIT_CTRL, (uint8_t)(0xE0 | (2 << ch)));
    uint8_t s = inb(0x40 + ch);
    irq_restore(f);
    return s;
}

static volatile uint32_t isr_missing, isr_stuck;

static void tick_hook(int irq) {
    (void)irq;
    if (!(pic_reg(PIC_M, OCW3_ISR) & 1)) /* INTA set the ISR bit of the IRQ being served */
        isr_missing++;
    outb(PIC_M, EOI); /* non-specific EOI clears the highest-priority ISR bit: ours */
    if (pic_reg(PIC_M, OCW3_ISR) & 1)
        isr_stuck++;
}

void test_pit_ticks(void) {
    cli();
    pit_periodic(DIV_1KHZ);
    irq_hook[0] = tick_hook;
    isr_missing = isr_stuck = 0;
    uint32_t others = irq_total_except(0, 0);
    pic_set_mask(0xFFFE);
    int ok = halt_until(&irq_count[0], irq_count[0] + 50);
    pic_set_mask(0xFFFF);
    check("pit: 50 mode-2 ticks arrive on vector 0x20 (sti; hlt)", ok);
    check("pit: master ISR bit 0 set in the IRQ0 handler, clear after its EOI",
          isr_missing == 0 && isr_stuck == 0);
    if (isr_missing || isr_stuck)
        printf_s("     ISR bit 0: %u handlers without it, %u with it after the EOI\n", isr_missing,
                 isr_stuck);
    check_eq("pit: no other PIC vector arrived", irq_total_except(0, 0) - others, 0);
    irq_hook[0] = 0;
}

void test_pit_latch(void) {
    /* 82C54 mode 2 counts N, N-1, ..., 1, then reloads N: a latched count is in [1, N]. */
    uint16_t first = pit_latch(0), v = first, lo = first, hi = first;
    uint32_t i, changes = 0;
    for (i = 0; i < 1000000 && changes < 16; i++) {
        uint16_t w = pit_latch(0);
        if (w < lo)
            lo = w;
        if (w > hi)
            hi = w;
        if (w != v)
            changes++;
        v = w;
    }
    printf_s("     counter 0 latched: first %u, range [%u, %u], %u changes\n", first, lo, hi,
             changes);
    check("pit: latched counter 0 counts and stays in [1, 1193]",
          changes == 16 && lo >= 1 && hi <= DIV_1KHZ);

    /* Mode 2, access lobyte/hibyte, binary. OUT (bit 7) is left out: the 8254 holds it high
     * except during the last count, QEMU's model the other way round. NULL COUNT (bit 6) too:
     * QEMU does not model it. */
    check_eq_show("pit: read-back status of counter 0 (bits 5-0)", pit_status(0) & 0x3F, 0x34);

    /* Read-back latching count and status (COUNT# = STATUS# = 0): the first read returns the
     * status, the next two the count (82C54 datasheet, read-back command). */
    uint32_t f = irq_save();
    outb(PIT_CTRL, 0xC2);
    uint8_t st = inb(0x40);
    uint16_t c = inb(0x40);
    c |= (uint16_t)inb(0x40) << 8;
    irq_restore(f);
    check("pit: read-back of count and status: status first, then the count",
          (st & 0x3F) == 0x34 && c >= 1 && c <= DIV_1KHZ);
}

/* Mode 0: OUT goes low when the control word is written, rises at terminal count and stays
 * high: one edge, so exactly one IRQ0, however long we wait. */
#define ONESHOT 30000 /* ~25 ms: room for a slow host before the status read */
void test_pit_oneshot(void) {
    cli();
    irq_hook[0] = 0;
    pic_set_mask(0xFFFE);
    outb(PIT_CTRL, 0x30);
    outb(0x40, ONESHOT & 0xFF);
    outb(0x40, ONESHOT >> 8);
    uint8_t st = pit_status(0);
    check_eq_show("pit: mode 0 programmed: status OUT=0, mode 0, lobyte/hibyte", st & 0xBF, 0x30);
    /* A mode 2 tick latched in IRR before the switch would pass for the one-shot: take it. */
    __asm__ volatile("sti; nop; cli" ::: "memory");
    uint32_t c0 = irq_count[0];
    int ok = halt_until(&irq_count[0], c0 + 1);
    check("pit: mode 0 terminal count raises IRQ0", ok);
    st = pit_status(0);
    check_eq("pit: status OUT=1 after terminal count", st >> 7, 1);

    /* Counter 2 as the stopwatch (55 ms, over two one-shot periods), IF=1 meanwhile. */
    sti();
    int timed = ch2_oneshot_wait(0xFFFF);
    cli();
    check("pit: no second mode 0 interrupt over two periods",
          timed && irq_count[0] == c0 + 1);
    pic_set_mask(0xFFFF);
    pit_periodic(DIV_1KHZ);
}
