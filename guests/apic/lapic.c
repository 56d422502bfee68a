/* lapic: the local APIC's registers, priorities, EOI and interrupts to self (SDM vol. 3 ch. 11). */
#include "apic.h"

static void rdmsr(uint32_t msr, uint32_t *lo, uint32_t *hi) {
    __asm__ volatile("rdmsr" : "=a"(*lo), "=d"(*hi) : "c"(msr));
}

static int isr_bit(int v) { return (lapic_rd(0x100 + (v >> 5) * 0x10) >> (v & 31)) & 1; }
static int irr_bit(int v) { return (lapic_rd(0x200 + (v >> 5) * 0x10) >> (v & 31)) & 1; }
static void self_ipi(uint32_t low) {
    lapic_wr(0x310, 0);
    lapic_wr(0x300, 0x40000 | low); /* destination shorthand: self */
}

void test_lapic_regs(void) {
    uint32_t a, b, c, d, lo, hi;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1));
    check("lapic: CPUID.1:EDX.APIC (bit 9) set", (d >> 9) & 1);
    rdmsr(0x1B, &lo, &hi);
    check_eq("lapic: IA32_APIC_BASE: 0xfee00000, enabled, BSP", lo & 0xFFFFF900u, 0xFEE00900u);
    check_eq("lapic: ID 0", lapic_rd(0x20) >> 24, 0);
    check_eq("lapic: version 0x14, max LVT entry 5", lapic_rd(0x30) & 0x00FF00FFu, 0x00050014u);
    lapic_wr(0xF0, 0x1FF); /* software enable, spurious vector 0xff */
    check_eq("lapic: SPIV reads back", lapic_rd(0xF0) & 0x1FF, 0x1FF);
    lapic_wr(0x80, 0x20);
    check_eq("lapic: TPR reads back", lapic_rd(0x80) & 0xFF, 0x20);
    check_eq("lapic: PPR follows TPR with nothing in service", lapic_rd(0xA0) & 0xFF, 0x20);
    lapic_wr(0x80, 0);
    lapic_wr(0xE0, 0xFFFFFFFFu);
    lapic_wr(0xD0, 0x01000000u);
    check_eq("lapic: LDR reads back", lapic_rd(0xD0) & 0xFF000000u, 0x01000000u);
    lapic_wr(0x370, 0x10000 | 0xFE);
    check_eq("lapic: LVT error keeps vector and mask", lapic_rd(0x370) & 0x100FF, 0x100FE);
}

void test_lapic_irqs(void) {
    for (int v = 0x40; v < 0x80; v++)
        handle_vector(v);
    handle_vector(2);
    handle_vector(0xFF);
    cli();

    /* A fixed self-IPI waits in IRR while IF=0, runs at STI, is in ISR in its handler. */
    self_ipi(0x70);
    check("lapic: self-IPI sits in IRR while IF=0", irr_bit(0x70));
    check_eq("lapic: ICR delivery status idle", lapic_rd(0x300) & 0x1000, 0);
    sti();
    __asm__ volatile("nop");
    cli();
    check_eq("lapic: self-IPI delivered once at STI", seen[0x70], 1);
    check("lapic: vector in ISR inside its handler", (isr_in_handler >> (0x70 & 31)) & 1);
    check_eq("lapic: PPR inside the handler is the vector's class", ppr_in_handler & 0xF0, 0x70);
    check("lapic: EOI cleared ISR", !isr_bit(0x70));

    /* TPR holds back classes at or below it. */
    lapic_wr(0x80, 0x50);
    self_ipi(0x55);
    sti();
    __asm__ volatile("nop; nop");
    cli();
    check_eq("lapic: TPR 0x50 holds back vector 0x55", seen[0x55], 0);
    check("lapic: ... which stays in IRR", irr_bit(0x55));
    lapic_wr(0x80, 0);
    sti();
    __asm__ volatile("nop");
    cli();
    check_eq("lapic: TPR 0 lets it through", seen[0x55], 1);

    /* Higher class first. */
    order_len = 0;
    self_ipi(0x45);
    self_ipi(0x6A);
    sti();
    __asm__ volatile("nop; nop");
    cli();
    check("lapic: two pending vectors are taken highest first",
          order_len == 2 && order[0] == 0x6A && order[1] == 0x45);

    /* NMI to self: taken with IF=0. */
    /* The CPU takes it at an instruction boundary it looks at (QEMU and btvm: the end of a
     * translated block), so wait over a few loop iterations. */
    self_ipi(0x400);
    for (volatile int i = 0; i < 1000 && !seen[2]; i++) {
    }
    check_eq("lapic: NMI self-IPI delivered with IF=0 (vector 2)", seen[2], 1);
    check_eq("lapic: no spurious interrupts", seen[0xFF], 0);
}
