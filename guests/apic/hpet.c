/* hpet: the HPET at 0xfed00000 as QEMU's pc has it: capabilities, the 100 MHz main counter
 * against the PIT, and timer 0 in legacy replacement mode driving IRQ0 (I/O APIC pin 2) while
 * the PIT is cut off. */
#include "apic.h"

#define HPET 0xFED00000u
static uint32_t hpet_rd(uint32_t reg) { return *(volatile uint32_t *)(HPET + reg); }
static void hpet_wr(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(HPET + reg) = v; }

static uint32_t hpet_counter(void) { return hpet_rd(0xF0); }

void test_hpet(void) {
    check_eq("hpet: capabilities: rev 1, 3 timers, 64-bit, legacy capable, vendor 8086", hpet_rd(0x0), 0x8086A201u);
    check_eq("hpet: period 10 ns (100 MHz)", hpet_rd(0x4), 10000000u);
    hpet_wr(0x10, 1);
    uint32_t n = rate_per_10ms(hpet_counter, 0);
    hpet_wr(0x10, 0);
    printf_s("     hpet: %u counts in 10 ms\n", n);
    check("hpet: counter at 100 MHz against the PIT (10%)", n >= 900000 && n <= 1100000);

    /* Legacy replacement: timer 0, periodic 1 ms, 32-bit as Linux programs it, on IRQ0 = pin 2. */
    handle_vector(0x61);
    ioapic_wr(0x15, 0);
    ioapic_wr(0x14, 0x61);
    hpet_wr(0x10, 3);
    hpet_wr(0x100, 0x4 | 0x8 | 0x40 | 0x100);
    hpet_wr(0x108, hpet_rd(0xF0) + 100000);
    hpet_wr(0x108, 100000);
    check("hpet: legacy timer 0 interrupts on IRQ0 (pin 2)", halt_for(0x61, 5, 100));
    /* The comparator across one more interrupt. The comparator moves when the period ends and
     * the interrupt arrives a little later: read in between (QEMU's vCPU descheduled on a
     * loaded host), both reads see the same value, and the measurement is taken again. */
    uint32_t step = 0;
    for (int tries = 0; tries < 3 && step == 0; tries++) {
        cli();
        uint32_t c0 = hpet_rd(0x108);
        halt_for(0x61, seen[0x61] + 1, 100);
        step = hpet_rd(0x108) - c0;
    }
    check("hpet: periodic comparator steps by whole periods", step != 0 && step % 100000 == 0);
    if (step % 100000) printf_s("     hpet: comparator stepped by %u\n", step);
    hpet_wr(0x100, 0);
    hpet_wr(0x10, 0);
    ioapic_wr(0x14, 0x10061);
}
