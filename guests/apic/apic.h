/* apic: the platform QEMU-targeted test kernels expect of a pc machine: the local APIC (registers,
 * priority, EOI, self-IPIs, NMI, the timer against the PIT), the I/O APIC routing the PIT, the
 * HPET, fw_cfg and the isa-debugcon port. QEMU's pentium2 pc is the reference it must pass on. */
#pragma once
#include "guest.h"
#include "idt.h"

#define LAPIC 0xFEE00000u
#define IOAPIC 0xFEC00000u

static inline uint32_t lapic_rd(uint32_t reg) { return *(volatile uint32_t *)(LAPIC + reg); }
static inline void lapic_wr(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(LAPIC + reg) = v; }
uint32_t ioapic_rd(uint32_t reg);
void ioapic_wr(uint32_t reg, uint32_t v);

static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }

/* Interrupts seen, in order, by vector (the handlers EOI the local APIC). */
extern volatile uint32_t seen[256];
extern volatile uint8_t order[16];
extern volatile uint32_t order_len;
extern volatile uint32_t isr_in_handler, ppr_in_handler; /* sampled by the handler of vector 0x70 */
void handle_vector(int v);
/* Waits with IF=1 for `seen[v]` to reach `n`, at most `max_wakeups` HLTs. */
int halt_for(int v, uint32_t n, uint32_t max_wakeups);
/* Counts the PIT's counter 2 down `count` clocks (1.193182 MHz) by polling OUT2 on port 0x61. */
int pit_wait(uint16_t count);
/* How far `sample` moves (down or up) in 11932 PIT clocks (10 ms): two (PIT, sample) pairs read
 * back to back, so time the host takes QEMU away between pairs does not count; the median of
 * five such measures. */
uint32_t rate_per_10ms(uint32_t (*sample)(void), int down);

void test_lapic_regs(void);
void test_lapic_irqs(void);
void test_lapic_timer(void);
void test_ioapic(void);
void test_hpet(void);
void test_fw_cfg(uint32_t mbi_addr);
void test_debugcon(void);
