/* apic: the guest's main and the pieces every test shares (handlers, waits). */
#include "apic.h"

volatile uint32_t seen[256];
volatile uint8_t order[16];
volatile uint32_t order_len;
volatile uint32_t isr_in_handler, ppr_in_handler;

static void on_vector(struct trap_frame *f) {
    uint32_t v = f->vector;
    seen[v]++;
    if (order_len < 16)
        order[order_len++] = (uint8_t)v;
    if (v == 0x70) {
        isr_in_handler = lapic_rd(0x100 + (0x70 >> 5) * 0x10); /* ISR word of vectors 0x60-0x7f */
        ppr_in_handler = lapic_rd(0xA0);
    }
    if (v != 2 && v != 0xFF) /* NMIs and spurious interrupts take no EOI */
        lapic_wr(0xB0, 0);
}

void handle_vector(int v) { idt_set_handler(v, on_vector); }

int halt_for(int v, uint32_t n, uint32_t max_wakeups) {
    uint32_t w = 0;
    cli();
    while (seen[v] < n) {
        if (w++ >= max_wakeups)
            return 0;
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
    return 1;
}

/* Counter 2 in mode 0 from 0xFFFF, gate on: a free-running count down of 55 ms. */
static void pit2_start(void) {
    outb(0x61, (uint8_t)((inb(0x61) & 0x0C) | 0x01));
    outb(0x43, 0xB0);
    outb(0x42, 0xFF);
    outb(0x42, 0xFF);
}
static uint32_t pit2_read(void) {
    outb(0x43, 0x80); /* counter latch */
    uint32_t lo = inb(0x42);
    return lo | (uint32_t)inb(0x42) << 8;
}

uint32_t rate_per_10ms(uint32_t (*sample)(void), int down) {
    uint32_t r[5];
    for (int i = 0; i < 5; i++) {
        pit2_start();
        uint32_t p0 = pit2_read(), s0 = sample();
        while (p0 - pit2_read() < 11932) {
        }
        uint32_t p1 = pit2_read(), s1 = sample();
        uint32_t n = down ? s0 - s1 : s1 - s0, pit = p0 - p1;
        r[i] = n / pit * 11932 + n % pit * 11932 / pit;
    }
    for (int i = 0; i < 5; i++) /* median of five */
        for (int j = i + 1; j < 5; j++)
            if (r[j] < r[i]) {
                uint32_t t = r[i];
                r[i] = r[j];
                r[j] = t;
            }
    return r[2];
}

int pit_wait(uint16_t count) {
    outb(0x61, (uint8_t)((inb(0x61) & 0x0C) | 0x01)); /* gate 2 on, speaker off */
    outb(0x43, 0xB0);                                   /* counter 2, mode 0, lo/hi */
    outb(0x42, (uint8_t)count);
    outb(0x42, (uint8_t)(count >> 8));
    for (uint32_t i = 0; i < 50000000u; i++)
        if (inb(0x61) & 0x20)
            return 1;
    return 0;
}

void kmain(uint32_t magic, uint32_t mbi) {
    (void)magic;
    idt_install();
    pic_mask_all();
    test_debugcon();
    test_fw_cfg(mbi);
    test_lapic_regs();
    test_lapic_irqs();
    test_lapic_timer();
    test_ioapic();
    test_hpet();
    finish("apic");
}
