/* speaker: 8254 counter 2, whose gate and output sit in port B (0x61): the way Linux calibrates
 * the TSC (gate on, speaker off, mode 0, poll OUT2), the counter latch rule, and the gate as a
 * trigger in mode 2. */
#include "timer.h"

/* Gate high, speaker data off: the counter runs and nothing is heard. */
static uint8_t gate_on(void) {
    uint8_t v = (uint8_t)((inb(PORT_B) & 0x0C) | 0x01); /* keep the NMI enables (bits 2-3) */
    outb(PORT_B, v);
    return v;
}

static void ch2_program(uint8_t ctrl, uint16_t count) {
    outb(PIT_CTRL, ctrl);
    outb(0x42, (uint8_t)count);
    outb(0x42, (uint8_t)(count >> 8));
}

/* Polls OUT2 until it rises; returns the number of polls, 0 if it never did. */
static uint32_t out2_wait(void) {
    for (uint32_t i = 1; i < IO_SPIN_MAX; i++)
        if (inb(PORT_B) & 0x20)
            return i;
    return 0;
}

int ch2_oneshot_wait(uint16_t count) {
    gate_on();
    ch2_program(0xB0, count);
    return out2_wait() != 0;
}

void test_speaker(void) {
    cli();
    uint8_t b = gate_on();
    check_eq("speaker: port 0x61 reads back gate 1, speaker data 0", inb(PORT_B) & 0x03, b & 0x03);

    /* Mode 0 on counter 2 (control 0xB0): OUT2 low from the control word until the count has
     * run out, then high. ~40 ms, room for a slow host before the first read. */
    ch2_program(0xB0, 47727);
    uint8_t early = inb(PORT_B);
    uint32_t polls = out2_wait();
    check("speaker: OUT2 (0x61 bit 5) low after programming mode 0, high at terminal count",
          !(early & 0x20) && polls != 0);
    check_eq_show("speaker: read-back status of counter 2 (OUT=1, mode 0)", pit_status(2) & 0xBF,
                  0xB0);

    /* Bit 4 is the DRAM refresh request, toggling every 15 us on a PC (QEMU flips it on every
     * read): whichever, it changes within a bounded number of reads. */
    uint8_t r0 = inb(PORT_B) & 0x10;
    uint32_t i;
    for (i = 0; i < IO_SPIN_MAX && (inb(PORT_B) & 0x10) == r0; i++) {
    }
    check("speaker: refresh bit (0x61 bit 4) toggles", i < IO_SPIN_MAX);

    /* 82C54: a second counter latch command before the first count was read is ignored, so
     * the read gives the count at the first latch. Counter 2 counts down from 0xFFFF (55 ms);
     * three IRQ0 ticks (3 ms = 3580 counts) separate the two latches. */
    ch2_program(0xB0, 0xFFFF);
    outb(PIT_CTRL, 0x80);
    pic_set_mask(0xFFFE);
    int ticked = spin_until(&irq_count[0], irq_count[0] + 3, SPIN_MAX);
    pic_set_mask(0xFFFF);
    outb(PIT_CTRL, 0x80);
    uint16_t first = inb(0x42);
    first |= (uint16_t)inb(0x42) << 8;
    uint16_t now = pit_latch(2);
    printf_s("     counter 2: first latch %u, after 3 ticks %u\n", first, now);
    check("speaker: a second latch before the read is ignored",
          ticked && (uint16_t)(first - now) >= 1000);

    /* Mode 2 (control 0xB4): a rising edge of GATE is a trigger, which reloads the initial
     * count at the next clock (82C54, mode 2). Count 0xFFFF (55 ms); wait until it is below
     * 10000, pulse the gate, and the next latch is back near 0xFFFF (30 ms of slack). */
    ch2_program(0xB4, 0xFFFF);
    uint16_t v = 0xFFFF;
    for (i = 0; i < IO_SPIN_MAX && (v = pit_latch(2)) >= 10000; i++) {
    }
    outb(PORT_B, b & ~0x01);
    outb(PORT_B, b);
    uint16_t after = pit_latch(2);
    printf_s("     counter 2 mode 2: %u before the gate pulse, %u after\n", v, after);
    check("speaker: mode 2 gate rising edge reloads the count", v < 10000 && after >= 30000);

    /* Left out: the 82C54 stops counting while GATE is low in mode 0; QEMU keeps counting. */
    outb(PORT_B, b & ~0x03);
}
